package sql

import (
	"context"
	"database/sql"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/ward-id/ward/internal/storage"
)

// changeChannel is the PostgreSQL notification channel the change triggers
// signal on commit.
const changeChannel = "ward_changes"

// Changes returns up to limit changes after the given sequence number.
func (s *DB) Changes(ctx context.Context, after int64, limit int) ([]storage.Change, error) {
	if limit <= 0 || limit > maxPageSize {
		limit = maxPageSize
	}
	rows, err := s.query(ctx, `SELECT seq, tbl, key, created_at FROM changes WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, s.classify(err)
	}
	defer rows.Close()
	var out []storage.Change
	for rows.Next() {
		var c storage.Change
		var at int64
		if err := rows.Scan(&c.Seq, &c.Table, &c.Key, &at); err != nil {
			return nil, err
		}
		c.At = fromMicros(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// ChangeHead returns the highest sequence number written.
func (s *DB) ChangeHead(ctx context.Context) (int64, error) {
	var head sql.NullInt64
	if err := s.queryRow(ctx, `SELECT MAX(seq) FROM changes`).Scan(&head); err != nil {
		return 0, s.classify(err)
	}
	return head.Int64, nil
}

// PruneChanges deletes changes recorded before t.
func (s *DB) PruneChanges(ctx context.Context, before time.Time) (int64, error) {
	r, err := s.exec(ctx, `DELETE FROM changes WHERE created_at < ?`, micros(before))
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

// CountRoleAssignments counts the stored role assignments.
func (s *DB) CountRoleAssignments(ctx context.Context) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM role_assignments`).Scan(&n)
	return n, s.classify(err)
}

// WatchChanges listens for change notifications on a connection of its
// own. The channel also receives once after every (re)connection, since
// notifications sent while disconnected are lost and the caller must catch
// up from the feed. SQLite has no notifications: nil.
func (s *DB) WatchChanges(ctx context.Context) (<-chan struct{}, error) {
	if s.fl.name != "postgres" {
		return nil, nil
	}
	ch := make(chan struct{}, 1)
	signal := func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	go func() {
		for ctx.Err() == nil {
			err := s.listen(ctx, signal)
			if ctx.Err() != nil {
				return
			}
			_ = err // reconnect after a pause; the follower's poll covers the gap
			select {
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return ch, nil
}

// listen holds one connection in LISTEN until it fails or ctx ends.
func (s *DB) listen(ctx context.Context, signal func()) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pg := dc.(*stdlib.Conn).Conn()
		if _, err := pg.Exec(ctx, "LISTEN "+changeChannel); err != nil {
			return err
		}
		signal() // connected: catch up on what was missed
		for {
			if _, err := pg.WaitForNotification(ctx); err != nil {
				return err
			}
			signal()
		}
	})
}

// processLocks serializes WithLock within one process (SQLite, and the
// in-process part of PostgreSQL's advisory lock).
var processLocks sync.Map // key -> *sync.Mutex

// WithLock runs fn under a database-wide lock: a PostgreSQL session
// advisory lock on a connection held for the duration, or a process lock on
// SQLite (one process per database file).
func (s *DB) WithLock(ctx context.Context, key string, fn func(ctx context.Context) error) error {
	mu, _ := processLocks.LoadOrStore(key, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	if s.fl.name != "postgres" {
		return fn(ctx)
	}
	h := fnv.New64a()
	h.Write([]byte("ward:" + key))
	id := int64(h.Sum64() >> 1)
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, id); err != nil {
		return err
	}
	defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, id) }()
	return fn(ctx)
}

// GetSetting reads a setting; ErrNotFound when unset.
func (s *DB) GetSetting(ctx context.Context, name string) (string, error) {
	var v string
	err := s.queryRow(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&v)
	return v, s.classify(err)
}

// CreateSetting stores a setting unless one of that name exists
// (ErrAlreadyExists): the first replica to bootstrap wins.
func (s *DB) CreateSetting(ctx context.Context, name, value string) error {
	_, err := s.exec(ctx, `INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)`, name, value, micros(s.now()))
	return err
}

// PutSetting stores a setting, replacing one of that name.
func (s *DB) PutSetting(ctx context.Context, name, value string) error {
	_, err := s.exec(ctx, `INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, name, value, micros(s.now()))
	return err
}

// SQLDB exposes the connection pool for its statistics (/metrics).
func (s *DB) SQLDB() *sql.DB { return s.db }
