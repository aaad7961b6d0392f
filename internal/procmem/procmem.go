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

// mapsLine is a parsed mapping of /proc/self/smaps (or maps).
type mapsLine struct {
	mapping
	perms, file string // file: "device inode", the same for every mapping of one file
	// anonKB counts the mapping's pages that are this process's own
	// copies (written once: relocations in a PIE's read-only-after-
	// relocation data, a debugger's breakpoints). Only smaps has it.
	anonKB int64
}

// parseMaps reads the mappings of a file's pages, with their Anonymous
// counts when given smaps.
func parseMaps(maps []byte) []mapsLine {
	var out []mapsLine
	var cur *mapsLine
	for _, line := range strings.Split(string(maps), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if strings.HasSuffix(f[0], ":") {
			if cur != nil && f[0] == "Anonymous:" && len(f) >= 2 {
				n, err := strconv.ParseInt(f[1], 10, 64)
				if err != nil {
					n = 1 // unknown: treat as written
				}
				cur.anonKB = n
			}
			continue
		}
		cur = nil
		if len(f) < 6 || f[4] == "0" {
			continue // anonymous
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
		out = append(out, mapsLine{mapping: mapping{start, end}, perms: f[1], file: f[3] + " " + f[4]})
		cur = &out[len(out)-1]
	}
	return out
}

// executableMappings returns the read-only, private mappings of the file
// whose mapping holds the code address pc (this binary), found by device
// and inode as maps reports them: stat would not do, as on overlayfs (a
// container's root) stat and maps report different devices. Left out are
// writable mappings and any holding pages this process wrote (Anonymous
// in smaps): dropping those would lose the writes.
func executableMappings(maps []byte, pc uint64) []mapping {
	lines := parseMaps(maps)
	file := ""
	for _, l := range lines {
		if l.start <= pc && pc < l.end {
			file = l.file
			break
		}
	}
	if file == "" {
		return nil
	}
	var out []mapping
	for _, l := range lines {
		if l.file == file && len(l.perms) == 4 && l.perms[1] != 'w' && l.perms[3] == 'p' && l.anonKB == 0 {
			out = append(out, l.mapping)
		}
	}
	return out
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
