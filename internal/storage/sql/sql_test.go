package sql

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ward-id/ward/internal/postgrestest"
	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/storage/storagetest"
)

func TestSQLiteConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Storage {
		s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "ward.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestPostgresConformance(t *testing.T) {
	dsn := postgrestest.Start(t)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var n atomic.Int64
	storagetest.Run(t, func(t *testing.T) storage.Storage {
		name := fmt.Sprintf("ward_%d", n.Add(1))
		if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
			t.Fatal(err)
		}
		s, err := OpenPostgres(context.Background(), strings.Replace(dsn, "/postgres?", "/"+name+"?", 1))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestMigrationsAreIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ward.db")
	for i := 0; i < 2; i++ {
		s, err := OpenSQLite(context.Background(), path)
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		s.Close()
	}
}

func TestSplitStatements(t *testing.T) {
	got := splitStatements("-- c\nCREATE TABLE a (x TEXT);\nCREATE INDEX i ON a(x);\n")
	if len(got) != 2 || got[0] != "CREATE TABLE a (x TEXT)" {
		t.Fatalf("got %q", got)
	}
}

// TestWarmOpensThePool: OpenPostgres (what one-shot commands use) opens
// only what it needs; Warm (what ward serve calls) opens the whole pool,
// which then stays open; on SQLite Warm does nothing.
func TestWarmOpensThePool(t *testing.T) {
	ctx := context.Background()
	lite, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "ward.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	if err := lite.Warm(ctx); err != nil {
		t.Fatalf("Warm on SQLite: %v", err)
	}

	dsn := postgrestest.Start(t)
	s, err := OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := s.db.Stats().OpenConnections; n >= postgresConns {
		t.Fatalf("OpenPostgres opened %d connections, want fewer than the pool's %d", n, postgresConns)
	}
	if err := s.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.db.Stats(); st.OpenConnections != postgresConns || st.Idle != postgresConns {
		t.Fatalf("after Warm: %d open, %d idle; want %d of each", st.OpenConnections, st.Idle, postgresConns)
	}
	// Every backend of the pool has planned the statement that reads every
	// table (its last query, as PostgreSQL reports it from another
	// connection), so none fills its catalog caches on a request.
	watch, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	var tables []string
	rows, err := watch.QueryContext(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	// PostgreSQL shows the first 1,024 bytes of a query: compare those.
	var warmed int
	if err := watch.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND left(query, 1000) = left($1, 1000)`, warmQuery(tables)).Scan(&warmed); err != nil {
		t.Fatal(err)
	}
	if len(tables) < 10 || warmed != postgresConns {
		t.Fatalf("%d of the pool's %d backends planned the statement reading the %d tables; want every one", warmed, postgresConns, len(tables))
	}
}

// TestWarmQuery: the warming statement reads every table it is given, each
// name quoted as an identifier.
func TestWarmQuery(t *testing.T) {
	got := warmQuery([]string{"identities", `odd"name`})
	want := `(SELECT 1 FROM "identities" LIMIT 0) UNION ALL (SELECT 1 FROM "odd""name" LIMIT 0)`
	if got != want {
		t.Errorf("warmQuery = %s, want %s", got, want)
	}
}
