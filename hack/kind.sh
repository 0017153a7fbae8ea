#!/usr/bin/env bash
# For people with a Docker engine (no machine of this project has one, so CI does not run this):
#   hack/kind.sh up    a kind cluster with the Gateway API and Secrets Store CSI CRDs, the image
#                      built and loaded, the chart installed, the samples applied;
#   hack/kind.sh e2e   up, then wait for the operator and show what it made of the samples;
#   hack/kind.sh down  delete the cluster.
# Without Azure configuration the operator runs Kubernetes-only: tenants get their namespace,
# isolation and application, and report IngressReady=False (no WAF policy, so no front door).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cluster=${KIND_CLUSTER:-tenant-operator}
image=tenant-operator:dev
export PATH="$root/bin:/usr/local/go/bin:$PATH"

need() { command -v "$1" >/dev/null || { echo "kind.sh: $1 is required ($2)" >&2; exit 1; }; }

up() {
  need docker "a Docker engine"
  command -v kind >/dev/null || GOBIN="$root/bin" go install sigs.k8s.io/kind@v0.33.0
  bash "$root/hack/build-tools.sh" >/dev/null
  kind get clusters | grep -qx "$cluster" || kind create cluster --name "$cluster" --wait 120s
  kubectl config use-context "kind-$cluster"
  # AKS labels every node with a zone ("0" without zones); Production's hard zone spread needs it.
  kubectl label nodes --all topology.kubernetes.io/zone=0 --overwrite >/dev/null
  kubectl apply --server-side -f "$(bash "$root/hack/third-party-crds.sh")"
  docker build -t "$image" "$root"
  kind load docker-image "$image" --name "$cluster"
  helm upgrade --install tenant-operator "$root/charts/tenant-operator" \
    --namespace tenant-operator-system --create-namespace \
    --set image.repository=tenant-operator --set image.tag=dev --set image.pullPolicy=Never \
    --set config.frontDoor.exposeWithoutWafPolicy=true
  kubectl -n tenant-operator-system rollout status deployment/tenant-operator --timeout=180s
  kubectl apply --server-side -f "$root/config/samples/"
}

case "${1:-}" in
  up) up ;;
  e2e)
    up
    kubectl wait --for=condition=Ready tenants --all --timeout=300s
    kubectl get tenants -o wide
    kubectl get tenancy
    ;;
  down) kind delete cluster --name "$cluster" ;;
  *) echo "usage: hack/kind.sh up|e2e|down" >&2; exit 2 ;;
esac
