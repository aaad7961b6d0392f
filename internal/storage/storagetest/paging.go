package storagetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/storage"
)

// listAll reads every page of a list with storage.All.
func listAll[T any](t *testing.T, list func(storage.Page) ([]T, string, error)) ([]T, error) {
	t.Helper()
	return storage.All(list)
}

// pageThrough reads a list two items at a time and returns the keys of its
// items in order; it fails when a page is over the limit, paging does not
// end, or an empty list is nil.
func pageThrough[T any](t *testing.T, what string, key func(T) string, list func(storage.Page) ([]T, string, error)) []string {
	t.Helper()
	var got []string
	p := storage.Page{Limit: 2}
	for pages := 0; ; pages++ {
		items, next, err := list(p)
		if err != nil {
			t.Fatalf("%s: page %d: %v", what, pages, err)
		}
		if items == nil || len(items) > 2 {
			t.Fatalf("%s: page %d has %d items (nil %v), limit 2", what, pages, len(items), items == nil)
		}
		for _, it := range items {
			got = append(got, key(it))
		}
		if next == "" {
			return got
		}
		if pages > 20 {
			t.Fatalf("%s: paging does not end", what)
		}
		p.After = next
	}
}

// testListPaging: every paged list returns each item once, in its order,
// two at a time; a cursor that no page returned is refused.
func testListPaging(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seed(t, s)
	seedGroup(t, s, "rg")
	seedGroup(t, s, "other")
	var vaults, clusters, machines, secrets []string
	for i := 0; i < 5; i++ {
		name := fmt.Sprintf("kv-%02d", i)
		_, err := s.PutVault(ctx, storage.Vault{SubscriptionID: subID, ResourceGroup: "rg", Name: name, Location: "westeurope", TenantID: tenantID, SKU: "standard", CreatedAt: now, UpdatedAt: now})
		must(t, err)
		vaults = append(vaults, name)
		_, err = s.PutCluster(ctx, storage.Cluster{ID: uuid.NewString(), SubscriptionID: subID, ResourceGroup: "rg", Name: fmt.Sprintf("aks-%02d", i), Location: "westeurope", Spec: storage.ClusterSpec{}, CreatedAt: now, UpdatedAt: now})
		must(t, err)
		clusters = append(clusters, fmt.Sprintf("aks-%02d", i))
		must(t, s.CreateMachine(ctx, storage.Machine{ID: uuid.NewString(), SubscriptionID: subID, ResourceGroup: "rg", Name: fmt.Sprintf("m-%02d", i), Location: "westeurope", Spec: `{}`, CreatedAt: now, UpdatedAt: now}))
		machines = append(machines, fmt.Sprintf("m-%02d", i))
		// Three versions each; the list shows the newest only.
		for v := 1; v <= 3; v++ {
			must(t, s.AddSecretVersion(ctx, storage.Secret{Vault: "kv-00", Name: fmt.Sprintf("s-%02d", i), Version: fmt.Sprintf("%032d", v),
				EncryptedValue: []byte{byte(v)}, Enabled: true, CreatedAt: now.Add(time.Duration(v) * time.Second), UpdatedAt: now}))
		}
		secrets = append(secrets, fmt.Sprintf("s-%02d/%032d", i, 3))
	}
	// Elsewhere, not listed in rg.
	_, err := s.PutVault(ctx, storage.Vault{SubscriptionID: subID, ResourceGroup: "other", Name: "kv-other", Location: "westeurope", TenantID: tenantID, SKU: "standard", CreatedAt: now, UpdatedAt: now})
	must(t, err)

	for _, tc := range []struct {
		what      string
		got, want []string
	}{
		{"vaults", pageThrough(t, "vaults", func(v storage.Vault) string { return v.Name },
			func(p storage.Page) ([]storage.Vault, string, error) { return s.ListVaults(ctx, subID, "rg", p) }), vaults},
		{"vaults of the subscription", pageThrough(t, "vaults", func(v storage.Vault) string { return v.Name },
			func(p storage.Page) ([]storage.Vault, string, error) { return s.ListVaults(ctx, subID, "", p) }), append(append([]string{}, vaults...), "kv-other")},
		{"clusters", pageThrough(t, "clusters", func(c storage.Cluster) string { return c.Name },
			func(p storage.Page) ([]storage.Cluster, string, error) { return s.ListClusters(ctx, subID, "rg", p) }), clusters},
		{"machines", pageThrough(t, "machines", func(m storage.Machine) string { return m.Name },
			func(p storage.Page) ([]storage.Machine, string, error) { return s.ListMachines(ctx, subID, "", p) }), machines},
		{"secrets", pageThrough(t, "secrets", func(x storage.Secret) string { return x.Name + "/" + x.Version },
			func(p storage.Page) ([]storage.Secret, string, error) { return s.ListSecrets(ctx, "KV-00", p) }), secrets},
		{"secrets of an empty vault", pageThrough(t, "secrets", func(x storage.Secret) string { return x.Name },
			func(p storage.Page) ([]storage.Secret, string, error) { return s.ListSecrets(ctx, "kv-01", p) }), nil},
	} {
		if fmt.Sprint(tc.got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: paged %v, want %v", tc.what, tc.got, tc.want)
		}
	}

	// Role assignments are ordered by scope, then ID: a cursor with two keys.
	scopes := []string{"/", "/subscriptions/" + subID, "/subscriptions/" + subID + "/resourceGroups/rg"}
	var assignments []string
	for _, scope := range scopes {
		for i := 0; i < 3; i++ {
			// The same IDs under every scope would collide: IDs are global.
			id := uuid.NewString()
			a := storage.RoleAssignment{ID: id, Scope: scope, PrincipalID: uuid.NewString(), PrincipalType: "ServicePrincipal",
				RoleDefinitionID: "acdd72a7-3385-48ef-bd42-f606fba81ae7", CreatedAt: now, UpdatedAt: now}
			must(t, s.CreateRoleAssignment(ctx, a))
			assignments = append(assignments, id)
		}
	}
	got := pageThrough(t, "role assignments", func(a storage.RoleAssignment) string { return a.ID },
		func(p storage.Page) ([]storage.RoleAssignment, string, error) { return s.ListRoleAssignments(ctx, p) })
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for _, id := range assignments {
		if seen[id] != 1 {
			t.Errorf("role assignment %s listed %d times, want once (paged %v)", id, seen[id], got)
		}
	}
	if len(got) != len(assignments) {
		t.Errorf("paged %d role assignments, want %d", len(got), len(assignments))
	}

	_, _, err = s.ListVaults(ctx, subID, "rg", storage.Page{After: "not a cursor"})
	if err == nil {
		t.Error("a cursor no page returned was accepted")
	}
}
