package e2e

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestBenchShort runs `ward bench --short`: it must start Ward in-process,
// prepare its fixtures through the real APIs and measure every scenario in
// both modes without an error. It asserts that numbers exist, never a speed.
func TestBenchShort(t *testing.T) {
	out, err := exec.Command(wardBin, "bench", "--short", "--signing-alg", "ES256", "-o", "json").CombinedOutput()
	if err != nil {
		t.Fatalf("ward bench: %v\n%s", err, out)
	}
	var doc struct {
		Results []struct {
			Scenario, Mode   string
			Requests, Errors int
			RPS              float64 `json:"rps"`
			P50              float64 `json:"p50_ms"`
			Ratio            float64 `json:"rps_ratio_to_noop"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("bench output is not JSON: %v\n%s", err, out)
	}
	seen := map[string]bool{}
	for _, r := range doc.Results {
		seen[r.Scenario] = true
		if r.Requests == 0 || r.Errors != 0 || r.RPS <= 0 || r.P50 <= 0 || r.Ratio <= 0 {
			t.Errorf("%s (%s): %+v", r.Scenario, r.Mode, r)
		}
	}
	for _, want := range []string{"noop", "federated exchange", "new TLS connection", "client-secret grant", "ARM GET identity", "ARM PUT identity", "vault secret GET", "reuse hit"} {
		found := false
		for s := range seen {
			found = found || strings.Contains(s, want)
		}
		if !found {
			t.Errorf("no %q scenario in %v", want, seen)
		}
	}
}
