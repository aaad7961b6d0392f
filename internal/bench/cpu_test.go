package bench

import (
	"crypto/sha256"
	"math"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// TestProcessCPU: this process's CPU time from /proc grows by about what
// a busy loop spent. The loop runs until the kernel's own count for this
// process (getrusage) has grown by 100 ms, not for a wall-clock time: on a
// loaded machine 150 ms of wall time gave the test 40 ms of CPU.
func TestProcessCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/<pid>/stat is Linux's")
	}
	self := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	before, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	sum := [32]byte{}
	start, deadline := self(), time.Now().Add(30*time.Second)
	for self()-start < 100*time.Millisecond && time.Now().Before(deadline) {
		for range 1000 {
			sum = sha256.Sum256(sum[:])
		}
	}
	spent := self() - start
	after, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// /proc counts in clock ticks (10 ms here): allow two of them.
	if d := after - before; d < spent-20*time.Millisecond {
		t.Fatalf("a busy loop that spent %v of CPU counted as %v", spent, d)
	}
	if _, err := processCPU(-1); err == nil {
		t.Fatal("no error for a process that does not exist")
	}
}

func TestCPUFigures(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	for _, c := range []struct {
		name           string
		r              Result
		before, after  cpuSample
		wall           time.Duration
		us, busy, load float64
	}{
		{"server apart", Result{Requests: 990, Errors: 10}, cpuSample{server: ms(100), load: ms(50), serverOK: true},
			cpuSample{server: ms(600), load: ms(1050), serverOK: true}, time.Second, 500, 0.5, 1},
		{"in-process server: load only", Result{Requests: 1000}, cpuSample{load: ms(0)}, cpuSample{load: ms(500)}, time.Second, 0, 0, 0.5},
		{"no wall time", Result{Requests: 1}, cpuSample{serverOK: true}, cpuSample{server: ms(10), serverOK: true}, 0, 0, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := cpuFigures(c.r, c.before, c.after, c.wall)
			near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
			if !near(got.ServerCPUus, c.us) || !near(got.ServerBusy, c.busy) || !near(got.LoadBusy, c.load) {
				t.Fatalf("got %.3f µs, busy %.3f, load %.3f; want %.3f, %.3f, %.3f", got.ServerCPUus, got.ServerBusy, got.LoadBusy, c.us, c.busy, c.load)
			}
		})
	}
	if r := ratio(Result{ServerCPUus: 200}, Result{ServerCPUus: 50}); r.CPURatio != 0.25 {
		t.Fatalf("CPURatio = %v, want 0.25", r.CPURatio)
	}
}
