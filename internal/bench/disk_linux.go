package bench

import (
	"os"

	"golang.org/x/sys/unix"
)

// dropCached drops f's pages from the page cache: synced pages are clean,
// so the kernel evicts them on this advice and the next read comes from
// the device.
func dropCached(f *os.File) error {
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}
