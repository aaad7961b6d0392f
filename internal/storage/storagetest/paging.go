package storagetest

import (
	"context"
	"fmt"
	"sort"
	"strings"
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
		must(t, s.CreateMachine(ctx, storage.Machine{ID: uuid.NewString(), SubscriptionID: subID, ResourceGroup: "rg", Name: fmt.Sprintf("m-%02d", i), Location: "westeurope", CreatedAt: now, UpdatedAt: now}))
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

// testKeyedListPaging: the lists ordered by more than one column (a time
// or name, then an ID), or newest first, page two at a time through ties
// of the first column and return each item once, in order.
func testKeyedListPaging(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seed(t, s)
	seedGroup(t, s, "rg")
	_, err := s.PutVault(ctx, storage.Vault{SubscriptionID: subID, ResourceGroup: "rg", Name: "kv", Location: "westeurope", TenantID: tenantID, SKU: "standard", CreatedAt: now, UpdatedAt: now})
	must(t, err)

	// Every list gets 5 items whose first ordering column ties in pairs
	// (i/2), so that pages of two cut through ties.
	subs := []string{strings.ToLower(subID)}
	var sps, secrets, certs, keys, roles, versions []string
	app := ""
	for i := 0; i < 5; i++ {
		tie := now.Add(time.Duration(i/2) * time.Second)
		sub := fmt.Sprintf("3333333%d-3333-3333-3333-333333333333", i)
		must(t, s.CreateSubscription(ctx, storage.Subscription{ID: sub, TenantID: tenantID, DisplayName: "extra", State: "Enabled", CreatedAt: now}))
		subs = append(subs, sub)

		sp := storage.ServicePrincipal{ObjectID: uuid.NewString(), AppID: uuid.NewString(), TenantID: tenantID, DisplayName: fmt.Sprintf("app%d", i/2), CreatedAt: now}
		must(t, s.CreateServicePrincipal(ctx, sp))
		sps = append(sps, sp.DisplayName+"/"+sp.ObjectID)
		if app == "" {
			app = sp.AppID
		}

		sec := storage.ClientSecret{KeyID: uuid.NewString(), AppID: app, Hint: "abc", Salt: []byte{1}, Hash: []byte{2}, CreatedAt: tie}
		must(t, s.AddClientSecret(ctx, sec))
		secrets = append(secrets, fmt.Sprint(tie.Unix())+"/"+sec.KeyID)

		cert := storage.Certificate{KeyID: uuid.NewString(), AppID: app, Thumbprint: fmt.Sprintf("%064d", i), CertDER: []byte{3}, ExpiresAt: now.Add(time.Hour), CreatedAt: tie}
		must(t, s.AddCertificate(ctx, cert))
		certs = append(certs, fmt.Sprint(tie.Unix())+"/"+cert.KeyID)

		k := storage.SigningKey{KID: fmt.Sprintf("kid%d", 4-i), Alg: "ES256", EncryptedKey: []byte{4}, CertDER: []byte{5}, CreatedAt: now, ActiveFrom: tie, RetireAt: now.Add(time.Hour)}
		must(t, s.CreateSigningKey(ctx, k))
		keys = append(keys, fmt.Sprint(tie.Unix())+"/"+k.KID)

		d := storage.RoleDefinition{ID: uuid.NewString(), Name: fmt.Sprintf("role%d", i/2), AssignableScopes: []string{"/"}, CreatedAt: now, UpdatedAt: now}
		must(t, s.CreateRoleDefinition(ctx, d))
		roles = append(roles, d.Name+"/"+d.ID)

		x := storage.Secret{Vault: "kv", Name: "db", Version: fmt.Sprintf("%032x", 7*i%5), EncryptedValue: []byte{6}, Enabled: true, CreatedAt: tie, UpdatedAt: tie}
		must(t, s.AddSecretVersion(ctx, x))
		versions = append(versions, fmt.Sprint(tie.Unix())+"/"+x.Version)
	}
	// A key of another owner is not listed with the token service's.
	must(t, s.CreateSigningKey(ctx, storage.SigningKey{Owner: uuid.NewString(), KID: "other", Alg: "ES256", EncryptedKey: []byte{4}, CertDER: []byte{5}, CreatedAt: now, ActiveFrom: now, RetireAt: now.Add(time.Hour)}))
	sort.Strings(subs)
	sort.Strings(sps)
	sort.Strings(secrets)
	sort.Strings(certs)
	sort.Strings(keys)
	sort.Strings(roles)
	sort.Sort(sort.Reverse(sort.StringSlice(versions)))

	at := func(t time.Time) string { return fmt.Sprint(t.Unix()) }
	for _, tc := range []struct {
		what      string
		got, want []string
	}{
		{"subscriptions", pageThrough(t, "subscriptions", func(x storage.Subscription) string { return strings.ToLower(x.ID) },
			func(p storage.Page) ([]storage.Subscription, string, error) { return s.ListSubscriptions(ctx, p) }), subs},
		{"service principals", pageThrough(t, "service principals", func(x storage.ServicePrincipal) string { return x.DisplayName + "/" + x.ObjectID },
			func(p storage.Page) ([]storage.ServicePrincipal, string, error) {
				return s.ListServicePrincipals(ctx, p)
			}), sps},
		{"client secrets", pageThrough(t, "client secrets", func(x storage.ClientSecret) string { return at(x.CreatedAt) + "/" + x.KeyID },
			func(p storage.Page) ([]storage.ClientSecret, string, error) { return s.ListClientSecrets(ctx, app, p) }), secrets},
		{"certificates", pageThrough(t, "certificates", func(x storage.Certificate) string { return at(x.CreatedAt) + "/" + x.KeyID },
			func(p storage.Page) ([]storage.Certificate, string, error) { return s.ListCertificates(ctx, app, p) }), certs},
		{"signing keys", pageThrough(t, "signing keys", func(x storage.SigningKey) string { return at(x.ActiveFrom) + "/" + x.KID },
			func(p storage.Page) ([]storage.SigningKey, string, error) { return s.ListSigningKeys(ctx, "", p) }), keys},
		{"role definitions", pageThrough(t, "role definitions", func(x storage.RoleDefinition) string { return x.Name + "/" + x.ID },
			func(p storage.Page) ([]storage.RoleDefinition, string, error) { return s.ListRoleDefinitions(ctx, p) }), roles},
		{"secret versions, newest first", pageThrough(t, "secret versions", func(x storage.Secret) string { return at(x.CreatedAt) + "/" + x.Version },
			func(p storage.Page) ([]storage.Secret, string, error) {
				return s.ListSecretVersions(ctx, "KV", "DB", p)
			}), versions},
		{"secret versions of no secret", pageThrough(t, "secret versions", func(x storage.Secret) string { return x.Version },
			func(p storage.Page) ([]storage.Secret, string, error) {
				return s.ListSecretVersions(ctx, "kv", "none", p)
			}), nil},
	} {
		if fmt.Sprint(tc.got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: paged %v, want %v", tc.what, tc.got, tc.want)
		}
	}

	if _, _, err := s.ListSecretVersions(ctx, "kv", "db", storage.Page{After: "not a cursor"}); err == nil {
		t.Error("secret versions: a cursor no page returned was accepted")
	}
}
