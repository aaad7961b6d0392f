package blob

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Files is a content-addressed store of blob contents on a local
// directory: a file is named by the hex SHA-256 of its bytes
// (sha256/ab/abcd...). Content is streamed to a temporary file, hashed on
// the way, synced, renamed into place and the directory synced, so a file
// that is visible is whole and durable before any database row names it.
type Files struct {
	dir string
}

// ErrTooLarge means the content exceeded the caller's cap.
var ErrTooLarge = errors.New("content larger than the cap")

// NewFiles opens (creating) a store rooted at dir.
func NewFiles(dir string) (*Files, error) {
	for _, d := range []string{filepath.Join(dir, "tmp"), filepath.Join(dir, "sha256")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("blob store: %w", err)
		}
	}
	return &Files{dir: dir}, nil
}

// Written describes stored content.
type Written struct {
	Digest string // hex SHA-256
	Size   int64
	MD5    []byte
}

func (f *Files) path(digest string) (string, error) {
	if len(digest) != 64 || strings.Trim(digest, "0123456789abcdef") != "" {
		return "", fmt.Errorf("invalid digest %q", digest)
	}
	return filepath.Join(f.dir, "sha256", digest[:2], digest), nil
}

// Write streams r into the store, failing with ErrTooLarge past max bytes
// (the temporary file is removed: nothing half written stays visible).
func (f *Files) Write(r io.Reader, max int64) (Written, error) {
	var w Written
	suffix := make([]byte, 8)
	if _, err := rand.Read(suffix); err != nil {
		return w, err
	}
	tmp, err := os.OpenFile(filepath.Join(f.dir, "tmp", "up-"+hex.EncodeToString(suffix)), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return w, fmt.Errorf("blob store: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	sha, sum := sha256.New(), md5.New()
	n, err := io.Copy(io.MultiWriter(tmp, sha, sum), io.LimitReader(r, max+1))
	if err != nil {
		return w, err
	}
	if n > max {
		return w, ErrTooLarge
	}
	if err := tmp.Sync(); err != nil {
		return w, fmt.Errorf("blob store: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return w, fmt.Errorf("blob store: %w", err)
	}
	w = Written{Digest: hex.EncodeToString(sha.Sum(nil)), Size: n, MD5: sum.Sum(nil)}
	final, _ := f.path(w.Digest)
	parent := filepath.Dir(final)
	dirs := []string{parent}
	if _, err := os.Stat(parent); err != nil {
		// A new shard directory: its own entry must be durable too.
		if err := os.MkdirAll(parent, 0o700); err != nil {
			return w, fmt.Errorf("blob store: %w", err)
		}
		dirs = append(dirs, filepath.Dir(parent))
	}
	// Renaming over an existing file of the same digest is harmless (same
	// bytes) and refreshes its time, which the sweep's grace period reads.
	if err := os.Rename(tmp.Name(), final); err != nil {
		return w, fmt.Errorf("blob store: %w", err)
	}
	done = true
	for _, d := range dirs {
		if err := syncDir(d); err != nil {
			return w, err
		}
	}
	return w, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("blob store: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("blob store: sync %s: %w", dir, err)
	}
	return nil
}

// Open opens stored content for reading.
func (f *Files) Open(digest string) (*os.File, error) {
	p, err := f.path(digest)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

// Concat stores the concatenation of stored contents (Put Block List).
func (f *Files) Concat(digests []string, max int64) (Written, error) {
	var files []*os.File
	defer func() {
		for _, x := range files {
			x.Close()
		}
	}()
	readers := make([]io.Reader, 0, len(digests))
	for _, d := range digests {
		x, err := f.Open(d)
		if err != nil {
			return Written{}, fmt.Errorf("blob store: block content %s: %w", d, err)
		}
		files = append(files, x)
		readers = append(readers, x)
	}
	return f.Write(io.MultiReader(readers...), max)
}

// Sweep removes stored files nothing refers to (inUse says) that are older
// than grace, and temporary files older than grace (uploads a crash cut
// short). The grace period covers an upload between its file's rename and
// its database commit. A file is first moved aside, then checked: an
// upload that renamed the same content into place meanwhile left a fresh
// file (moved back), and one that renames it after the move creates a new
// file, so a sweep never removes content an acknowledged blob refers to.
func (f *Files) Sweep(inUse func(digest string) (bool, error), grace time.Duration, now time.Time) (removed int, err error) {
	old := func(path string) bool {
		st, err := os.Stat(path)
		return err == nil && now.Sub(st.ModTime()) > grace
	}
	tmps, _ := os.ReadDir(filepath.Join(f.dir, "tmp"))
	for _, e := range tmps {
		if p := filepath.Join(f.dir, "tmp", e.Name()); old(p) && os.Remove(p) == nil {
			removed++
		}
	}
	shards, err := os.ReadDir(filepath.Join(f.dir, "sha256"))
	if err != nil {
		return removed, err
	}
	for _, s := range shards {
		entries, _ := os.ReadDir(filepath.Join(f.dir, "sha256", s.Name()))
		for _, e := range entries {
			p := filepath.Join(f.dir, "sha256", s.Name(), e.Name())
			if !old(p) {
				continue
			}
			if used, err := inUse(e.Name()); err != nil || used {
				if err != nil {
					return removed, err
				}
				continue
			}
			aside := filepath.Join(f.dir, "tmp", "sweep-"+e.Name())
			if os.Rename(p, aside) != nil {
				continue
			}
			used, err := inUse(e.Name())
			if err == nil && !used && old(aside) {
				if os.Remove(aside) == nil {
					removed++
				}
				continue
			}
			// Referenced again, or replaced by a fresh upload: put it back
			// unless an upload already did.
			if _, statErr := os.Stat(p); statErr == nil {
				os.Remove(aside)
			} else {
				_ = os.Rename(aside, p)
				_ = syncDir(filepath.Dir(p))
			}
			if err != nil {
				return removed, err
			}
		}
	}
	return removed, nil
}
