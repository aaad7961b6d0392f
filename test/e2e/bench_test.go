package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchShort runs `ward bench --short`: it must start Ward in-process,
// prepare its fixtures through the real APIs and measure every scenario in
// both modes without an error. It asserts that numbers exist, never a speed.
//
// With --trace-slow at a nanosecond every request is "slow": the first one
// of a run leaves an execution trace where --trace-dir says.
func TestBenchShort(t *testing.T) {
	traces := t.TempDir()
	cmd := exec.Command(wardBin, "bench", "--short", "--signing-alg", "ES256", "-o", "json", "--trace-slow", "1ns", "--trace-dir", traces)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ward bench: %v\n%s%s", err, out, stderr.String())
	}
	files, _ := filepath.Glob(filepath.Join(traces, "slow-*.trace"))
	if len(files) == 0 || !strings.Contains(stderr.String(), "go tool trace "+traces) {
		t.Errorf("no slow-request trace in %s (%v); stderr:\n%s", traces, files, stderr.String())
	}
	var doc struct {
		Results []struct {
			Scenario, Mode   string
			Requests, Errors int
			RPS              float64 `json:"rps"`
			P50              float64 `json:"p50_ms"`
			Ratio            float64 `json:"rps_ratio_to_noop"`
			MBps             float64 `json:"mb_per_s"`
			DiskRatio        float64 `json:"ratio_to_disk"`
		} `json:"results"`
		Disk []struct {
			Bytes     int64   `json:"bytes"`
			WriteMBps float64 `json:"write_mb_per_s"`
			ReadMBps  float64 `json:"read_mb_per_s"`
		} `json:"disk"`
		SignInLog []struct {
			Server                           string
			Written, Waited, Dropped, Failed float64
		} `json:"signin_log"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("bench output is not JSON: %v\n%s", err, out)
	}
	// Every server's sign-in log wrote the run's sign-ins and lost none.
	if len(doc.SignInLog) != 2 {
		t.Errorf("sign-in log figures for %d servers, want 2 (mint, reuse): %+v", len(doc.SignInLog), doc.SignInLog)
	}
	for _, l := range doc.SignInLog {
		if l.Written == 0 || l.Dropped != 0 || l.Failed != 0 {
			t.Errorf("sign-in log of %s: %+v", l.Server, l)
		}
	}
	seen := map[string]bool{}
	for _, r := range doc.Results {
		seen[r.Scenario] = true
		if r.Requests == 0 || r.Errors != 0 || r.RPS <= 0 || r.P50 <= 0 || r.Ratio <= 0 {
			t.Errorf("%s (%s): %+v", r.Scenario, r.Mode, r)
		}
		// The blob rows also carry their MB/s and its ratio to the disk.
		if isBlob := strings.Contains(r.Scenario, "blob "); isBlob != (r.MBps > 0 && r.DiskRatio > 0) {
			t.Errorf("%s (%s): MB/s %v, ratio to the disk %v", r.Scenario, r.Mode, r.MBps, r.DiskRatio)
		}
	}
	if len(doc.Disk) != 1 || doc.Disk[0].Bytes == 0 || doc.Disk[0].WriteMBps <= 0 || doc.Disk[0].ReadMBps <= 0 {
		t.Errorf("disk figures: %+v, want one measurement with write and read throughput", doc.Disk)
	}
	for _, want := range []string{"noop", "federated exchange", "new TLS connection", "client-secret grant", "ARM GET identity", "ARM PUT identity", "vault secret GET", "reuse hit",
		"blob GET 4 KiB", "blob GET 4 MiB", "blob PUT 4 KiB", "blob PUT 4 MiB"} {
		found := false
		for s := range seen {
			found = found || strings.Contains(s, want)
		}
		if !found {
			t.Errorf("no %q scenario in %v", want, seen)
		}
	}
}
