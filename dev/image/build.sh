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
SUITE=bookworm
RUNTIME_PACKAGES="iproute2,ca-certificates,tini"
# Bumped when the way the bases are made changes (the hooks below), so old cache entries are not reused.
BASE_RECIPE=1

mkdir -p "$CACHE"
# One build at a time per cache (two checkouts of this machine may build at once): the second waits.
exec 9>"$CACHE/.lock"
flock 9
t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '[image %6ss] %s\n' "$(elapsed)" "$*" >&2; }

# --- tools: Debian's packages, installed once -------------------------------------------------------------
need=()
for pair in buildah:buildah podman:podman runc:runc mmdebstrap:mmdebstrap; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  say "apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >&2
else
  say "buildah, podman, runc, mmdebstrap: installed"
fi
# runc explicitly: crun does not work in this VM (and is not what Debian's podman needs here).
export BUILDAH_RUNTIME=runc
PODMAN=(podman --runtime runc)

# --- the bases ----------------------------------------------------------------------------------------------
NODE_BIN=$(readlink -f "$(command -v node)")
NPM_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")   # .../node_modules/npm
[ -f "$NPM_DIR/package.json" ] || { echo "npm not found beside $(command -v npm)" >&2; exit 1; }
NODE_VERSION=$("$NODE_BIN" --version)
NPM_VERSION=$("$NODE_BIN" -p "require('$NPM_DIR/package.json').version")
node_sum=$(sha256sum "$NODE_BIN" | cut -c1-64)
npm_sum=$(cd "$NPM_DIR" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64)
base_key=$(printf '%s\n' "recipe=$BASE_RECIPE" "suite=$SUITE" "mirror=$MIRROR" "packages=$RUNTIME_PACKAGES" \
  "node=$NODE_VERSION $node_sum" "npm=$NPM_VERSION $npm_sum" "arch=$(dpkg --print-architecture)" | sha256sum | cut -c1-12)
RUNTIME_BASE="localhost/multi-eni-node-base:$base_key"
BUILD_BASE="localhost/multi-eni-node-build:$base_key"
BASE_DIR="$CACHE/base-$base_key"

have_image() { "${PODMAN[@]}" image exists "$1"; }

if [ ! -f "$BASE_DIR/rootfs.tar" ]; then
  say "base rootfs: mmdebstrap $SUITE minbase + $RUNTIME_PACKAGES + node $NODE_VERSION (key $base_key)"
  rm -rf "$BASE_DIR.tmp"; mkdir -p "$BASE_DIR.tmp"
  # No documentation, manuals or translations in an image; apt's lists are removed by mmdebstrap's cleanup.
  mmdebstrap --variant=minbase --mode=root --format=tar --include="$RUNTIME_PACKAGES" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook="install -D -m 0755 '$NODE_BIN' \"\$1/usr/local/bin/node\"" \
    --customize-hook='chroot "$1" groupadd --gid 1000 node' \
    --customize-hook='chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node' \
    --customize-hook='rm -rf "$1"/var/cache/apt/*.bin "$1"/var/log/apt/* "$1"/var/log/dpkg.log' \
    "$SUITE" "$BASE_DIR.tmp/rootfs.tar" "$MIRROR" >&2
  rm -rf "$BASE_DIR"; mv "$BASE_DIR.tmp" "$BASE_DIR"
else
  say "base rootfs: cached ($BASE_DIR)"
fi

if ! have_image "$RUNTIME_BASE"; then
  say "import $RUNTIME_BASE"
  "${PODMAN[@]}" import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' \
    "$BASE_DIR/rootfs.tar" "$RUNTIME_BASE" >&2
else
  say "$RUNTIME_BASE: in storage"
fi

if ! have_image "$BUILD_BASE"; then
  say "make $BUILD_BASE (the runtime base plus npm $NPM_VERSION, as node images lay it out)"
  ctr=$(buildah from --pull-never "$RUNTIME_BASE")
  trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
  buildah copy --quiet "$ctr" "$NPM_DIR" /usr/local/lib/node_modules/npm >&2
  buildah run --isolation oci --runtime runc --network none "$ctr" -- sh -ec \
    'ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm; ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx; npm --version >/dev/null' >&2
  buildah commit --quiet --rm "$ctr" "$BUILD_BASE" >&2
  trap - EXIT
else
  say "$BUILD_BASE: in storage"
fi

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
