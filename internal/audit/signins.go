// Package audit records Ward's sign-in log: every token issued or refused,
// with the reason.
package audit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/ward-id/ward/internal/storage"
)

// SignInLog writes sign-in records in the background so that a token
// response never waits for the log's disk write. Records queue in a bounded
// buffer; when it is full (the disk cannot keep up) records are dropped and
// counted rather than slowing token issuance. Close drains the queue.
type SignInLog struct {
	store   storage.Storage
	log     *slog.Logger
	ch      chan storage.SignIn
	dropped atomic.Int64
	done    chan struct{}
	once    sync.Once
}

// NewSignInLog starts the writer.
func NewSignInLog(store storage.Storage, log *slog.Logger, buffer int) *SignInLog {
	if buffer <= 0 {
		buffer = 4096
	}
	l := &SignInLog{store: store, log: log, ch: make(chan storage.SignIn, buffer), done: make(chan struct{})}
	go l.run()
	return l
}

// Record queues a sign-in record.
func (l *SignInLog) Record(s storage.SignIn) {
	select {
	case l.ch <- s:
	default:
		if n := l.dropped.Add(1); n == 1 || n%1000 == 0 {
			l.log.Warn("sign-in log queue full: records dropped", "dropped_total", n)
		}
	}
}

// Dropped reports how many records were dropped.
func (l *SignInLog) Dropped() int64 { return l.dropped.Load() }

func (l *SignInLog) run() {
	defer close(l.done)
	for s := range l.ch {
		if err := l.store.RecordSignIn(context.Background(), s); err != nil {
			l.log.Error("write sign-in record", "err", err, "client_id", s.ClientID)
		}
	}
}

// Close stops accepting records and waits for the queue to drain.
func (l *SignInLog) Close() {
	l.once.Do(func() { close(l.ch) })
	<-l.done
}
