//go:build !linux

package bench

import (
	"errors"
	"os"
)

// dropCached is Linux-only (posix_fadvise); elsewhere a read-back would
// measure the page cache, not the disk.
func dropCached(*os.File) error {
	return errors.ErrUnsupported
}
