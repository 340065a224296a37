# Sourced by dev/image/build.sh and dev/image/temporal.sh (not run on its own): the tools (Debian's buildah,
# podman, runc, mmdebstrap, installed once), then the two bases every image here is built from, made once per
# inputs and kept in podman's storage:
#   RUNTIME_BASE  a Debian bookworm minbase (iproute2, ca-certificates, tini, a uid-1000 `node` user) plus this
#                 machine's `node` binary;
#   BUILD_BASE    the same plus npm, for build stages.
# Expects CACHE (the image cache directory) and MIRROR; defines say, PODMAN, have_image, base_key, RUNTIME_BASE,
# BUILD_BASE. Holds the cache's lock (fd 9) until the sourcing script exits.
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

