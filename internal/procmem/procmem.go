package procmem

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Usage is a process's resident memory in bytes, as the kernel counts it.
type Usage struct {
	RSS  int64 // VmRSS: Anon + File + Shmem
	Anon int64 // RssAnon: heap, stacks, runtime metadata
	File int64 // RssFile: mapped file pages, mostly the executable
}

// ErrUnsupported is returned where the operating system has no /proc.
var ErrUnsupported = errors.New("procmem: not supported on this operating system")

// parseStatus reads the Rss fields of a /proc/<pid>/status file.
func parseStatus(b []byte) (Usage, error) {
	var u Usage
	found := 0
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var dst *int64
		switch name {
		case "VmRSS":
			dst = &u.RSS
		case "RssAnon":
			dst = &u.Anon
		case "RssFile":
			dst = &u.File
		default:
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if err != nil {
			return Usage{}, fmt.Errorf("procmem: %s: %w", name, err)
		}
		*dst = kb << 10
		found++
	}
	if found != 3 {
		return Usage{}, errors.New("procmem: status has no VmRSS, RssAnon and RssFile")
	}
	return u, nil
}

// parseLimit reads a cgroup memory limit file: a byte count, or "max"
// (v2) or a huge number (v1) for none.
func parseLimit(b []byte) (int64, bool) {
	s := strings.TrimSpace(string(b))
	n, err := strconv.ParseInt(s, 10, 64)
	// cgroup v1 reports "no limit" as the largest page-aligned int64.
	if err != nil || n <= 0 || n >= 1<<62 {
		return 0, false
	}
	return n, true
}

// cgroupPaths returns the memory cgroup paths in a /proc/self/cgroup file:
// the v2 unified one ("0::/path") and the v1 memory controller's.
func cgroupPaths(b []byte) (v2, v1 string) {
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			v2 = parts[2]
		case strings.Contains(","+parts[1]+",", ",memory,"):
			v1 = parts[2]
		}
	}
	return v2, v1
}

// mapping is one line of /proc/self/maps that may be released.
type mapping struct {
	start, end uint64
}

// executableMappings returns the read-only, private mappings of the file
// with the given device and inode in a /proc/self/maps file. Writable
// mappings are left out: their pages may hold this process's own writes.
func executableMappings(maps []byte, dev uint64, ino uint64) []mapping {
	var out []mapping
	for _, line := range strings.Split(string(maps), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		perms := f[1]
		if len(perms) != 4 || perms[1] == 'w' || perms[3] != 'p' {
			continue
		}
		if n, err := strconv.ParseUint(f[4], 10, 64); err != nil || n != ino {
			continue
		}
		if d, ok := parseDev(f[3]); !ok || d != dev {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		out = append(out, mapping{start, end})
	}
	return out
}

// parseDev turns the maps file's "major:minor" (hex) into the kernel's
// encoding of a device number, as stat reports it.
func parseDev(s string) (uint64, bool) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, false
	}
	major, err1 := strconv.ParseUint(a, 16, 32)
	minor, err2 := strconv.ParseUint(b, 16, 32)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	// Linux's new_encode_dev.
	return (minor & 0xff) | (major&0xfff)<<8 | (minor&^0xff)<<12 | (major&^0xfff)<<32, true
}

// DefaultLimitShare is the share of a container's memory limit given to
// the Go runtime as its soft limit when none is configured: the rest is
// left to what the Go runtime does not count (the mapped binary, SQLite's
// own allocations, the kernel's buffers).
const DefaultLimitShare = 0.8

// DefaultLimit returns the soft memory limit for the Go runtime derived
// from this process's cgroup: DefaultLimitShare of its memory limit, if
// one is set.
func DefaultLimit() (int64, bool) {
	n, ok := CgroupLimit()
	if !ok {
		return 0, false
	}
	return int64(float64(n) * DefaultLimitShare), true
}
