// Package slowtrace keeps the last moments of Go's execution trace in
// memory (the runtime's flight recorder) and writes them to a file when a
// request takes longer than a threshold, so the one slow request in ten
// thousand can be read afterwards in `go tool trace`: which goroutine ran
// it, when it waited for a CPU, for the garbage collector, for a lock or
// for the database, with the request's own task and regions (annotated by
// the router and the token service).
//
// Recording costs a few percent of CPU while on, so it is off unless an
// operator asks (ward serve --trace-slow); snapshots are rate-limited and
// the directory keeps only the newest few.
package slowtrace

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime/trace"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Config says when to snapshot and where.
type Config struct {
	Threshold time.Duration // a request at least this slow is captured
	Dir       string        // where snapshots go (created)
	// Window is how much trace history a snapshot holds (default 2 s);
	// MaxBytes bounds the memory it takes (default 64 MiB).
	Window   time.Duration
	MaxBytes uint64
	// Every bounds how often a snapshot is written (default 10 s): a
	// burst of slow requests shares one.
	Every  time.Duration
	Keep   int // snapshots kept in Dir, newest first (default 10)
	Logger *slog.Logger
}

// Recorder watches request durations. Its methods are safe for concurrent
// use; a nil *Recorder does nothing, so callers need no checks.
type Recorder struct {
	cfg     Config
	fr      *trace.FlightRecorder
	last    atomic.Int64 // unix nanos of the last snapshot
	writing sync.Mutex
	written atomic.Uint64
}

// Start starts the flight recorder.
func Start(cfg Config) (*Recorder, error) {
	if cfg.Threshold <= 0 {
		return nil, fmt.Errorf("slow-request threshold must be positive, got %v", cfg.Threshold)
	}
	if cfg.Window <= 0 {
		cfg.Window = 2 * time.Second
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = 64 << 20
	}
	if cfg.Every <= 0 {
		cfg.Every = 10 * time.Second
	}
	if cfg.Keep <= 0 {
		cfg.Keep = 10
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("slow-request traces: %w", err)
	}
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: cfg.Window, MaxBytes: cfg.MaxBytes})
	if err := fr.Start(); err != nil {
		return nil, fmt.Errorf("start the execution-trace flight recorder: %w (is another trace running?)", err)
	}
	return &Recorder{cfg: cfg, fr: fr}, nil
}

// Stop stops recording.
func (r *Recorder) Stop() {
	if r != nil {
		r.writing.Lock()
		r.fr.Stop()
		r.writing.Unlock()
	}
}

// Written returns how many snapshots were written.
func (r *Recorder) Written() uint64 {
	if r == nil {
		return 0
	}
	return r.written.Load()
}

// Observe reports that a request named what took d. A slow one writes a
// snapshot in the background, unless one was written less than Every ago.
func (r *Recorder) Observe(what string, d time.Duration) {
	if r == nil || d < r.cfg.Threshold {
		return
	}
	now := time.Now()
	last := r.last.Load()
	if now.UnixNano()-last < int64(r.cfg.Every) || !r.last.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	// The request has just ended: its events are in the window. Writing
	// takes milliseconds; the request's response is already on its way.
	go r.snapshot(what, d, now)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func (r *Recorder) snapshot(what string, d time.Duration, at time.Time) {
	r.writing.Lock()
	defer r.writing.Unlock()
	if !r.fr.Enabled() {
		return
	}
	name := fmt.Sprintf("slow-%s-%dms-%s.trace", at.UTC().Format("20060102T150405.000"), d.Milliseconds(), unsafeName.ReplaceAllString(what, "_"))
	if len(name) > 160 {
		name = name[:154] + ".trace"
	}
	path := filepath.Join(r.cfg.Dir, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		r.cfg.Logger.Warn("slow request: cannot write its trace", "err", err)
		return
	}
	_, werr := r.fr.WriteTo(f)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		r.cfg.Logger.Warn("slow request: writing its trace failed", "path", path, "err", werr)
		_ = os.Remove(path)
		return
	}
	r.cfg.Logger.Warn("slow request traced: read it with `go tool trace "+path+"` (User-defined tasks)", "request", what, "took", d)
	r.prune()
	r.written.Add(1)
}

// prune keeps the newest Keep snapshots (names sort by time).
func (r *Recorder) prune() {
	old, _ := filepath.Glob(filepath.Join(r.cfg.Dir, "slow-*.trace"))
	sort.Strings(old)
	for len(old) > r.cfg.Keep {
		_ = os.Remove(old[0])
		old = old[1:]
	}
}
