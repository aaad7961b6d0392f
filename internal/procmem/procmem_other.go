//go:build !linux

package procmem

// Read needs Linux's /proc.
func Read(int) (Usage, error) { return Usage{}, ErrUnsupported }

// CgroupLimit knows Linux cgroups only.
func CgroupLimit() (int64, bool) { return 0, false }

// ReleaseExecutable does nothing outside Linux.
func ReleaseExecutable() (int64, error) { return 0, nil }
