package sql

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

// An ARM client may hold a nextLink from a server before listPage, whose
// $skiptoken carries the bare lower-case resource ID of the last item: the
// lists that handed those out (groups, identities, federated credentials)
// still continue after it; the others refuse it.
func TestRawKeyCursorsOfOlderServers(t *testing.T) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "ward.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const tenant, sub = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateTenant(ctx, storage.Tenant{ID: tenant, CreatedAt: now}))
	must(s.CreateSubscription(ctx, storage.Subscription{ID: sub, TenantID: tenant, State: "Enabled", CreatedAt: now}))
	for i := 0; i < 3; i++ {
		_, err := s.PutResourceGroup(ctx, storage.ResourceGroup{SubscriptionID: sub, Name: fmt.Sprintf("RG-%d", i), Location: "westeurope", CreatedAt: now, UpdatedAt: now})
		must(err)
		must(s.CreateIdentity(ctx, storage.Identity{SubscriptionID: sub, ResourceGroup: "rg-0", Name: fmt.Sprintf("id-%d", i), Location: "westeurope",
			TenantID: tenant, ClientID: fmt.Sprintf("c%d", i), PrincipalID: fmt.Sprintf("p%d", i), IsolationScope: "None", CreatedAt: now, UpdatedAt: now}))
	}
	ref := storage.IdentityRef{SubscriptionID: sub, ResourceGroup: "rg-0", Name: "id-0"}
	for i := 0; i < 3; i++ {
		_, err := s.PutFederatedCredential(ctx, storage.FederatedCredential{Identity: ref, Name: fmt.Sprintf("fic-%d", i), Issuer: "https://issuer", Subject: fmt.Sprintf("s%d", i),
			Audiences: []string{"api://AzureADTokenExchange"}, CreatedAt: now, UpdatedAt: now}, nil)
		must(err)
	}

	for _, tc := range []struct {
		what string
		list func(storage.Page) ([]string, string, error)
		raw  string
		want string
	}{
		{"groups", func(p storage.Page) ([]string, string, error) {
			items, next, err := s.ListResourceGroups(ctx, sub, p)
			return names(items, func(x storage.ResourceGroup) string { return x.Name }), next, err
		}, resourceid.Key(resourceid.ResourceGroupID(sub, "rg-0")), "[RG-1 RG-2]"},
		{"identities", func(p storage.Page) ([]string, string, error) {
			items, next, err := s.ListIdentities(ctx, storage.IdentityFilter{SubscriptionID: sub}, p)
			return names(items, func(x storage.Identity) string { return x.Name }), next, err
		}, resourceid.Key(resourceid.IdentityID(sub, "rg-0", "id-1")), "[id-2]"},
		{"federated credentials", func(p storage.Page) ([]string, string, error) {
			items, next, err := s.ListFederatedCredentials(ctx, ref, p)
			return names(items, func(x storage.FederatedCredential) string { return x.Name }), next, err
		}, resourceid.Key(resourceid.FederatedCredentialID(sub, "rg-0", "id-0", "fic-0")), "[fic-1 fic-2]"},
	} {
		t.Run(tc.what, func(t *testing.T) {
			got, next, err := tc.list(storage.Page{After: tc.raw})
			if err != nil || fmt.Sprint(got) != tc.want || next != "" {
				t.Fatalf("after raw key %q: got %v, next %q, %v; want %s", tc.raw, got, next, err, tc.want)
			}
			// A page of the new helper hands out an encoded cursor, which
			// continues the same way.
			first, next, err := tc.list(storage.Page{Limit: 1})
			if err != nil || next == "" || next[0] == '/' {
				t.Fatalf("first page: %v, next %q, %v", first, next, err)
			}
			if _, _, err := tc.list(storage.Page{After: next}); err != nil {
				t.Fatalf("after cursor %q: %v", next, err)
			}
		})
	}

	if _, _, err := s.ListVaults(ctx, sub, "", storage.Page{After: "/subscriptions/" + sub}); err == nil {
		t.Error("vaults accepted a raw key cursor; only the lists that once handed them out may")
	}
}

func names[T any](items []T, name func(T) string) []string {
	out := []string{}
	for _, x := range items {
		out = append(out, name(x))
	}
	return out
}
