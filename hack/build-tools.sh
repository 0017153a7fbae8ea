#!/usr/bin/env bash
# Makes the delivery tools available: helm built from the Go module proxy (pinned by
# hack/tools/versions.env, cached in bin/helm-<version>), status-check built from
# hack/tools/status-check (Argo CD's health evaluation and Flux's kstatus; cached in
# bin/status-check-<hash of its sources>), and the Debian packages listed in
# hack/tools/apt-packages.txt (prometheus and promtool, the blackbox exporter), installed only when a command is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tools/versions.env
source "$root/hack/tools/versions.env"
bin="$root/bin"
mkdir -p "$bin"
helm="$bin/helm-$HELM_VERSION"
work="${TMPDIR:-/tmp}/tenant-operator-tools-build"
mkdir -p "$work"
export GOFLAGS="-buildvcs=false -mod=mod"
export CGO_ENABLED=0

log() { printf '[build-tools] %s\n' "$*" >&2; }

# The commands each Debian package is installed for (all must be present; the delivery tests run both
# promtool and the prometheus server); a package not named here is checked with dpkg.
declare -A provides=([prometheus]="promtool prometheus" [prometheus-blackbox-exporter]=prometheus-blackbox-exporter)

install_apt_packages() {
  local missing=() pkg
  while read -r pkg; do
    [ -n "$pkg" ] || continue
    if [ -n "${provides[$pkg]:-}" ]; then
      local cmd present=1
      for cmd in ${provides[$pkg]}; do command -v "$cmd" >/dev/null || present=0; done
      [ "$present" -eq 1 ] && continue
    elif dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null | grep -qx installed; then
      continue
    fi
    missing+=("$pkg")
  done < <(sed 's/#.*//; s/[[:space:]]//g' "$root/hack/tools/apt-packages.txt")
  if [ ${#missing[@]} -eq 0 ]; then log "Debian packages present"; return; fi
  [ "$(id -u)" -eq 0 ] || { log "missing ${missing[*]}: run as root, or apt-get install -y ${missing[*]}"; exit 1; }
  log "installing ${missing[*]}"
  apt-get update -qq
  # The prometheus package would start a server under systemd; containers and CI have none, which is fine.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

build_helm() {
  if [ -x "$helm" ]; then log "helm $HELM_VERSION cached"; return; fi
  log "helm $HELM_VERSION: resolving modules (first run builds for a few minutes on 2 cores)"
  # `go install pkg@version` refuses a module whose go.mod has replace directives; helm's has
  # none today. Should one appear, stop here and build it like kube-apiserver in build-controlplane.sh.
  local upstream client_go k8s_minor
  upstream=$(cd "$work" && go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  if grep -qE '^[[:space:]]*replace' "$upstream"; then
    log "helm $HELM_VERSION's go.mod has replace directives: build it from a wrapper module (see build-controlplane.sh)"
    exit 1
  fi
  # Like helm's Makefile: the Kubernetes version `helm template`/`lint` assume follows client-go (v0.N -> 1.N).
  client_go=$(awk '$1 == "k8s.io/client-go" {print $2}' "$upstream")
  k8s_minor=$(echo "$client_go" | cut -d. -f2)
  local ld="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  ld="$ld -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  ld="$ld -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$k8s_minor"
  ld="$ld -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$k8s_minor"
  log "helm $HELM_VERSION: compiling"
  rm -rf "$work/gobin"
  (cd "$work" && GOBIN="$work/gobin" go install -trimpath -ldflags "$ld" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION")
  mv "$work/gobin/helm" "$helm"
  log "helm $HELM_VERSION built"
}

# status-check is the project's own module (go.mod and go.sum pin gopher-lua, gopher-json and
# cli-utils): keyed by a hash of its files, so an edit rebuilds it and nothing else does.
build_status_check() {
  local src="$root/hack/tools/status-check" key
  key=$(cd "$src" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-12)
  status_check="$bin/status-check-$key"
  if [ -x "$status_check" ]; then log "status-check $key cached"; return; fi
  log "status-check $key: compiling (about a minute on 2 cores with empty Go caches)"
  # -mod=readonly: a go.sum that lacks a module fails here instead of being rewritten in the work tree.
  (cd "$src" && GOFLAGS="-buildvcs=false -mod=readonly" go build -trimpath -ldflags "-s -w" -o "$status_check.tmp" .)
  mv "$status_check.tmp" "$status_check"
  log "status-check $key built"
}

start=$(date +%s)
install_apt_packages
build_helm
ln -sf "$(basename "$helm")" "$bin/helm"
build_status_check
ln -sf "$(basename "$status_check")" "$bin/status-check"
log "done in $(( $(date +%s) - start ))s: $bin/helm ($("$bin/helm" version --short)), $bin/status-check, $(command -v prometheus), $(command -v promtool)"
