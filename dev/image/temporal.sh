#!/usr/bin/env bash
# Builds the images the Temporal Helm chart's pods run, here, where Temporal's own images cannot be pulled:
#
#   bash dev/image/temporal.sh
#
# From the project image's runtime base (dev/image/bases.sh: Debian bookworm minbase, a uid-1000 user) and the
# programs `dev/stack/install.sh --temporal-cluster` builds from Go modules, at the versions the chart deploys:
#   localhost/temporal-server:<server>       temporal-server in /usr/local/bin; /etc/temporal/entrypoint.sh starts
#                                            it. The chart mounts its config template (first line `# enable-template`)
#                                            at TEMPORAL_SERVER_CONFIG_FILE_PATH and the server renders it itself, so
#                                            no dockerize is needed (the chart's shims.dockerize can be off).
#   localhost/temporal-admin-tools:<server>  temporal-sql-tool and the temporal CLI in /usr/local/bin, the PostgreSQL
#                                            schemas in /etc/temporal/schema/postgresql/v12; idles by default.
#   localhost/temporal-ui:<ui>               ui-server in /home/ui-server, started by ./start-ui-server.sh with
#                                            config/docker.yaml, a template read from the environment the chart sets
#                                            (TEMPORAL_ADDRESS; TEMPORAL_UI_PORT, default 8080).
# All three run as uid 1000, as the chart's server securityContext expects. They are saved as one docker-archive
# keyed by a hash of the inputs (the programs, the schemas, this script, the base): a second run builds nothing.
# Progress on stderr; the LAST line of stdout is the tarball (`ctr -n k8s.io images import <tar>` loads all three).
set -euo pipefail

cd "$(dirname "$0")/../.."
REPO=$(pwd)
CACHE="${MULTI_ENI_CACHE:-$HOME/.cache/multi-eni}/image"
BIN="${MULTI_ENI_CACHE:-$HOME/.cache/multi-eni}/bin"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SERVER_VERSION=$(sed -n 's/^TEMPORAL_SERVER_VERSION="\([0-9.]*\)".*/\1/p' dev/stack/install.sh)
UI_VERSION=$(sed -n 's/^TEMPORAL_UI_VERSION="\([0-9.]*\)".*/\1/p' dev/stack/install.sh)
SERVER_IMAGE="localhost/temporal-server:$SERVER_VERSION"
ADMIN_IMAGE="localhost/temporal-admin-tools:$SERVER_VERSION"
UI_IMAGE="localhost/temporal-ui:$UI_VERSION"

for p in temporal-server temporal-sql-tool temporal temporal-ui-server; do
  [ -x "$BIN/$p" ] || { echo "$BIN/$p is missing: run \`bash dev/stack/install.sh --temporal-cluster\`" >&2; exit 1; }
done
SCHEMA="$(dirname "$(readlink -f "$BIN/temporal-server")")/schema"
[ -d "$SCHEMA/postgresql/v12/temporal/versioned" ] || { echo "no PostgreSQL schemas beside temporal-server ($SCHEMA)" >&2; exit 1; }

. "$REPO/dev/image/bases.sh"

key=$( {
  printf 'base=%s server=%s ui=%s\n' "$base_key" "$SERVER_VERSION" "$UI_VERSION"
  for p in temporal-server temporal-sql-tool temporal temporal-ui-server; do sha256sum "$(readlink -f "$BIN/$p")" | cut -c1-64; done
  (cd "$SCHEMA" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
  sha256sum dev/image/temporal.sh
} | sha256sum | cut -c1-16)
TARBALL="$CACHE/temporal-images-$key.docker.tar"
if [ -f "$TARBALL" ]; then
  say "Temporal images: cached (inputs $key)"
  touch "$TARBALL"
  echo "$TARBALL"
  exit 0
fi

work=$(mktemp -d)
ctrs=()
cleanup() { for c in "${ctrs[@]}"; do buildah rm "$c" >/dev/null 2>&1 || true; done; rm -rf "$work"; }
trap cleanup EXIT

# One image: a working container from the base, the files, its config, committed under its name.
image() { # name; then the steps run with $c set
  local name=$1
  shift
  c=$(buildah from --pull-never "$RUNTIME_BASE")
  ctrs+=("$c")
  # Neither the base's CMD (node) nor an entrypoint: each image sets its own.
  buildah config --cmd '[]' "$c"
  buildah config --entrypoint '[]' "$c"
  "$@"
  buildah config --label "multi-eni.inputs=$key" --user 1000:1000 "$c"
  buildah commit --quiet --rm "$c" "$name" >&2
  say "$name"
}

server_files() {
  cat >"$work/entrypoint.sh" <<'EOF'
#!/bin/sh
# The chart sets TEMPORAL_SERVER_CONFIG_FILE_PATH (its config template) and SERVICES; the server reads both.
set -eu
exec temporal-server start
EOF
  buildah copy --quiet --chmod 0755 "$c" "$(readlink -f "$BIN/temporal-server")" /usr/local/bin/temporal-server >&2
  buildah copy --quiet --chmod 0755 "$c" "$work/entrypoint.sh" /etc/temporal/entrypoint.sh >&2
  buildah config --workingdir /etc/temporal --cmd '["/etc/temporal/entrypoint.sh"]' "$c"
}

admin_files() {
  buildah copy --quiet --chmod 0755 "$c" "$(readlink -f "$BIN/temporal-sql-tool")" /usr/local/bin/temporal-sql-tool >&2
  buildah copy --quiet --chmod 0755 "$c" "$(readlink -f "$BIN/temporal")" /usr/local/bin/temporal >&2
  buildah copy --quiet "$c" "$SCHEMA" /etc/temporal/schema >&2
  # Idle until stopped (the admin-tools Deployment is a shell to exec into); TERM ends it at once.
  buildah config --workingdir /etc/temporal --cmd '["sh", "-c", "trap \"exit 0\" TERM INT; sleep infinity & wait"]' "$c"
}

ui_files() {
  mkdir -p "$work/ui/config"
  # ui-server renders a config that starts with `# enable-template` (Go templates with sprig's env and default).
  cat >"$work/ui/config/docker.yaml" <<'EOF'
# enable-template
temporalGrpcAddress: {{ env "TEMPORAL_ADDRESS" | default "127.0.0.1:7233" }}
port: {{ env "TEMPORAL_UI_PORT" | default "8080" }}
publicPath: {{ env "TEMPORAL_UI_PUBLIC_PATH" | default "" }}
enableUi: true
defaultNamespace: {{ env "TEMPORAL_DEFAULT_NAMESPACE" | default "default" }}
disableNewsFetch: true
cors:
  cookieInsecure: {{ env "TEMPORAL_CSRF_COOKIE_INSECURE" | default "false" }}
EOF
  cat >"$work/ui/start-ui-server.sh" <<'EOF'
#!/bin/sh
set -eu
cd /home/ui-server
exec ./ui-server --env docker start
EOF
  buildah copy --quiet --chmod 0755 "$c" "$(readlink -f "$BIN/temporal-ui-server")" /home/ui-server/ui-server >&2
  buildah copy --quiet --chmod 0755 "$c" "$work/ui/start-ui-server.sh" /home/ui-server/start-ui-server.sh >&2
  buildah copy --quiet --chmod 0644 "$c" "$work/ui/config/docker.yaml" /home/ui-server/config/docker.yaml >&2
  buildah config --workingdir /home/ui-server --entrypoint '["/home/ui-server/start-ui-server.sh"]' "$c"
}

say "Temporal images (inputs $key): server $SERVER_VERSION, admin-tools $SERVER_VERSION, ui $UI_VERSION"
image "$SERVER_IMAGE" server_files
image "$ADMIN_IMAGE" admin_files
image "$UI_IMAGE" ui_files
rm -f "$TARBALL.tmp"
"${PODMAN[@]}" save --quiet --multi-image-archive --format docker-archive -o "$TARBALL.tmp" "$SERVER_IMAGE" "$ADMIN_IMAGE" "$UI_IMAGE" >&2
mv "$TARBALL.tmp" "$TARBALL"
ls -1t "$CACHE"/temporal-images-*.docker.tar 2>/dev/null | tail -n +3 | xargs -r rm -f
say "done: $(du -h "$TARBALL" | cut -f1) tarball, $(elapsed) s"
echo "$TARBALL"
