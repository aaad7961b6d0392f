#!/usr/bin/env bash
# Ward's test command (the README's): builds the Kubernetes control plane the
# kube-tagged tests run and OpenTofu with the azurerm provider for the
# terraform-tagged one, once and before the tests' own timeout starts, then
# runs every test and ends with a summary: counts, every failure, and every
# skipped test with the reason it gave.
#
#   hack/test.sh            everything, as CI runs it (-race, -tags kube,terraform)
#   hack/test.sh -short     the quick suite: unit tests and the fast end-to-end tests, no control plane
#
# Extra arguments go to go test (for example -run, -short).
set -euo pipefail
cd "$(dirname "$0")/.."

short=0
for a in "$@"; do
  case "$a" in -short|-short=true|--short) short=1 ;; esac
done

# The end-to-end tests that share no process state (each starts its own
# ward, on its own port and data directory) are t.Parallel: four at a time
# overlap their waits (process start, TLS, the clients) on two cores.
flags=(-count=1 -timeout 40m -parallel 4)
if [ "$short" = 0 ]; then
  export WARD_KUBE_BIN="${WARD_KUBE_BIN:-$PWD/.cache/kube-bin}"
  echo "--- [1/3] kube-apiserver, kube-controller-manager and etcd for the kube-tagged tests, into $WARD_KUBE_BIN"
  echo "    (built from the k8s.io/kubernetes module: 10-15 minutes and 2 GiB of RAM the first time, seconds afterwards)"
  hack/kube-tools/build.sh "$WARD_KUBE_BIN"
  export WARD_TERRAFORM_BIN="${WARD_TERRAFORM_BIN:-$PWD/.cache/terraform-bin}"
  echo "--- [2/3] OpenTofu and the azurerm provider for the terraform-tagged test, into $WARD_TERRAFORM_BIN"
  echo "    (built from the Go module proxy: 30-40 minutes the first time, a minute afterwards)"
  hack/terraform-tools/build.sh "$WARD_TERRAFORM_BIN"
  flags+=(-race -tags kube,terraform)
fi

# test/e2e is named first: go test starts packages in the order given, and
# the end-to-end suite is the long pole (most of its time is waiting on the
# ward processes and clients it starts), so it runs while the unit packages
# build and run beside it instead of alone at the end.
echo "--- [3/3] go test ${flags[*]} $* ./test/e2e ./...  (a line per package; the summary at the end lists every skip and why)"
exec go run gotest.tools/gotestsum@v1.13.0 --format pkgname-and-test-fails --format-hide-empty-pkg -- \
  "${flags[@]}" "$@" ./test/e2e ./...
