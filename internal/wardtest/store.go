// Package wardtest opens the real store for tests: SQLite in the test's
// temporary directory, a tenant and a subscription seeded, and faults that
// a test can switch on per storage method (a fake built on the real store,
// as SPIRE's fakedatastore is). The real handler graph on top of it is
// server/servertest.
package wardtest

//go:generate go run ./gen

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ward-id/ward/internal/storage"
	sqlstore "github.com/ward-id/ward/internal/storage/sql"
)

// The tenant and subscription NewStore seeds.
const (
	TenantID       = "11111111-1111-1111-1111-111111111111"
	SubscriptionID = "22222222-2222-2222-2222-222222222222"
)

// Store is the real SQLite store with injectable faults. Its zero faults
// make it behave exactly as the store it wraps.
type Store struct {
	storage.Storage

	mu     sync.Mutex
	faults map[string]error
	calls  map[string]int
}

var _ storage.Storage = (*Store)(nil)

// OpenSQLite opens an empty SQLite store in t's temporary directory, closed
// when the test ends.
func OpenSQLite(t testing.TB) *Store {
	t.Helper()
	db, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "ward.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return Wrap(db)
}

// NewStore opens a SQLite store as OpenSQLite does and seeds TenantID and
// SubscriptionID (enabled), what nearly every handler needs first.
func NewStore(t testing.TB) *Store {
	t.Helper()
	s := OpenSQLite(t)
	ctx := context.Background()
	if err := s.CreateTenant(ctx, storage.Tenant{ID: TenantID}); err != nil {
		t.Fatalf("seed tenant: %v", err)
	}
	if err := s.CreateSubscription(ctx, storage.Subscription{ID: SubscriptionID, TenantID: TenantID, State: "Enabled"}); err != nil {
		t.Fatalf("seed subscription: %v", err)
	}
	return s
}

// Wrap puts fault injection over any store (the server tests wrap the
// store the server opens itself).
func Wrap(s storage.Storage) *Store {
	return &Store{Storage: s, faults: map[string]error{}, calls: map[string]int{}}
}

// Fail makes every later call of the storage method named method return err,
// until Heal. It panics when storage.Storage has no such method, so a
// renamed method fails the test that injects into it.
func (s *Store) Fail(method string, err error) {
	if !storageMethods[method] {
		panic(fmt.Sprintf("wardtest: storage.Storage has no method %q", method))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = err
}

// Heal removes every fault: the store behaves as the real one again.
func (s *Store) Heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// Calls reports how often method was called, failed calls included.
func (s *Store) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

func (s *Store) fault(method string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[method]++
	return s.faults[method]
}
