#!/usr/bin/env bash
# Builds kube-apiserver and etcd from the Go module proxy (no binary downloads),
# pinned by hack/controlplane/versions.env, cached in bin/<name>-<version>.
# kube-apiserver's module has replace directives, so `go install` refuses it: we build it
# from a small wrapper module (hack/controlplane/kubernetes-wrapper.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=controlplane/versions.env
source "$root/hack/controlplane/versions.env"
# shellcheck source=controlplane/kubernetes-wrapper.sh
source "$root/hack/controlplane/kubernetes-wrapper.sh"
bin="$root/bin"
mkdir -p "$bin"
apiserver="$bin/kube-apiserver-$KUBERNETES_VERSION"
etcd="$bin/etcd-$ETCD_VERSION"
work="${TMPDIR:-/tmp}/tenant-operator-cp-build"
mkdir -p "$work"
export GOFLAGS="-buildvcs=false -mod=mod"
export CGO_ENABLED=0

log() { printf '[build-controlplane] %s\n' "$*" >&2; }

build_apiserver() {
  if [ -x "$apiserver" ]; then log "kube-apiserver $KUBERNETES_VERSION cached"; return; fi
  local dir="$work/kube-apiserver-$KUBERNETES_VERSION"
  log "kube-apiserver $KUBERNETES_VERSION: resolving modules (first run builds for ~10-15 min on 2 cores)"
  kubernetes_wrapper_module "$dir" tenant-operator/hack/kube-apiserver
  cat >"$dir/main.go" <<'GO'
package main

import (
	"os"

	_ "k8s.io/component-base/logs/json/register"
	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
GO
  (cd "$dir" && go mod tidy >&2)
  log "kube-apiserver $KUBERNETES_VERSION: compiling"
  (cd "$dir" && go build -trimpath -ldflags "$(kubernetes_ldflags)" -o "$apiserver.tmp" .)
  mv "$apiserver.tmp" "$apiserver"
  log "kube-apiserver $KUBERNETES_VERSION built"
}

build_etcd() {
  if [ -x "$etcd" ]; then log "etcd $ETCD_VERSION cached"; return; fi
  local dir="$work/etcd-$ETCD_VERSION"
  mkdir -p "$dir"
  log "etcd $ETCD_VERSION: resolving modules"
  cat >"$dir/go.mod" <<MOD
module tenant-operator/hack/etcd

go 1.24.0

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
MOD
  cat >"$dir/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (cd "$dir" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" "go.etcd.io/etcd/api/v3@$ETCD_VERSION" \
     "go.etcd.io/etcd/client/pkg/v3@$ETCD_VERSION" "go.etcd.io/etcd/client/v3@$ETCD_VERSION" \
     "go.etcd.io/etcd/pkg/v3@$ETCD_VERSION" >&2 && go mod tidy >&2)
  log "etcd $ETCD_VERSION: compiling"
  (cd "$dir" && go build -trimpath -ldflags "-s -w" -o "$etcd.tmp" .)
  mv "$etcd.tmp" "$etcd"
  log "etcd $ETCD_VERSION built"
}

start=$(date +%s)
build_etcd
build_apiserver
ln -sf "$(basename "$apiserver")" "$bin/kube-apiserver"
ln -sf "$(basename "$etcd")" "$bin/etcd"
log "done in $(( $(date +%s) - start ))s: $bin/kube-apiserver, $bin/etcd"
