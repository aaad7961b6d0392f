// Package logqueue puts a log's lines between the goroutines that write
// them and the file they go to: a request that logs appends its line to a
// bounded buffer and goes on, and one goroutine writes the buffer out.
// A slow or blocked stderr (a full pipe, a paused terminal, a log shipper
// that falls behind) then delays the log, not the requests.
//
// Lines are kept whole and in the order their writes returned: each Write
// appends one line under the queue's lock, and only the queue's goroutine
// writes to the output. Lines that may be lost (the access log) are
// dropped when the buffer is full, and counted (Dropped, and a warning
// line in the log every WarnEvery while it happens); lines that must not
// (warnings, errors) wait for room instead.
package logqueue

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for Config's zero values.
const (
	DefaultSize      = 1 << 20
	DefaultWarnEvery = 10 * time.Second
)

// Config configures a Queue.
type Config struct {
	// Out receives the lines; only the queue's goroutine writes to it.
	Out io.Writer
	// Size bounds the bytes waiting to be written (DefaultSize when 0):
	// a megabyte is several thousand access log lines, seconds of a
	// busy server's log.
	Size int
	// WarnEvery is how often, at most, the queue writes a warning line
	// saying how many lines it dropped since the last one
	// (DefaultWarnEvery when 0).
	WarnEvery time.Duration
}

// Queue is a bounded buffer of log lines and the goroutine that drains it.
type Queue struct {
	out       io.Writer
	size      int
	warnEvery time.Duration

	mu      sync.Mutex
	room    *sync.Cond // signalled when the drainer took the buffer
	pending []byte
	closed  bool

	wake    chan struct{} // cap 1: lines are pending
	stop    chan struct{}
	closing sync.Once
	done    chan struct{}
	dropped atomic.Uint64
	warned  uint64 // dropped at the last warning; the drainer's own
}

// New starts a Queue writing to cfg.Out. Close it to write what is left
// and stop its goroutine.
func New(cfg Config) *Queue {
	if cfg.Size <= 0 {
		cfg.Size = DefaultSize
	}
	if cfg.WarnEvery <= 0 {
		cfg.WarnEvery = DefaultWarnEvery
	}
	q := &Queue{out: cfg.Out, size: cfg.Size, warnEvery: cfg.WarnEvery,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	q.room = sync.NewCond(&q.mu)
	go q.drain()
	return q
}

// Drop returns a writer for lines the log may lose: a line that does not
// fit in the buffer is dropped and counted, and the write returns at once.
// Each Write must be one whole line (slog's handlers write one per call).
func (q *Queue) Drop() io.Writer { return dropWriter{q} }

// Wait returns a writer for lines the log must keep: a line that does not
// fit waits for the queue's goroutine to make room.
func (q *Queue) Wait() io.Writer { return waitWriter{q} }

// Dropped counts the lines dropped since New.
func (q *Queue) Dropped() uint64 { return q.dropped.Load() }

type dropWriter struct{ q *Queue }

func (w dropWriter) Write(p []byte) (int, error) { return w.q.write(p, false) }

type waitWriter struct{ q *Queue }

func (w waitWriter) Write(p []byte) (int, error) { return w.q.write(p, true) }

func (q *Queue) write(p []byte, wait bool) (int, error) {
	q.mu.Lock()
	if q.closed {
		// After Close nothing drains: write through, still one line at
		// a time.
		defer q.mu.Unlock()
		return q.out.Write(p)
	}
	for len(q.pending) > 0 && len(q.pending)+len(p) > q.size {
		if !wait {
			q.mu.Unlock()
			q.dropped.Add(1)
			return len(p), nil
		}
		q.room.Wait()
		if q.closed {
			defer q.mu.Unlock()
			return q.out.Write(p)
		}
	}
	q.pending = append(q.pending, p...)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

// drain writes the pending lines whenever there are some, and warns of
// dropped lines every warnEvery, until Close.
func (q *Queue) drain() {
	defer close(q.done)
	tick := time.NewTicker(q.warnEvery)
	defer tick.Stop()
	var spare []byte // the buffer the writers fill next
	for {
		select {
		case <-q.wake:
		case <-tick.C:
			q.warn()
			continue
		case <-q.stop:
			q.mu.Lock()
			rest := q.pending
			q.pending, q.closed = nil, true
			q.room.Broadcast()
			_, _ = q.out.Write(rest)
			q.warn()
			q.mu.Unlock()
			return
		}
		q.mu.Lock()
		b := q.pending
		q.pending = spare[:0]
		q.room.Broadcast()
		q.mu.Unlock()
		_, _ = q.out.Write(b)
		if cap(b) > 4*q.size { // a line larger than the buffer grew it
			b = nil
		}
		spare = b
	}
}

// warn writes one warning line when lines were dropped since the last.
// Only the drainer writes to out, so the line is whole too.
func (q *Queue) warn() {
	n := q.dropped.Load()
	if n == q.warned {
		return
	}
	var line bytes.Buffer
	slog.New(slog.NewTextHandler(&line, nil)).LogAttrs(context.Background(), slog.LevelWarn,
		"log lines dropped: stderr did not keep up with the log, and the requests were not kept waiting for it",
		slog.Uint64("dropped", n-q.warned), slog.Uint64("dropped_total", n))
	q.warned = n
	_, _ = q.out.Write(line.Bytes())
}

// Close writes the pending lines and stops the queue's goroutine; later
// writes go straight to Out. It returns when the lines are written.
func (q *Queue) Close() error {
	q.closing.Do(func() { close(q.stop) })
	<-q.done
	return nil
}
