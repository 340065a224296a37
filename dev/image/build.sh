#!/usr/bin/env bash
# Builds the project's image on this machine, from the repository's Dockerfile, with Debian's buildah and runc
# and a Node.js base the project makes itself (no registry image needed):
#
#   bash dev/image/build.sh
#
# - installs buildah, podman, runc and mmdebstrap with apt-get when missing (nothing when present);
# - the bases: a Debian bookworm minbase made by mmdebstrap with what the runtime stage needs (iproute2,
#   ca-certificates, tini, a `node` user of uid 1000) plus this machine's `node` binary
#   (localhost/multi-eni-node-base:<key>), and the same plus npm for the build stages
#   (localhost/multi-eni-node-build:<key>); cached under $MULTI_ENI_CACHE/image (default
#   ~/.cache/multi-eni/image) keyed by a hash of their inputs (package list, suite, the node binary, npm);
# - the image: `buildah bud` of the Dockerfile with those bases as build arguments, tagged
#   localhost/multi-eni-controller:dev in buildah/podman's storage (/var/lib/containers), and saved as a
#   docker-archive tarball keyed by a hash of the build context and the bases. A second run with the same inputs
#   builds nothing.
#
# Progress goes to stderr; the LAST line of stdout is the tarball's path. `ctr -n k8s.io images import <tar>`
# (containerd) or `podman load -i <tar>` loads it as localhost/multi-eni-controller:dev.
#
# Environment: MULTI_ENI_CACHE (cache root), MULTI_ENI_IMAGE (image name, default
# localhost/multi-eni-controller:dev), DEBIAN_MIRROR (default: http://deb.debian.org/debian).
set -euo pipefail

cd "$(dirname "$0")/../.."
REPO=$(pwd)
CACHE="${MULTI_ENI_CACHE:-$HOME/.cache/multi-eni}/image"
IMAGE="${MULTI_ENI_IMAGE:-localhost/multi-eni-controller:dev}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

# The tools and the bases (RUNTIME_BASE, BUILD_BASE): shared with dev/image/temporal.sh.
. "$REPO/dev/image/bases.sh"

# --- the image ----------------------------------------------------------------------------------------------
# Its inputs: the build context as the Dockerfile sees it (the files git knows or would add, minus
# .dockerignore's top-level entries), the Dockerfile, and the bases.
context_files() {
  git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
    [ -f "$f" ] || continue
    case "$f" in
      test/* | helm/* | deploy/* | .github/* | dev/bench/results/* | .dockerignore | *.log) continue ;;
    esac
    printf '%s\0' "$f"
  done
}
app_key=$( { printf 'base=%s image=%s\n' "$base_key" "$IMAGE"; context_files | LC_ALL=C sort -z | xargs -0 sha256sum; sha256sum Dockerfile .dockerignore; } | sha256sum | cut -c1-16)
TARBALL="$CACHE/multi-eni-controller-$app_key.docker.tar"

image_key() { "${PODMAN[@]}" image inspect --format '{{ index .Labels "multi-eni.inputs" }}' "$IMAGE" 2>/dev/null || true; }

if [ -f "$TARBALL" ] && [ "$(image_key)" = "$app_key" ]; then
  say "$IMAGE: cached (inputs $app_key)"
  touch "$TARBALL"
elif [ -f "$TARBALL" ]; then
  say "$IMAGE: loading the cached tarball (inputs $app_key)"
  "${PODMAN[@]}" load --quiet -i "$TARBALL" >&2
  touch "$TARBALL"
else
  say "buildah bud $IMAGE (inputs $app_key)"
  # npm in the build stages keeps its cache in the Dockerfile's cache mount (buildah keeps it between builds).
  # It reaches the registry over this machine's network (--network host) and trusts what this machine trusts:
  # its CA bundle and an npmrc naming it are mounted for the build's RUN steps only (not in any layer).
  npmrc=$(mktemp); trap 'rm -f "$npmrc"' EXIT
  printf 'prefer-offline=true\nfund=false\naudit=false\nupdate-notifier=false\n' > "$npmrc"
  chmod 0644 "$npmrc"
  ca_mount=()
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    echo 'cafile=/etc/multi-eni-build/ca.crt' >> "$npmrc"
    ca_mount=(--volume /etc/ssl/certs/ca-certificates.crt:/etc/multi-eni-build/ca.crt:ro)
  fi
  buildah bud --quiet --layers --pull=never --isolation oci --runtime runc --network host \
    --build-arg "NODE_BUILD_IMAGE=$BUILD_BASE" --build-arg "NODE_RUNTIME_IMAGE=$RUNTIME_BASE" \
    --volume "$npmrc:/root/.npmrc:ro" "${ca_mount[@]}" \
    --label "multi-eni.inputs=$app_key" \
    -f Dockerfile -t "$IMAGE" . >&2
  say "save $TARBALL"
  rm -f "$TARBALL.tmp"
  "${PODMAN[@]}" save --quiet --format docker-archive -o "$TARBALL.tmp" "$IMAGE" >&2
  mv "$TARBALL.tmp" "$TARBALL"
  # The three most recently used tarballs are kept (another checkout's may be among them); older ones go.
  ls -1t "$CACHE"/multi-eni-controller-*.docker.tar 2>/dev/null | tail -n +4 | xargs -r rm -f
fi

say "done: $IMAGE ($("${PODMAN[@]}" image inspect --format '{{.Id}}' "$IMAGE" | cut -c1-12)), $(du -h "$TARBALL" | cut -f1) tarball, $(elapsed) s"
echo "$TARBALL"
