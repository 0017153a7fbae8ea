#!/usr/bin/env bash
# Writes the test node's container images as OCI layout archives, without a registry or a Docker
# engine: a static binary in one layer, its config, a manifest and index.json. The harness imports
# them with `ctr -n k8s.io images import`. Images: the pod sandbox (pause), the tenant test
# application (testapp: HTTP + UDP echo, and a probe client) and CoreDNS (bin/coredns). Cached in
# bin/images/<hash of the sources>/; prints that directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=node/versions.env
source "$root/hack/node/versions.env"
export PATH="/usr/local/go/bin:$PATH" GOFLAGS="-buildvcs=false" CGO_ENABLED=0
src="$root/hack/node/images"
[ -x "$root/bin/coredns-$COREDNS_VERSION" ] || { echo "build-images: bin/coredns-$COREDNS_VERSION is missing: run hack/build-node.sh" >&2; exit 1; }
key=$( (cd "$src" && find . -type f -print0 | sort -z | xargs -0 sha256sum; echo "coredns $COREDNS_VERSION"; sha256sum "$root/bin/coredns-$COREDNS_VERSION" | cut -d' ' -f1; sha256sum "$root/hack/build-images.sh" | cut -d' ' -f1) | sha256sum | cut -c1-16)
out="$root/bin/images/$key"
if [ -f "$out/done" ]; then echo "$out"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sha() { sha256sum "$1" | cut -d' ' -f1; }

# oci_archive NAME REF BINARY USER ENTRYPOINT_JSON: one-layer image with BINARY at /NAME.
oci_archive() {
  local name=$1 ref=$2 binary=$3 user=$4 entrypoint=$5 dir="$work/$1" layer diff_id size config manifest
  mkdir -p "$dir/rootfs" "$dir/oci/blobs/sha256"
  install -m 0755 "$binary" "$dir/rootfs/$name"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$dir/rootfs" -cf "$dir/layer.tar" .
  diff_id=$(sha "$dir/layer.tar")
  gzip -n -c "$dir/layer.tar" >"$dir/layer.tar.gz"
  layer=$(sha "$dir/layer.tar.gz")
  size=$(stat -c %s "$dir/layer.tar.gz")
  mv "$dir/layer.tar.gz" "$dir/oci/blobs/sha256/$layer"
  printf '{"architecture":"amd64","os":"linux","config":{"User":"%s","Entrypoint":%s,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$user" "$entrypoint" "$diff_id" >"$dir/config.json"
  config=$(sha "$dir/config.json")
  cp "$dir/config.json" "$dir/oci/blobs/sha256/$config"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%d}]}' \
    "$config" "$(stat -c %s "$dir/config.json")" "$layer" "$size" >"$dir/manifest.json"
  manifest=$(sha "$dir/manifest.json")
  cp "$dir/manifest.json" "$dir/oci/blobs/sha256/$manifest"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest" "$(stat -c %s "$dir/manifest.json")" "$ref" "${ref##*:}" >"$dir/oci/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci/oci-layout"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$dir/oci" -cf "$work/out/$name.tar" .
}

mkdir -p "$work/out" "$work/bin"
(cd "$src" && go build -trimpath -ldflags "-s -w" -o "$work/bin/" ./pause ./testapp)
# 65532: the conventional non-root user of distroless images; numeric, so runAsNonRoot can check it.
oci_archive pause tenant-operator.local/pause:3.10 "$work/bin/pause" 65535 '["/pause"]'
# 8080 is the tenant's app port; 9090 is a port no policy opens, to show that only the app port is.
oci_archive testapp tenant-operator.local/testapp:1.0.0 "$work/bin/testapp" 65532 '["/testapp","serve","--listen=:8080,:9090"]'
oci_archive coredns "tenant-operator.local/coredns:$COREDNS_VERSION" "$root/bin/coredns-$COREDNS_VERSION" 65532 '["/coredns"]'
mkdir -p "$out"
cp "$work/out/"*.tar "$work/bin/testapp" "$out/"
touch "$out/done"
echo "$out"
