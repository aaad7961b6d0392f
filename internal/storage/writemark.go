package storage

import (
	"context"
	"sync/atomic"
)

// WriteMark records that a request's context wrote to the database. The
// server marks each request's context and, when the request wrote, brings
// this replica's in-memory views up to date (the change feed's handlers)
// before the answer leaves, so the caller's next request sees its own write
// at once on this replica; the change feed proper is for the other
// replicas. Writes made under a context without a mark (the sign-in log's
// batches, background tasks) are not noted.
type WriteMark struct{ written atomic.Bool }

// WriteMarkKey is the context key a request's *WriteMark is found under.
// The router answers it from its one value per request rather than a
// context of its own.
type WriteMarkKey struct{}

// WithWriteMark returns ctx carrying a fresh mark, and the mark.
func WithWriteMark(ctx context.Context) (context.Context, *WriteMark) {
	m := &WriteMark{}
	return context.WithValue(ctx, WriteMarkKey{}, m), m
}

// NoteWrite marks ctx's mark, if it has one: a backend calls it after each
// write it committed under ctx.
func NoteWrite(ctx context.Context) {
	if m, ok := ctx.Value(WriteMarkKey{}).(*WriteMark); ok {
		m.written.Store(true)
	}
}

// Take reports whether a write was noted since the last Take, and clears it.
func (m *WriteMark) Take() bool { return m.written.Swap(false) }
