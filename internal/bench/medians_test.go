package bench

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestMedians(t *testing.T) {
	run := func(rps, p99 float64, mode string) []Result {
		return []Result{{Scenario: "noop", Mode: "closed", RPS: 1000, RPSRatio: 1}, {Scenario: "x", Mode: mode, RPS: rps, P99ms: p99, RPSRatio: rps / 1000}}
	}
	got := Medians([][]Result{run(300, 9, "paced 150/s"), run(100, 1, "paced 50/s"), run(200, 5, "paced 100/s")})
	if len(got) != 2 {
		t.Fatalf("got %d rows, want 2 (noop, x paced): %+v", len(got), got)
	}
	x := got[1]
	if x.Scenario != "x" || x.Mode != "paced (median of 3)" || x.RPS != 200 || x.P99ms != 5 || x.RPSRatio != 0.2 {
		t.Errorf("median of x: %+v, want paced (median of 3), 200 req/s, p99 5 ms, ratio 0.2", x)
	}
	even := Medians([][]Result{run(100, 1, "closed"), run(200, 3, "closed")})
	if even[1].RPS != 150 || even[1].P99ms != 2 {
		t.Errorf("median of two: %+v, want their mean (150 req/s, p99 2 ms)", even[1])
	}
}

func TestLimit(t *testing.T) {
	base := Result{RPS: 20_000} // 50 µs per no-op request
	for _, c := range []struct {
		name      string
		sc        Scenario
		sign      time.Duration
		wantLimit float64
	}{
		{"signs", Scenario{Signs: true}, 50 * time.Microsecond, 10_000},
		{"does not sign", Scenario{}, 50 * time.Microsecond, 0},
		{"no sign time", Scenario{Signs: true}, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := limit(Result{RPS: 5_000}, base, c.sc, c.sign)
			if d := r.LimitRPS - c.wantLimit; d > 0.01 || d < -0.01 {
				t.Fatalf("limit %v, want %v", r.LimitRPS, c.wantLimit)
			}
			if c.wantLimit > 0 && (r.LimitRatio < 0.4999 || r.LimitRatio > 0.5001) {
				t.Errorf("ratio to the limit %v, want 0.5", r.LimitRatio)
			}
			if r.LimitCPURatio != 0 {
				t.Errorf("share by CPU %v without CPU figures, want none", r.LimitCPURatio)
			}
		})
	}
	// By the server's CPU: t_sign 50 µs + the no-op's 40 µs of server CPU,
	// against 120 µs per exchange, is 0.75 whatever the rates were.
	cpuBase := Result{RPS: 20_000, ServerCPUus: 40}
	for _, c := range []struct {
		name string
		r    Result
		want float64
	}{
		{"pinned", Result{RPS: 5_000, ServerCPUus: 120}, 0.75},
		{"no server CPU", Result{RPS: 5_000}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := limit(c.r, cpuBase, Scenario{Signs: true}, 50*time.Microsecond).LimitCPURatio
			if d := got - c.want; d > 1e-9 || d < -1e-9 {
				t.Errorf("share of the limit by CPU %v, want %v", got, c.want)
			}
		})
	}
}

func TestSignCost(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256"} {
		d, err := SignCost(alg, time.Millisecond)
		if err != nil || d <= 0 {
			t.Errorf("SignCost(%s) = %v, %v", alg, d, err)
		}
	}
	if _, err := SignCost("HS256", time.Millisecond); err == nil {
		t.Error("SignCost(HS256) = nil error, want one")
	}
}

// TestQuietGC: the collector is off but for the backstop, and a Config
// that collects between rows runs one collection per call.
func TestQuietGC(t *testing.T) {
	QuietGC(1 << 30)
	defer debug.SetMemoryLimit(math.MaxInt64)
	if prev := debug.SetGCPercent(100); prev != -1 {
		t.Errorf("GC percent after QuietGC %d, want -1 (off)", prev)
	}
	if prev := debug.SetMemoryLimit(-1); prev != 1<<30 {
		t.Errorf("memory limit after QuietGC %d, want the backstop %d", prev, 1<<30)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	Config{CollectBetween: true}.collect()
	Config{}.collect()
	runtime.ReadMemStats(&after)
	if n := after.NumGC - before.NumGC; n != 1 {
		t.Errorf("%d collections, want 1 (CollectBetween's)", n)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		v    []float64
		want float64
	}{
		{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := Median(c.v); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.v, got, c.want)
		}
	}
}
