package sql

import (
	"context"
	"database/sql"
	"hash/fnv"
	"math/rand/v2"
	"time"
)

// rowLocks queue this process's writers of one row before they open their
// transaction. On PostgreSQL every write runs SERIALIZABLE: writers of the
// same row that race each other fail with a serialization error and retry,
// and a burst of them (every pod of a rollout updating one identity, a
// load test) used to exhaust the retries and answer 409. Queued here they
// commit one after the other; only writers on other replicas still race,
// and those retry. Rows hash onto a fixed set of stripes, so two rows
// rarely share one and memory stays constant.
type rowLocks [256]chan struct{}

func newRowLocks() *rowLocks {
	var l rowLocks
	for i := range l {
		l[i] = make(chan struct{}, 1)
	}
	return &l
}

// lock waits for the row's stripe (or for ctx) and returns its release.
func (l *rowLocks) lock(ctx context.Context, key string) (func(), error) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	c := l[h.Sum32()%uint32(len(l))]
	select {
	case c <- struct{}{}:
		return func() { <-c }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// txRow runs fn in a transaction as tx does, after queueing behind this
// process's other writers of the row named by key (PostgreSQL only:
// SQLite takes one writer at a time already).
func (s *DB) txRow(ctx context.Context, key string, fn func(tx *sql.Tx) error) error {
	if s.rows != nil {
		unlock, err := s.rows.lock(ctx, key)
		if err != nil {
			return err
		}
		defer unlock()
	}
	return s.tx(ctx, fn)
}

// retryPause is how long the attempt-th retry after a serialization
// failure waits: exponential from 2 ms, capped at 50 ms, with full jitter
// so that writers that collided do not collide again in step.
func retryPause(attempt int) time.Duration {
	d := min(2*time.Millisecond<<attempt, 50*time.Millisecond)
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

// updateRow is what every Update* method does, in one transaction queued
// behind this process's other writers of the row named by lock: read the
// row, let fn change it, write it back. write answers the row as stored.
func updateRow[T any](ctx context.Context, s *DB, lock string, read func(*sql.Tx) (T, error), fn func(T) (T, error), write func(tx *sql.Tx, old, nu T) (T, error)) (T, error) {
	var out T
	err := s.txRow(ctx, lock, func(tx *sql.Tx) error {
		old, err := read(tx)
		if err != nil {
			return err
		}
		nu, err := fn(old)
		if err != nil {
			return err
		}
		out, err = write(tx, old, nu)
		return err
	})
	return out, err
}
