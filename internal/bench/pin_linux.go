package bench

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// PinProcess runs this whole process on one CPU: every thread it has now
// (a new thread inherits the mask of the thread that creates it) and one
// scheduler thread for Go code (GOMAXPROCS 1), so that the load generator
// stays off the CPU the server under test runs on.
func PinProcess(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("pin to CPU %d: %w", cpu, err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil && err != unix.ESRCH {
			return fmt.Errorf("pin thread %d to CPU %d: %w", tid, cpu, err)
		}
	}
	runtime.GOMAXPROCS(1)
	return nil
}

// StartPinned starts cmd with every thread of the new process on cpu: the
// child inherits the affinity of the thread that forks it, so that thread
// is pinned to cpu for the fork and set back after. The Go runtime in the
// child sizes GOMAXPROCS from that mask (1).
func StartPinned(cmd *exec.Cmd, cpu int) error {
	return onCPU(cpu, cmd.Start)
}

// SignCostOn is SignCost measured on cpu: the calling goroutine's thread
// is moved there for the measurement and set back after. --pinned measures
// t_sign on the server's own core, idle between servers, so that the
// limit 1/(t_sign + t_noop) is one core's, not two vCPUs' that may not run
// at the same speed (on a shared VM they were seen 50% apart).
func SignCostOn(alg string, d time.Duration, cpu int) (time.Duration, error) {
	var cost time.Duration
	err := onCPU(cpu, func() (err error) {
		cost, err = SignCost(alg, d)
		return err
	})
	return cost, err
}

// onCPU runs f on this goroutine's thread pinned to cpu, and sets the
// thread's affinity back after.
func onCPU(cpu int, f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var saved, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &saved); err != nil {
		return fmt.Errorf("read this thread's CPU affinity: %w", err)
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("pin to CPU %d: %w", cpu, err)
	}
	err := f()
	if rerr := unix.SchedSetaffinity(0, &saved); rerr != nil && err == nil {
		err = fmt.Errorf("restore this thread's CPU affinity: %w", rerr)
	}
	return err
}
