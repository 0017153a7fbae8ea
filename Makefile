# tenant-operator: every target a newcomer needs. Node 24 comes from hack/install-node.sh,
# kube-apiserver and etcd from hack/build-controlplane.sh, the test node (kubelet, controller-manager,
# scheduler, kube-proxy, CoreDNS, kube-router, containerd from Debian) from hack/build-node.sh
# (built from Go modules, cached in bin/).
SHELL := /bin/bash
NODE_BIN := $(shell bash hack/install-node.sh 2>/dev/null || echo .tools/node/node_modules/.bin)
export PATH := $(abspath $(NODE_BIN)):/usr/local/go/bin:$(PATH)

.PHONY: setup deps controlplane node third-party-crds tools chart dev test test-unit test-integration check typecheck lint crds install run build bench docker-build kind-up e2e-kind kind-down clean

## setup: everything needed to develop and test (Node 24, npm packages, control-plane and node binaries)
setup: deps controlplane node third-party-crds tools

deps:
	@bash hack/install-node.sh >/dev/null
	@# npm install, not npm ci: npm 11 leaves other platforms' optional packages (biome, swc) out of the
	@# lock file and then refuses `npm ci`; the lock file still pins every version.
	npm install --no-audit --no-fund

controlplane:
	bash hack/build-controlplane.sh

## node: the one-node test cluster's binaries, Debian packages and images (hack/build-node.sh)
node: controlplane
	bash hack/build-node.sh

## tools: helm and status-check (from Go modules, into bin/), promtool (Debian package) for the delivery tests
tools:
	bash hack/build-tools.sh

## third-party-crds: Gateway API, Secrets Store CSI and Prometheus Operator (Probe) CRDs from their Go modules, into bin/third-party
third-party-crds:
	bash hack/third-party-crds.sh >/dev/null
	bash hack/prometheus-operator-crds.sh >/dev/null

## dev: local control plane + CRDs + operator + samples, then `kubectl get tenants`
dev: controlplane node
	node hack/dev.ts

## test: static checks, then unit and integration tests against a real kube-apiserver
test: check controlplane node tools
	npx jest

test-unit:
	npx jest --selectProjects unit

test-integration: controlplane node tools
	npx jest --selectProjects integration

check: typecheck lint
	node hack/generate-crds.ts --check
	node hack/sync-chart.ts --check
	node hack/generate-docs.ts --check

typecheck:
	npx tsc --noEmit -p tsconfig.json

lint:
	npx biome check .

## crds: regenerate crds/ from the zod schemas in src/api, and everything derived from them
crds:
	node hack/generate-crds.ts
	node hack/sync-chart.ts
	node hack/generate-docs.ts

## chart: re-derive the chart's and config/'s generated files (CRDs, RBAC, alerts, dashboard, values schema)
chart:
	node hack/sync-chart.ts

## install: apply the CRDs to the cluster of the current kubeconfig
install:
	kubectl apply --server-side -f crds/

## run: run the operator against the cluster of the current kubeconfig
run:
	node src/main.ts $(if $(CONFIG),--config $(CONFIG),)

build:
	npx tsc -p tsconfig.build.json

bench: controlplane
	npm run bench

docker-build:
	docker build -t tenant-operator:dev .

## kind-up / e2e-kind / kind-down: a kind cluster with the chart and samples (needs Docker; CI does not run them)
kind-up:
	bash hack/kind.sh up

e2e-kind:
	bash hack/kind.sh e2e

kind-down:
	bash hack/kind.sh down

clean:
	rm -rf dist coverage .dev
