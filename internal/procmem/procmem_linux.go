package procmem

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	"golang.org/x/sys/unix"
)

// Read returns the resident memory of process pid (0: this process).
func Read(pid int) (Usage, error) {
	path := "/proc/self/status"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Usage{}, fmt.Errorf("procmem: %w", err)
	}
	return parseStatus(b)
}

// CgroupLimit returns the memory limit of this process's cgroup (v2, else
// v1), if one is set.
func CgroupLimit() (int64, bool) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0, false
	}
	v2, v1 := cgroupPaths(b)
	var tries []string
	if v2 != "" {
		tries = append(tries, filepath.Join("/sys/fs/cgroup", v2, "memory.max"), "/sys/fs/cgroup/memory.max")
	}
	if v1 != "" {
		tries = append(tries, filepath.Join("/sys/fs/cgroup/memory", v1, "memory.limit_in_bytes"), "/sys/fs/cgroup/memory/memory.limit_in_bytes")
	}
	for _, p := range tries {
		if b, err := os.ReadFile(p); err == nil {
			return parseLimit(b)
		}
	}
	return 0, false
}

// ReleaseExecutable drops the executable's read-only pages (code and
// constant data) from this process's page tables and returns how many
// resident bytes that freed. The pages stay in the page cache, shared and
// reclaimable; the ones still in use are mapped again on their next
// access, by a minor fault. Call it once, after start-up.
func ReleaseExecutable() (int64, error) {
	maps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return 0, fmt.Errorf("procmem: %w", err)
	}
	before, err := Read(0)
	if err != nil {
		return 0, err
	}
	ms := executableMappings(maps, uint64(reflect.ValueOf(ReleaseExecutable).Pointer()))
	if len(ms) == 0 {
		return 0, errors.New("procmem: no mapping of the executable found")
	}
	for _, m := range ms {
		// MADV_DONTNEED on a private, never-written file mapping only unmaps:
		// the next access reads the same bytes from the page cache.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(m.start), uintptr(m.end-m.start), unix.MADV_DONTNEED); errno != 0 {
			return 0, fmt.Errorf("procmem: madvise %#x-%#x: %w", m.start, m.end, errno)
		}
	}
	after, err := Read(0)
	if err != nil {
		return 0, err
	}
	return before.File - after.File, nil
}
