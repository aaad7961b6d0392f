package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// DiskDirection says which of the disk's throughputs a scenario's bytes
// are compared with.
type DiskDirection int

const (
	DiskNone DiskDirection = iota
	DiskRead
	DiskWrite
)

// Disk is the sequential throughput of the file system under a directory,
// measured in the same run as the scenarios it is compared with.
type Disk struct {
	Dir       string  `json:"dir"`
	Bytes     int64   `json:"bytes"`
	WriteMBps float64 `json:"write_mb_per_s"` // written in 1 MiB writes, then fsync'd
	ReadMBps  float64 `json:"read_mb_per_s"`  // read back in 1 MiB reads with its cached pages dropped (Linux; else 0)
}

// MeasureDisk writes size bytes of random data to a temporary file in dir
// in 1 MiB writes and syncs it (what a blob upload does to the disk), then
// drops the file's pages from the page cache and reads it back. The file
// is removed. MB is 10^6 bytes.
func MeasureDisk(ctx context.Context, dir string, size int64) (Disk, error) {
	d := Disk{Dir: dir, Bytes: size}
	f, err := os.CreateTemp(dir, "ward-bench-disk-")
	if err != nil {
		return d, fmt.Errorf("measure the disk: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 1<<20)
	if _, err := rand.Read(buf); err != nil {
		return d, err
	}
	start := time.Now()
	for written := int64(0); written < size; written += int64(len(buf)) {
		if err := ctx.Err(); err != nil {
			return d, err
		}
		if _, err := f.Write(buf[:min(int64(len(buf)), size-written)]); err != nil {
			return d, fmt.Errorf("measure the disk: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return d, fmt.Errorf("measure the disk: %w", err)
	}
	d.WriteMBps = float64(size) / 1e6 / time.Since(start).Seconds()
	if err := dropCached(f); errors.Is(err, errors.ErrUnsupported) {
		return d, nil // no read figure rather than the page cache's
	} else if err != nil {
		return d, fmt.Errorf("measure the disk: drop cached pages: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return d, err
	}
	start = time.Now()
	var read int64
	for {
		n, err := f.Read(buf)
		read += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return d, fmt.Errorf("measure the disk: %w", err)
		}
	}
	d.ReadMBps = float64(read) / 1e6 / time.Since(start).Seconds()
	return d, nil
}
