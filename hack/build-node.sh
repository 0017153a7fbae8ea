#!/usr/bin/env bash
# Builds and installs what the one-node test cluster (test/harness/node.ts) runs besides the control
# plane: kubelet, kube-controller-manager, kube-scheduler and kube-proxy from the same Kubernetes
# wrapper module as kube-apiserver; CoreDNS and kube-router (the NetworkPolicy engine) from their Go
# modules; the Debian packages in hack/node/apt-packages.txt; and the node's images
# (hack/build-images.sh). Pinned by hack/controlplane/versions.env and hack/node/versions.env,
# cached in bin/<name>-<version>.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=controlplane/versions.env
source "$root/hack/controlplane/versions.env"
# shellcheck source=node/versions.env
source "$root/hack/node/versions.env"
# shellcheck source=controlplane/kubernetes-wrapper.sh
source "$root/hack/controlplane/kubernetes-wrapper.sh"
bin="$root/bin"
mkdir -p "$bin"
work="${TMPDIR:-/tmp}/tenant-operator-node-build"
mkdir -p "$work"
export GOFLAGS="-buildvcs=false -mod=mod"
export CGO_ENABLED=0

log() { printf '[build-node] %s\n' "$*" >&2; }

install_apt_packages() {
  local missing=() pkg
  while read -r pkg; do
    [ -n "$pkg" ] || continue
    dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null | grep -qx installed || missing+=("$pkg")
  done < <(sed 's/#.*//; s/[[:space:]]//g' "$root/hack/node/apt-packages.txt")
  if [ ${#missing[@]} -eq 0 ]; then log "Debian packages present"; return; fi
  [ "$(id -u)" -eq 0 ] || { log "missing ${missing[*]}: run as root, or apt-get install -y ${missing[*]}"; exit 1; }
  log "installing ${missing[*]}"
  apt-get update -qq
  # containerd's package would start a service under systemd; there is none here, and the harness
  # starts its own containerd with its own root, state and socket.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# The four node commands live in k8s.io/kubernetes/cmd/<name>; tools.go keeps them in the wrapper's
# module graph so `go build <package>` builds them with the staging replacements applied.
kubernetes_commands=(kubelet kube-controller-manager kube-scheduler kube-proxy)

build_kubernetes_commands() {
  local dir="$work/kubernetes-$KUBERNETES_VERSION" name pending=()
  for name in "${kubernetes_commands[@]}"; do
    [ -x "$bin/$name-$KUBERNETES_VERSION" ] || pending+=("$name")
  done
  if [ ${#pending[@]} -eq 0 ]; then log "${kubernetes_commands[*]} $KUBERNETES_VERSION cached"; return; fi
  log "${pending[*]} $KUBERNETES_VERSION: resolving modules"
  kubernetes_wrapper_module "$dir" tenant-operator/hack/kubernetes-node
  {
    echo "//go:build tools"
    echo
    echo "package tools"
    echo
    echo "import ("
    for name in "${kubernetes_commands[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$name\""; done
    echo ")"
  } >"$dir/tools.go"
  (cd "$dir" && go mod tidy >&2)
  for name in "${pending[@]}"; do
    log "$name $KUBERNETES_VERSION: compiling"
    local s; s=$(date +%s)
    (cd "$dir" && go build -trimpath -ldflags "$(kubernetes_ldflags)" -o "$bin/$name-$KUBERNETES_VERSION.tmp" "k8s.io/kubernetes/cmd/$name")
    mv "$bin/$name-$KUBERNETES_VERSION.tmp" "$bin/$name-$KUBERNETES_VERSION"
    log "$name $KUBERNETES_VERSION built in $(( $(date +%s) - s ))s"
  done
}

# go_install NAME PACKAGE VERSION: `go install` of a module without replace directives into bin/.
go_install() {
  local name=$1 package=$2 version=$3 target="$bin/$1-$3" s
  if [ -x "$target" ]; then log "$name $version cached"; return; fi
  log "$name $version: building $package"
  s=$(date +%s)
  rm -rf "$work/gobin-$name"
  (cd "$work" && GOBIN="$work/gobin-$name" go install -trimpath -ldflags "-s -w" "$package@$version")
  mv "$work/gobin-$name/$name" "$target"
  log "$name $version built in $(( $(date +%s) - s ))s"
}

# CoreDNS with the plugins a cluster's Corefile uses (kubeadm's default set), not all fifty:
# `go install github.com/coredns/coredns` would also compile the AWS, Azure, Google, etcd, dnstap
# and tracing clients of plugins nobody here configures. The same coremain, the same plugin code;
# a Corefile naming another plugin fails at start-up with "unknown directive".
coredns_plugins=(errors health ready metrics log reload loadbalance cache kubernetes loop forward)

build_coredns() {
  local target="$bin/coredns-$COREDNS_VERSION" dir="$work/coredns-$COREDNS_VERSION" plugin s
  if [ -x "$target" ]; then log "coredns $COREDNS_VERSION cached"; return; fi
  log "coredns $COREDNS_VERSION: resolving modules (plugins: ${coredns_plugins[*]})"
  mkdir -p "$dir"
  printf 'module tenant-operator/hack/coredns\n\ngo 1.24.0\n\nrequire github.com/coredns/coredns %s\n' "$COREDNS_VERSION" >"$dir/go.mod"
  {
    echo "package main"
    echo
    echo "import ("
    echo "	\"github.com/coredns/coredns/coremain\""
    for plugin in "${coredns_plugins[@]}"; do echo "	_ \"github.com/coredns/coredns/plugin/$plugin\""; done
    echo ")"
    echo
    echo "func main() { coremain.Run() }"
  } >"$dir/main.go"
  (cd "$dir" && go mod tidy >&2)
  log "coredns $COREDNS_VERSION: compiling"
  s=$(date +%s)
  (cd "$dir" && go build -trimpath -ldflags "-s -w" -o "$target.tmp" .)
  mv "$target.tmp" "$target"
  log "coredns $COREDNS_VERSION built in $(( $(date +%s) - s ))s"
}

start=$(date +%s)
install_apt_packages
build_coredns
go_install kube-router github.com/cloudnativelabs/kube-router/v2/cmd/kube-router "$KUBE_ROUTER_VERSION"
build_kubernetes_commands
for name in "${kubernetes_commands[@]}"; do ln -sf "$name-$KUBERNETES_VERSION" "$bin/$name"; done
ln -sf "coredns-$COREDNS_VERSION" "$bin/coredns"
ln -sf "kube-router-$KUBE_ROUTER_VERSION" "$bin/kube-router"
bash "$root/hack/build-images.sh"
log "done in $(( $(date +%s) - start ))s"
