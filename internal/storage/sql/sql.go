// Package sql is Ward's SQL storage backend. One code path serves SQLite
// (embedded, the default) and PostgreSQL (for several replicas); the small
// flavor type holds what differs between them: driver, placeholders,
// transaction isolation and error classification.
package sql

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ward-id/ward/internal/storage"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// defaultPageSize bounds every list; callers may ask for less.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
	// txRetries is how often a transaction that lost a serialization race is
	// retried before ErrConflict is returned to the caller.
	txRetries = 8
)

// DB is a storage.Storage on a SQL database.
type DB struct {
	db  *sql.DB
	fl  flavor
	now func() time.Time
	// stmts caches prepared statements of the hot read paths (token
	// requests): parsing SQL costs more than running these queries.
	stmts sync.Map  // query -> *sql.Stmt
	rows  *rowLocks // PostgreSQL: this process's writers of one row queue
}

var _ storage.Storage = (*DB)(nil)

func open(ctx context.Context, fl flavor, db *sql.DB) (*DB, error) {
	s := &DB{db: db, fl: fl, now: time.Now}
	if fl.name == "postgres" {
		s.rows = newRowLocks()
	}
	// Under the database-wide lock: replicas that start together on an
	// empty database migrate it once, one after the other.
	if err := s.WithLock(ctx, "migrate", s.migrate); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the database.
func (s *DB) Close() error {
	s.stmts.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
	return s.db.Close()
}

// prepared returns a cached prepared statement for q (written with ?).
func (s *DB) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, s.fl.rebind(q))
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(q, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// queryRow runs a single-row read through the statement cache.
func (s *DB) queryRow(ctx context.Context, q string, args ...any) *rowResult {
	st, err := s.prepared(ctx, q)
	if err != nil {
		return &rowResult{err: err}
	}
	return &rowResult{row: st.QueryRowContext(ctx, args...)}
}

// query runs a multi-row read through the statement cache.
func (s *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := s.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

type rowResult struct {
	row *sql.Row
	err error
}

func (r *rowResult) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.row.Scan(dest...)
}

// migrate applies the embedded numbered migrations not yet recorded.
func (s *DB) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	seen := map[int]string{}
	for _, e := range entries {
		num, rest, ok := strings.Cut(e.Name(), "_")
		// NNNN_name.sqlite.sql and NNNN_name.postgres.sql hold what only
		// one database understands (triggers); NNNN_name.sql is for both.
		if base := strings.TrimSuffix(rest, ".sql"); strings.HasSuffix(base, ".sqlite") || strings.HasSuffix(base, ".postgres") {
			if !strings.HasSuffix(base, "."+s.fl.name) {
				continue
			}
		}
		if !ok {
			return fmt.Errorf("migration %s: name must be NNNN_description.sql", e.Name())
		}
		version, err := strconv.Atoi(num)
		if err != nil {
			return fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		if prev, dup := seen[version]; dup {
			return fmt.Errorf("migrations %s and %s share version %d: renumber one", prev, e.Name(), version)
		}
		seen[version] = e.Name()
		body, err := migrationFS.ReadFile("migrations/" + e.Name())
		if err != nil {
			return err
		}
		err = s.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, s.fl.rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for _, stmt := range splitStatements(string(body)) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("migration %s: %w", e.Name(), err)
				}
			}
			_, err := tx.ExecContext(ctx, s.fl.rebind(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), version, s.now().UnixMicro())
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// splitStatements splits a migration on semicolons that end a line, after
// dropping "--" comment lines. Migrations hold no procedural code.
func splitStatements(src string) []string {
	var b strings.Builder
	for _, line := range strings.Split(src, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	var out []string
	for _, stmt := range strings.Split(b.String(), ";\n") {
		if stmt = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(stmt), ";")); stmt != "" {
			out = append(out, stmt)
		}
	}
	return out
}

// tx runs fn in a transaction at the flavor's isolation level, retrying when
// the database reports a serialization failure.
func (s *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var err error
	for attempt := 0; attempt < txRetries; attempt++ {
		err = s.tryTx(ctx, fn)
		if !s.fl.isSerialization(err) {
			return s.classify(err)
		}
		if ctx.Err() != nil {
			break
		}
		time.Sleep(retryPause(attempt))
	}
	return fmt.Errorf("%w: %v", storage.ErrConflict, err)
}

func (s *DB) tryTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, s.fl.txOptions)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	storage.NoteWrite(ctx)
	return nil
}

// classify maps driver errors onto storage sentinels; sentinels pass through.
func (s *DB) classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrNotFound), errors.Is(err, storage.ErrAlreadyExists),
		errors.Is(err, storage.ErrConflict), errors.Is(err, storage.ErrParentNotFound):
		return err
	case errors.Is(err, sql.ErrNoRows):
		return storage.ErrNotFound
	case s.fl.isUnique(err):
		return fmt.Errorf("%w: %v", storage.ErrAlreadyExists, err)
	case s.fl.isForeignKey(err):
		return fmt.Errorf("%w: %v", storage.ErrParentNotFound, err)
	}
	return err
}

func (s *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	r, err := s.db.ExecContext(ctx, s.fl.rebind(q), args...)
	if err == nil {
		storage.NoteWrite(ctx)
	}
	return r, s.classify(err)
}

func pageLimit(p storage.Page) int {
	switch {
	case p.Limit <= 0:
		return defaultPageSize
	case p.Limit > maxPageSize:
		return maxPageSize
	}
	return p.Limit
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}
