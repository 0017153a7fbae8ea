# Writes the wrapper go.mod that lets us build commands of k8s.io/kubernetes from the Go module proxy.
# `go install k8s.io/kubernetes/cmd/X@v` is refused because that module's go.mod has replace
# directives; the wrapper requires it and replaces every staging module with its published v0.x twin,
# the list taken from that version's own go.mod. Sourced by build-controlplane.sh and build-node.sh.

# kubernetes_wrapper_module DIR MODULE_NAME: writes DIR/go.mod for $KUBERNETES_VERSION.
kubernetes_wrapper_module() {
  local dir=$1 name=$2 upstream staging_version
  staging_version="v0.${KUBERNETES_VERSION#v1.}"
  mkdir -p "$dir"
  # The upstream go.mod lists the staging modules; `go mod download` fetches it through GOPROXY.
  upstream=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  cp "$upstream" "$dir/upstream.mod"
  {
    echo "module $name"
    echo
    echo "go 1.24.0"
    echo
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo
    echo "replace ("
    grep -E '=> \./staging/src/' "$dir/upstream.mod" | awk -v v="$staging_version" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
  } >"$dir/go.mod"
}

# kubernetes_ldflags: stamps the version so /version and `--version` are right.
kubernetes_ldflags() {
  local ld="-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION"
  ld="$ld -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)"
  ld="$ld -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION"
  echo "$ld"
}
