package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"runtime"
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
	t.Parallel()
	skipIfShort(t, "drives every bench scenario against in-process servers")
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
			HandlerP99       float64 `json:"handler_p99_ms_at_most"`
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
		// The server's own p99, from its /metrics, is present (-1: over
		// the histogram's last bound).
		if r.Requests == 0 || r.Errors != 0 || r.RPS <= 0 || r.P50 <= 0 || r.Ratio <= 0 || r.HandlerP99 == 0 {
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

// TestBenchPinnedShort runs `ward bench --pinned --short --runs 2`: each
// server is its own `ward serve` process on CPU 0 and the load runs on CPU
// 1. Every run is reported, then the medians; the servers' RSS and, for the
// exchange that signs, its share of the signing limit are present. It
// asserts figures exist, never a speed.
func TestBenchPinnedShort(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "starts four pinned ward serve processes and drives load")
	if runtime.GOOS != "linux" || runtime.NumCPU() < 2 {
		t.Skip("the pinned mode needs Linux and two CPUs")
	}
	cmd := exec.Command(wardBin, "bench", "--pinned", "--short", "--no-paced", "--runs", "2", "--signing-alg", "ES256", "--only", "federated exchange$", "-o", "json")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ward bench --pinned: %v\n%s%s", err, out, stderr.String())
	}
	var doc struct {
		Pinned    bool
		ServerCPU int `json:"server_cpu"`
		SignUS    []struct {
			Alg, CPU string
			US       float64 `json:"us"`
		} `json:"sign_us"`
		Results []struct {
			Scenario, Mode string
			Requests       int
			RPSRatio       float64 `json:"rps_ratio_to_noop"`
			LimitRatio     float64 `json:"rps_ratio_to_limit"`
			LimitCPURatio  float64 `json:"cpu_ratio_to_limit"`
		}
		Runs [][]json.RawMessage
		RSS  []struct {
			Server    string
			IdleMiB   float64 `json:"idle_mib"`
			IdleAnon  float64 `json:"idle_anon_mib"`
			IdleFile  float64 `json:"idle_file_mib"`
			AfterMiB  float64 `json:"after_load_mib"`
			AfterAnon float64 `json:"after_load_anon_mib"`
			AfterFile float64 `json:"after_load_file_mib"`
		}
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("bench output is not JSON: %v\n%s", err, out)
	}
	if !doc.Pinned || len(doc.Runs) != 2 {
		t.Errorf("pinned %v, %d runs; want pinned and 2 runs", doc.Pinned, len(doc.Runs))
	}
	// t_sign on the server's core, before each signing server (one a run).
	if len(doc.SignUS) != 2 {
		t.Errorf("t_sign: %+v, want two ES256 figures", doc.SignUS)
	}
	for _, s := range doc.SignUS {
		if s.Alg != "ES256" || s.US <= 0 || s.CPU != "the server's CPU 0" {
			t.Errorf("t_sign: %+v, want ES256 on the server's CPU 0", s)
		}
	}
	if len(doc.RSS) != 4 { // mint and reuse servers, two runs
		t.Errorf("RSS of %d servers, want 4: %+v", len(doc.RSS), doc.RSS)
	}
	for _, r := range doc.RSS {
		if r.IdleMiB <= 0 || r.AfterMiB <= 0 {
			t.Errorf("RSS of %s: %+v", r.Server, r)
		}
		// The parts: anonymous and file pages add up to at most the whole
		// (the rest is shared memory).
		if r.IdleAnon <= 0 || r.IdleAnon+r.IdleFile > r.IdleMiB+0.01 || r.AfterAnon <= 0 || r.AfterFile <= 0 || r.AfterAnon+r.AfterFile > r.AfterMiB+0.01 {
			t.Errorf("RSS parts of %s: %+v", r.Server, r)
		}
	}
	exchange := false
	for _, r := range doc.Results {
		if !strings.Contains(r.Mode, "median of") || r.Requests == 0 || r.RPSRatio <= 0 {
			t.Errorf("%s (%s): %+v", r.Scenario, r.Mode, r)
		}
		switch r.Scenario {
		case "ES256 noop /healthz":
		case "ES256 federated exchange":
			exchange = true
			if r.LimitRatio <= 0 || r.LimitCPURatio <= 0 {
				t.Errorf("federated exchange: no share of the signing limit (by rate and by CPU): %+v", r)
			}
		default: // --only keeps the no-op and the rows it matches
			t.Errorf("%s: a row --only 'federated exchange$' does not match", r.Scenario)
		}
	}
	if !exchange {
		t.Errorf("no ES256 federated exchange among %+v", doc.Results)
	}
}
