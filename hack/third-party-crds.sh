#!/usr/bin/env bash
# Copies the third-party CRDs the tenant builders target out of their published Go modules (fetched
# through the Go module proxy and verified against sum.golang.org, never hand-written), pinned by
# hack/third-party/versions.env, into bin/third-party/<versions>/, and prints that directory.
#   gateway-api (standard channel): GatewayClass, Gateway, HTTPRoute, ReferenceGrant
#   secrets-store-csi-driver:       SecretProviderClass
# Application Gateway for Containers publishes no Go module, so its WebApplicationFirewallPolicy is a
# minimal stand-in from test/fixtures/third-party/alb-waf-policy-crd.yaml, copied alongside.
# Every run checks that the directory holds exactly the expected kinds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=third-party/versions.env
source "$root/hack/third-party/versions.env"
export PATH="$PATH:/usr/local/go/bin"
# Outside any module, with the toolchain at hand: no go.mod, no toolchain downloads, checksums verified.
export GOFLAGS="" GOTOOLCHAIN=local GO111MODULE=on

log() { printf '[third-party-crds] %s\n' "$*" >&2; }

base="$root/bin/third-party"
out="$base/gateway-api-${GATEWAY_API_VERSION}_secrets-store-csi-driver-${SECRETS_STORE_CSI_DRIVER_VERSION}"
standin="$root/test/fixtures/third-party/alb-waf-policy-crd.yaml"

# module_dir MODULE VERSION: the extracted module directory in the Go module cache.
module_dir() {
  local json dir
  json=$(cd "${TMPDIR:-/tmp}" && go mod download -json "$1@$2") || { log "go mod download $1@$2 failed: $json"; return 1; }
  dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || { log "no directory for $1@$2: $json"; return 1; }
  printf '%s\n' "$dir"
}

if [ ! -d "$out" ]; then
  mkdir -p "$base"
  tmp=$(mktemp -d "$base/.tmp.XXXXXX")
  chmod 755 "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  log "gateway-api $GATEWAY_API_VERSION, secrets-store-csi-driver $SECRETS_STORE_CSI_DRIVER_VERSION: downloading modules"
  gw=$(module_dir sigs.k8s.io/gateway-api "$GATEWAY_API_VERSION")
  for plural in gatewayclasses gateways httproutes referencegrants; do
    cp "$gw/config/crd/standard/gateway.networking.k8s.io_$plural.yaml" "$tmp/"
  done
  sscsi=$(module_dir sigs.k8s.io/secrets-store-csi-driver "$SECRETS_STORE_CSI_DRIVER_VERSION")
  cp "$sscsi/config/crd/bases/secrets-store.csi.x-k8s.io_secretproviderclasses.yaml" "$tmp/"
  chmod u+w "$tmp"/*.yaml # the module cache is read-only; the copies need not be
  # Rename into place in one step: a concurrent run (parallel test workers) either wins or discards its copy.
  mv -T "$tmp" "$out" 2>/dev/null || rm -rf "$tmp"
  trap - EXIT
fi
# The stand-in is ours and may change without a version bump: refresh it on every run, atomically.
cp "$standin" "$out/.alb-waf-policy.yaml.$$" && mv -f "$out/.alb-waf-policy.yaml.$$" "$out/alb.networking.azure.io_webapplicationfirewallpolicies.yaml"

# Each file must be one CustomResourceDefinition of the expected group and kind (spec.names.kind).
expect=(
  "gateway.networking.k8s.io GatewayClass"
  "gateway.networking.k8s.io Gateway"
  "gateway.networking.k8s.io HTTPRoute"
  "gateway.networking.k8s.io ReferenceGrant"
  "secrets-store.csi.x-k8s.io SecretProviderClass"
  "alb.networking.azure.io WebApplicationFirewallPolicy"
)
found=$(for f in "$out"/*.yaml; do
  grep -q '^kind: CustomResourceDefinition$' "$f" || { log "$f is not a CustomResourceDefinition"; exit 1; }
  group=$(sed -n 's/^  group: \(.*\)$/\1/p' "$f" | head -1)
  kind=$(sed -n '/^  names:$/,/^  [a-z]/s/^    kind: \(.*\)$/\1/p' "$f" | head -1)
  echo "$group $kind"
done | sort)
want=$(printf '%s\n' "${expect[@]}" | sort)
if [ "$found" != "$want" ]; then
  log "unexpected CRDs in $out"
  diff <(echo "$want") <(echo "$found") >&2 || true
  exit 1
fi
printf '%s\n' "$out"
