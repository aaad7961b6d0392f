package resources

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/storage"
	sqlstore "github.com/ward-id/ward/internal/storage/sql"
)

const (
	tenant = "11111111-1111-1111-1111-111111111111"
	sub    = "22222222-2222-2222-2222-222222222222"
)

func newService(t *testing.T) *Service {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if err := st.CreateTenant(ctx, storage.Tenant{ID: tenant}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSubscription(ctx, storage.Subscription{ID: sub, TenantID: tenant, State: "Enabled"}); err != nil {
		t.Fatal(err)
	}
	return New(Config{Store: st})
}

func code(err error) string {
	if e, ok := armerr.As(err); ok {
		return e.Code
	}
	return ""
}

func TestValidateGroupName(t *testing.T) {
	for _, ok := range []string{"a", "My_RG-1.(x)", strings.Repeat("r", 90), "grüße"} {
		if err := ValidateGroupName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "ends.", "has space", "a/b", strings.Repeat("r", 91)} {
		if err := ValidateGroupName(bad); code(err) != armerr.CodeInvalidResourceGroup {
			t.Errorf("%q: %v, want %s", bad, err, armerr.CodeInvalidResourceGroup)
		}
	}
}

func TestPutGroupLocationIsImmutable(t *testing.T) {
	svc := newService(t)
	ctx := context.Background()
	if _, created, err := svc.PutGroup(ctx, sub, "rg", GroupSpec{Location: "West Europe"}); err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	if _, _, err := svc.PutGroup(ctx, sub, "rg", GroupSpec{Location: "eastus"}); code(err) != "InvalidResourceGroupLocation" {
		t.Fatalf("move: %v", err)
	}
	if _, _, err := svc.PutGroup(ctx, "33333333-3333-3333-3333-333333333333", "rg", GroupSpec{Location: "eastus"}); code(err) != armerr.CodeSubscriptionNotFound {
		t.Fatalf("unknown subscription: %v", err)
	}
}
