#!/usr/bin/env bash
# Builds OpenTofu and the azurerm provider from the Go module proxy into the
# folder given as $1, for the Terraform end-to-end test (test/e2e, -tags terraform).
# No Terraform registry is reachable here, so the test installs the provider
# through dev_overrides in a CLI config of its own.
#
# Cold: ~15 min (tofu) + ~25 min (provider) on two cores; with a warm Go build
# cache, a minute. Run outside any test's timeout.
# Usage: hack/terraform-tools/build.sh <out-dir>
set -euo pipefail
out="$(mkdir -p "${1:?out dir}" && cd "$1" && pwd)"

# OpenTofu's go.mod replaces hcl with its fork, so `go install mod@v` refuses
# it; building inside the downloaded module directory honours the replace.
TOFU=github.com/opentofu/opentofu@v1.12.6
# The provider's tags are not valid module versions (v4 tags, no /v4 path), so
# it is pinned by pseudo-version: main of 2026-08-24.
AZURERM=github.com/hashicorp/terraform-provider-azurerm@v1.44.1-0.20260824201233-fae580791926
want="$TOFU $AZURERM"

if [ -x "$out/tofu" ] && [ -x "$out/terraform-provider-azurerm" ] && [ "$(cat "$out/.version" 2>/dev/null)" = "$want" ]; then
  echo "terraform-tools: already built in $out"
  exit 0
fi

moddir() { go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'; }

# The module cache is read-only and go build writes nothing there; -mod=mod
# is not needed since both modules ship complete go.sum files.
build() { # module@version, package, output name
  local dir; dir="$(moddir "$1")"
  [ -n "$dir" ] || { echo "terraform-tools: could not download $1" >&2; exit 1; }
  echo "terraform-tools: building $3 from $1"
  (cd "$dir" && go mod download && nice -n 10 go build -trimpath -ldflags "-s -w" -o "$out/$3" "$2")
}
build "$TOFU" ./cmd/tofu tofu
build "$AZURERM" . terraform-provider-azurerm
echo "$want" > "$out/.version"
echo "terraform-tools: built tofu and terraform-provider-azurerm into $out"
