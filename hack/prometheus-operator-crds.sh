#!/usr/bin/env bash
# Copies the Prometheus Operator's Probe CRD (monitoring.coreos.com/v1) out of its published Go
# module (fetched through the Go module proxy and verified against sum.golang.org, never
# hand-written), pinned by PROMETHEUS_OPERATOR_VERSION in hack/third-party/versions.env, into
# bin/third-party/prometheus-operator-<version>/, and prints that directory. Kept apart from
# hack/third-party-crds.sh on purpose: those CRDs are installed in every integration test's
# control plane, this one only where a test wants tenants probed (test/integration/uptime).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=third-party/versions.env
source "$root/hack/third-party/versions.env"
export PATH="$PATH:/usr/local/go/bin"
# Outside any module, with the toolchain at hand: no go.mod, no toolchain downloads, checksums verified.
export GOFLAGS="" GOTOOLCHAIN=local GO111MODULE=on

log() { printf '[prometheus-operator-crds] %s\n' "$*" >&2; }

out="$root/bin/third-party/prometheus-operator-${PROMETHEUS_OPERATOR_VERSION}"
if [ ! -d "$out" ]; then
  mkdir -p "$root/bin/third-party"
  tmp=$(mktemp -d "$root/bin/third-party/.tmp.XXXXXX")
  chmod 755 "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  log "prometheus-operator $PROMETHEUS_OPERATOR_VERSION: downloading its module"
  json=$(cd "${TMPDIR:-/tmp}" && go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION") ||
    { log "go mod download failed: $json"; exit 1; }
  dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || { log "no module directory: $json"; exit 1; }
  cp "$dir/example/prometheus-operator-crd/monitoring.coreos.com_probes.yaml" "$tmp/"
  chmod u+w "$tmp"/*.yaml # the module cache is read-only; the copy need not be
  # Rename into place in one step: a concurrent run either wins or discards its copy.
  mv -T "$tmp" "$out" 2>/dev/null || rm -rf "$tmp"
  trap - EXIT
fi
grep -q '^kind: CustomResourceDefinition$' "$out/monitoring.coreos.com_probes.yaml" ||
  { log "$out/monitoring.coreos.com_probes.yaml is not a CustomResourceDefinition"; exit 1; }
printf '%s\n' "$out"
