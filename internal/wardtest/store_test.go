package wardtest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ward-id/ward/internal/storage"
)

// TestGeneratedUpToDate fails when storage.Storage changed and
// faults_gen.go was not regenerated.
func TestGeneratedUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the generator")
	}
	out := filepath.Join(t.TempDir(), "faults_gen.go")
	cmd := exec.Command("go", "run", "./gen", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./gen: %v\n%s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("faults_gen.go")
	if err != nil || string(got) != string(want) {
		t.Fatal("faults_gen.go is stale: run go generate ./internal/wardtest")
	}
}

func TestFaults(t *testing.T) {
	ctx := context.Background()
	s := NewStore(t)
	if _, err := s.GetSubscription(ctx, SubscriptionID); err != nil {
		t.Fatalf("seeded subscription: %v", err)
	}
	boom := errors.New("disk on fire")
	s.Fail("GetSubscription", boom)
	if _, err := s.GetSubscription(ctx, SubscriptionID); !errors.Is(err, boom) {
		t.Fatalf("GetSubscription with a fault = %v, want %v", err, boom)
	}
	if _, err := s.GetTenant(ctx, TenantID); err != nil {
		t.Fatalf("GetTenant without a fault = %v", err)
	}
	s.Heal()
	if _, err := s.GetSubscription(ctx, SubscriptionID); err != nil {
		t.Fatalf("GetSubscription healed = %v", err)
	}
	if got := s.Calls("GetSubscription"); got != 3 {
		t.Fatalf("Calls(GetSubscription) = %d, want 3", got)
	}
	if _, err := s.GetTenant(ctx, "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("GetTenant(nope) = %v, want ErrNotFound", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Fail of a method storage.Storage lacks did not panic")
		}
	}()
	s.Fail("GetNothing", boom)
}
