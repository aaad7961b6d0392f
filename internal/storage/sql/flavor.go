package sql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"golang.org/x/sync/errgroup"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// flavor is what differs between the SQL databases Ward runs on.
type flavor struct {
	name            string
	txOptions       *sql.TxOptions
	rebind          func(q string) string
	isUnique        func(error) bool
	isForeignKey    func(error) bool
	isSerialization func(error) bool
}

var sqliteFlavor = flavor{
	name: "sqlite",
	// SQLite serializes writers itself; every transaction begins IMMEDIATE
	// (see the DSN) so a reader never has to upgrade its lock mid-way.
	txOptions: nil,
	rebind:    func(q string) string { return q },
	isUnique: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && (e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
	},
	isForeignKey: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	},
	isSerialization: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && (e.Code()&0xff == sqlite3.SQLITE_BUSY)
	},
}

var postgresFlavor = flavor{
	name:      "postgres",
	txOptions: &sql.TxOptions{Isolation: sql.LevelSerializable},
	rebind: func(q string) string {
		var b strings.Builder
		n := 0
		for _, r := range q {
			if r == '?' {
				n++
				b.WriteString("$" + strconv.Itoa(n))
				continue
			}
			b.WriteRune(r)
		}
		return b.String()
	},
	isUnique:        func(err error) bool { return pgCode(err) == "23505" },
	isForeignKey:    func(err error) bool { return pgCode(err) == "23503" },
	isSerialization: func(err error) bool { c := pgCode(err); return c == "40001" || c == "40P01" },
}

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// OpenSQLite opens (creating if needed) the SQLite database at path, in WAL
// mode with synchronous=FULL so that a write acknowledged to a client
// survives a crash or kill -9.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return open(ctx, sqliteFlavor, db)
}

// OpenPostgres connects to PostgreSQL with a libpq-style URL or DSN. Writes
// run in SERIALIZABLE transactions and are retried on serialization failure.
func OpenPostgres(ctx context.Context, dsn string) (*DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	db.SetMaxOpenConns(postgresConns)
	db.SetMaxIdleConns(postgresConns)
	return open(ctx, postgresFlavor, db)
}

// postgresConns is the pool's size per replica: several replicas share
// the server's max_connections (100 by default); one more connection is
// held by the change feed's LISTEN.
const postgresConns = 16

// Warm opens the pool's connections now, fills each backend's catalog
// caches, and keeps the connections idle, for a server about to take
// requests; on SQLite it does nothing. Opening a PostgreSQL connection is a
// new backend (a fork, authentication, its caches filled on first use), and
// a pool that grows under a burst opens several at once while the requests
// behind them wait: measured with ward bench on PostgreSQL, the first rows
// that needed more than a few connections had a p99 of 250–500 ms. The pool
// has no idle timeout, which would bring that back after every quiet spell.
// One-shot commands do not call it.
func (s *DB) Warm(ctx context.Context) error {
	if s.fl.name != "postgres" {
		return nil
	}
	conns := make([]*sql.Conn, 0, postgresConns)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range postgresConns {
		c, err := s.db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("open the PostgreSQL pool's connections: %w", err)
		}
		conns = append(conns, c)
	}
	return warmCatalog(ctx, conns)
}

// warmCatalog has every connection's backend plan one statement that
// reads every table of the schema, all backends at once, so that each loads
// the tables' and their indexes' catalog entries now rather than on the
// first request that needs them. Without it, a burst that reached idle
// backends for the first time after Warm still had a handler p99 of 10–100
// ms in ward bench's paced ARM GET (PostgreSQL, three runs); with it, 2–10.
// It costs a few hundred milliseconds of the backends' CPU at start,
// shared over the connections.
func warmCatalog(ctx context.Context, conns []*sql.Conn) error {
	rows, err := conns[0].QueryContext(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
	if err != nil {
		return fmt.Errorf("list the schema's tables to warm the pool: %w", err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return fmt.Errorf("list the schema's tables to warm the pool: %w", err)
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(tables) == 0 {
		return err
	}
	q := warmQuery(tables)
	var g errgroup.Group
	for _, c := range conns {
		g.Go(func() error {
			if _, err := c.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("warm the pool's connections: %w", err)
			}
			return nil
		})
	}
	return g.Wait()
}

// warmQuery is one statement that reads each of tables (nothing: LIMIT 0),
// so planning it opens every table and its indexes.
func warmQuery(tables []string) string {
	parts := make([]string, len(tables))
	for i, t := range tables {
		parts[i] = "(SELECT 1 FROM " + pgx.Identifier{t}.Sanitize() + " LIMIT 0)"
	}
	return strings.Join(parts, " UNION ALL ")
}

// forUpdate returns the row-lock suffix for a SELECT; SQLite has none (its
// IMMEDIATE transactions already exclude other writers).
func (f flavor) forUpdate() string {
	if f.name == "postgres" {
		return " FOR UPDATE"
	}
	return ""
}
