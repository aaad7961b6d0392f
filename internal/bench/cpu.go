package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// cpuSample is what a closed-loop run cost in CPU: the server process's
// (when it is a process of its own, Config.ServerPID) and this process's,
// the load generator's. With the server on one core and the load on
// another, a ratio of request rates says nothing about the server when the
// load's core is the one that ran out: the server's CPU time per request
// does.
type cpuSample struct {
	server, load time.Duration
	serverOK     bool
}

func sampleCPU(serverPID int) cpuSample {
	var s cpuSample
	if serverPID > 0 {
		if d, err := processCPU(serverPID); err == nil {
			s.server, s.serverOK = d, true
		}
	}
	if d, err := processCPU(os.Getpid()); err == nil {
		s.load = d
	}
	return s
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every
// Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// processCPU is the user and system CPU time pid has used, from
// /proc/<pid>/stat (utime and stime, the 14th and 15th fields); elsewhere
// than Linux there is none, and the figures stay empty.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields after its closing one.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q, stime %q", pid, f[11], f[12])
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// cpuFigures fills r's CPU columns from the samples around its run.
func cpuFigures(r Result, before, after cpuSample, wall time.Duration) Result {
	if wall <= 0 {
		return r
	}
	r.LoadBusy = (after.load - before.load).Seconds() / wall.Seconds()
	if !before.serverOK || !after.serverOK {
		return r
	}
	used := after.server - before.server
	r.ServerBusy = used.Seconds() / wall.Seconds()
	if n := r.Requests + r.Errors; n > 0 {
		r.ServerCPUus = float64(used.Microseconds()) / float64(n)
	}
	return r
}
