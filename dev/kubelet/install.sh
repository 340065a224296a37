#!/usr/bin/env bash
# Installs what the single-node kubelet cluster needs, next to dev/stack/install.sh's tools and cached the same way:
#   kubelet, kube-scheduler, kube-controller-manager  built from Go modules (one scratch module), keyed by version;
#   containerd, runc, CNI plugins                     Debian's packages (apt-get install, skipped when present);
#   pause                                             dev/kubelet/pause/pause.go built static, keyed by its hash.
# Prints the cache's bin directory on the last line of stdout (progress goes to stderr).
set -euo pipefail

CACHE="${MULTI_ENI_CACHE:-$HOME/.cache/multi-eni}"
# The same Kubernetes version as the kube-apiserver of dev/stack/install.sh.
K8S_VERSION=$(sed -n 's/^K8S_VERSION="\([0-9.]*\)".*/\1/p' "$(dirname "$0")/../stack/install.sh")
[ -n "$K8S_VERSION" ] || { echo "cannot read K8S_VERSION from dev/stack/install.sh" >&2; exit 1; }

BIN="$CACHE/bin"
mkdir -p "$BIN"
t0=$(date +%s)
say() { printf '[kubelet-install %3ss] %s\n' "$(( $(date +%s) - t0 ))" "$*" >&2; }

# --- containerd and runc: Debian's packages (the services they ship are not used: dev/kubelet starts its own) ---
# containernetworking-plugins: the loopback plugin of the node's loopback-only CNI network.
if ! command -v containerd >/dev/null || ! command -v runc >/dev/null || ! command -v ctr >/dev/null || [ ! -x /usr/lib/cni/loopback ]; then
  say "containerd, runc, containernetworking-plugins (Debian packages, apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  pkgs="containerd runc containernetworking-plugins"
  apt-get install -y -qq --no-install-recommends $pkgs >&2 || {
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends $pkgs >&2
  }
else
  say "containerd, runc, CNI plugins: installed"
fi

# --- the sandbox ("pause") process, static, keyed by its source ---
PAUSE_SRC="$(cd "$(dirname "$0")" && pwd)/pause/pause.go"
pause_key=$(sha256sum "$PAUSE_SRC" | cut -c1-12)
PAUSE_DIR="$CACHE/kube-pause-$pause_key"
if [ ! -x "$PAUSE_DIR/pause" ]; then
  say "pause (go build of dev/kubelet/pause/pause.go)"
  mkdir -p "$PAUSE_DIR.tmp"
  ( cd "$(dirname "$PAUSE_SRC")" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$PAUSE_DIR.tmp/pause" pause.go >&2 )
  rm -rf "$PAUSE_DIR"; mv "$PAUSE_DIR.tmp" "$PAUSE_DIR"
else
  say "pause: cached"
fi
ln -sf "$PAUSE_DIR/pause" "$BIN/kube-pause"

# --- kubelet, kube-scheduler, kube-controller-manager from Go modules ---
# A scratch module whose replaces point the staging modules at their tags (as for the kube-apiserver).
# -2: built with the version stamped in (the Node reports kubelet v$K8S_VERSION, not v0.0.0-master).
K8S_DIR="$CACHE/kube-node-$K8S_VERSION-2"
CMDS="kubelet kube-scheduler kube-controller-manager"
if [ ! -f "$K8S_DIR/.done" ]; then
  say "kubelet, kube-scheduler, kube-controller-manager $K8S_VERSION (go build in a scratch module, long cold on 2 cores)"
  src="$CACHE/src/kube-node-$K8S_VERSION"
  rm -rf "$src" "$K8S_DIR.tmp"; mkdir -p "$src" "$K8S_DIR.tmp"
  ( cd "$src"
    go mod init scratch/kubenode >/dev/null 2>&1
    gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
    staging=$(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod" | sort -u)
    { echo "require k8s.io/kubernetes v$K8S_VERSION"
      for m in $staging; do echo "replace $m => $m v0.${K8S_VERSION#1.}"; done
    } >> go.mod
    { echo 'package main'
      echo 'import ('
      echo '	_ "k8s.io/kubernetes/cmd/kubelet/app"'
      echo '	_ "k8s.io/kubernetes/cmd/kube-scheduler/app"'
      echo '	_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"'
      echo ')'
      echo 'func main() {}'
    } > pin.go
    go mod tidy >&2
    minor=${K8S_VERSION#1.}; minor=${minor%%.*}
    v=k8s.io/component-base/version
    ldflags="-X $v.gitVersion=v$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean"
    for c in $CMDS; do
      say "  compiling $c"
      go build -ldflags "$ldflags" -o "$K8S_DIR.tmp/$c" "k8s.io/kubernetes/cmd/$c" >&2
    done )
  touch "$K8S_DIR.tmp/.done"
  rm -rf "$K8S_DIR"; mv "$K8S_DIR.tmp" "$K8S_DIR"
else
  say "kubelet, kube-scheduler, kube-controller-manager: cached"
fi
for c in $CMDS; do ln -sf "$K8S_DIR/$c" "$BIN/$c"; done

say "node tools in $BIN"
echo "$BIN"
