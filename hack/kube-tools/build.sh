#!/usr/bin/env bash
# Builds a real kube-apiserver, kube-controller-manager and etcd (from k8s.io/kubernetes' own module
# graph) into the folder given as $1, for the webhook's integration tests.
# Cold: ~10 min and ~2 GiB of RAM; with a warm Go build cache: seconds.
# Usage: hack/kube-tools/build.sh <out-dir>
set -euo pipefail
out="$(mkdir -p "${1:?out dir}" && cd "$1" && pwd)"
cd "$(dirname "$0")"
V=v1.36.3
minor="$(echo "$V" | cut -d. -f2)"

# go.mod pins each k8s.io staging module to the published v0.X.Y, because
# k8s.io/kubernetes itself replaces them with ./staging paths a consumer
# cannot use. To move to another version, regenerate that block from
# $(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$V.mod
# (every "k8s.io/X => ./staging/..." line becomes "k8s.io/X => k8s.io/X v0.Y.Z";
# sample-cli-plugin is not published and nothing needs it), then go mod tidy.
go mod download

if [ -x "$out/kube-apiserver" ] && [ -x "$out/kube-controller-manager" ] && [ -x "$out/etcd" ] && [ "$(cat "$out/.version" 2>/dev/null)" = "$V" ]; then
  echo "kube-tools: $V already built in $out"
  exit 0
fi
nice -n 10 go build -trimpath -o "$out/" -ldflags "-s -w \
  -X k8s.io/component-base/version.gitVersion=$V -X k8s.io/component-base/version.gitMajor=1 \
  -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean" tool
mv "$out/server" "$out/etcd"
echo "$V" > "$out/.version"
echo "kube-tools: built kube-apiserver, kube-controller-manager and etcd $V into $out"
