package rbac

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

const (
	a1    = "a1000000-0000-0000-0000-000000000000"
	a2    = "a2000000-0000-0000-0000-000000000000"
	b1    = "b1000000-0000-0000-0000-000000000000"
	b2    = "b2000000-0000-0000-0000-000000000000"
	alice = "aaaaaaaa-0000-0000-0000-000000000001"
	bob   = "bbbbbbbb-0000-0000-0000-000000000002"
	sub   = "/subscriptions/11111111-1111-1111-1111-111111111111"
	rg    = sub + "/resourceGroups/rg"
	vault = rg + "/providers/Microsoft.KeyVault/vaults/kv"
	uami  = rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app"
)

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, action string
		want            bool
	}{
		{"*", "Microsoft.Anything/x/write", true},
		{"*/read", "Microsoft.ManagedIdentity/userAssignedIdentities/read", true},
		{"*/read", "Microsoft.ManagedIdentity/userAssignedIdentities/write", false},
		{"microsoft.authorization/*/write", "Microsoft.Authorization/roleAssignments/write", true},
		{"microsoft.authorization/*/write", "Microsoft.Authorization/roleAssignments/read", false},
		{"microsoft.keyvault/vaults/secrets/*", "Microsoft.KeyVault/vaults/secrets/getSecret/action", true},
		{"microsoft.keyvault/vaults/*/read", "Microsoft.KeyVault/vaults/secrets/read", true},
		{"microsoft.network/*", "Microsoft.Networking/x", false},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"", "", true},
	}
	for _, tc := range cases {
		if got := match(tc.pattern, tc.action); got != tc.want {
			t.Errorf("match(%q, %q) = %v, want %v", tc.pattern, tc.action, got, tc.want)
		}
	}
}

func TestAuthorize(t *testing.T) {
	e := New()
	e.PutRole(RoleDefinition{ID: "cccccccc-0000-0000-0000-00000000000c", Name: "Identity reader no FIC",
		Permissions: []Permission{{Actions: []string{"Microsoft.ManagedIdentity/*"}, NotActions: []string{"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/*"}}}})
	e.Put(Assignment{ID: a1, Scope: rg, PrincipalID: alice, RoleID: ContributorID})
	e.Put(Assignment{ID: a2, Scope: vault, PrincipalID: alice, RoleID: KeyVaultSecretsUserID})
	e.Put(Assignment{ID: b1, Scope: "/", PrincipalID: bob, RoleID: OwnerID})
	e.Put(Assignment{ID: b2, Scope: sub, PrincipalID: "CCCCCCCC-0000-0000-0000-000000000003", RoleID: "CCCCCCCC-0000-0000-0000-00000000000C"})
	cases := []struct {
		name, principal, action, scope string
		data                           bool
		want                           string // assignment ID, or "" for deny
	}{
		{"contributor writes an identity in its group", alice, "Microsoft.ManagedIdentity/userAssignedIdentities/write", uami, false, a1},
		{"contributor at the group itself", alice, "Microsoft.Resources/subscriptions/resourceGroups/read", rg, false, a1},
		{"case-insensitive scope and action", alice, "MICROSOFT.MANAGEDIDENTITY/userassignedidentities/WRITE", "/SUBSCRIPTIONS/11111111-1111-1111-1111-111111111111/RESOURCEGROUPS/RG/providers/x/y/z", false, a1},
		{"contributor cannot write role assignments", alice, "Microsoft.Authorization/roleAssignments/write", rg, false, ""},
		{"contributor cannot delete role assignments", alice, "Microsoft.Authorization/roleAssignments/delete", rg, false, ""},
		{"contributor can read role assignments", alice, "Microsoft.Authorization/roleAssignments/read", rg, false, a1},
		{"not above the group", alice, "Microsoft.ManagedIdentity/userAssignedIdentities/read", sub, false, ""},
		{"not a sibling group with a longer name", alice, "Microsoft.ManagedIdentity/userAssignedIdentities/read", sub + "/resourceGroups/rg2", false, ""},
		{"control-plane * grants no data actions", alice, "Microsoft.KeyVault/vaults/secrets/getSecret/action", rg + "/providers/Microsoft.KeyVault/vaults/other", true, ""},
		{"secrets user reads a secret in its vault", alice, "Microsoft.KeyVault/vaults/secrets/getSecret/action", vault + "/secrets/db", true, a2},
		{"secrets user cannot set a secret", alice, "Microsoft.KeyVault/vaults/secrets/setSecret/action", vault + "/secrets/db", true, ""},
		{"owner at / writes anything", bob, "Microsoft.Authorization/roleAssignments/write", uami, false, b1},
		{"owner at / reads no secrets", bob, "Microsoft.KeyVault/vaults/secrets/getSecret/action", vault + "/secrets/db", true, ""},
		{"owner at / covers /", bob, "Microsoft.Resources/subscriptions/read", "/", false, b1},
		{"custom role: notActions carve out", "cccccccc-0000-0000-0000-000000000003", "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write", uami, false, ""},
		{"custom role: actions allowed", "cccccccc-0000-0000-0000-000000000003", "Microsoft.ManagedIdentity/userAssignedIdentities/write", uami, false, b2},
		{"unknown principal", "dddddddd-0000-0000-0000-000000000000", "*/read", "/", false, ""},
		{"principal that is not a GUID", "nope", "*/read", "/", false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := e.Authorize(tc.principal, tc.action, tc.scope, tc.data)
			if d.Allowed != (tc.want != "") || d.AssignmentID() != tc.want {
				t.Fatalf("Authorize(%s, %s, %s, data=%v) = %+v, want assignment %q", tc.principal, tc.action, tc.scope, tc.data, d, tc.want)
			}
		})
	}
	// Deleting an assignment takes effect on the next check.
	if !e.Delete(strings.ToUpper(a1)) {
		t.Fatal("delete a1")
	}
	if d := e.Authorize(alice, "Microsoft.ManagedIdentity/userAssignedIdentities/write", uami, false); d.Allowed {
		t.Fatalf("after delete: %+v", d)
	}
	if e.Delete(a1) {
		t.Fatal("deleted twice")
	}
}

// TestManyGrantsPerPrincipal exercises the per-scope index used once a
// principal holds more than bigPrincipal assignments.
func TestManyGrantsPerPrincipal(t *testing.T) {
	e := New()
	for i := 0; i < 100; i++ {
		e.Put(Assignment{ID: fmt.Sprintf("%08x-0000-0000-0000-000000000000", i), Scope: fmt.Sprintf("%s/resourceGroups/rg-%d", sub, i), PrincipalID: alice, RoleID: ReaderID})
	}
	root := "f0000000-0000-0000-0000-000000000000"
	e.Put(Assignment{ID: root, Scope: "/", PrincipalID: alice, RoleID: KeyVaultSecretsUserID})
	if d := e.Authorize(alice, "x/read", sub+"/resourceGroups/RG-42/providers/a/b/c/", false); d.AssignmentID() != fmt.Sprintf("%08x-0000-0000-0000-000000000000", 42) {
		t.Fatalf("indexed lookup: %+v", d)
	}
	if d := e.Authorize(alice, "x/read", sub+"/resourceGroups/rg-420", false); d.Allowed {
		t.Fatalf("segment boundary: %+v", d)
	}
	if d := e.Authorize(alice, "Microsoft.KeyVault/vaults/secrets/getSecret/action", vault, true); d.AssignmentID() != root {
		t.Fatalf("root scope through the index: %+v", d)
	}
	for i := 0; i < 100; i++ {
		e.Delete(fmt.Sprintf("%08x-0000-0000-0000-000000000000", i))
	}
	if d := e.Authorize(alice, "x/read", sub+"/resourceGroups/rg-42", false); d.Allowed || e.Len() != 1 {
		t.Fatalf("after deletes: %+v, %d left", d, e.Len())
	}
}

func FuzzIsAncestor(f *testing.F) {
	f.Add("/subscriptions/a", "/subscriptions/a/resourcegroups/b")
	f.Add("/", "")
	f.Fuzz(func(t *testing.T, a, s string) {
		a = NormalizeScope(a)
		got := isAncestor(a, s)
		// Reference: segment-wise comparison.
		want := a == "/" || NormalizeScope(s) == a || (len(NormalizeScope(s)) > len(a) && NormalizeScope(s)[:len(a)+1] == a+"/")
		if got != want {
			t.Fatalf("isAncestor(%q, %q) = %v, want %v", a, s, got, want)
		}
	})
}

// synthetic builds n assignments: 100 subscriptions × 10 groups × resources,
// n/10 principals with 10 assignments each at mixed scopes.
func synthetic(n int) (*Engine, []string, []string) {
	e := New()
	roles := []string{ReaderID, ContributorID, KeyVaultSecretsUserID, "7f951dda-4ed3-4680-a7ca-43fe172d538d"}
	principals := make([]string, n/10)
	for i := range principals {
		principals[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
	}
	scopes := make([]string, 0, 4096)
	for s := 0; s < 100; s++ {
		for g := 0; g < 10; g++ {
			for r := 0; r < 4; r++ {
				scopes = append(scopes, fmt.Sprintf("/subscriptions/%08x-1111-4111-8111-111111111111/resourceGroups/rg-%d/providers/Microsoft.KeyVault/vaults/kv-%d", s, g, r))
			}
		}
	}
	for i := 0; i < n; i++ {
		e.Put(Assignment{ID: fmt.Sprintf("%08x-2222-4222-8222-%012x", i, i), Scope: scopes[(i*7919)%len(scopes)], PrincipalID: principals[i%len(principals)], RoleID: roles[i%len(roles)]})
	}
	return e, principals, scopes
}

func BenchmarkAuthorize1M(b *testing.B) {
	e, principals, scopes := synthetic(1_000_000)
	queries := make([]string, len(scopes))
	for i, s := range scopes {
		queries[i] = s + "/secrets/x"
	}
	allowed := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if e.Authorize(principals[(i*31)%len(principals)], "Microsoft.KeyVault/vaults/read", queries[(i*13)%len(queries)], false).Allowed {
			allowed++
		}
	}
	b.ReportMetric(float64(allowed)/float64(b.N), "allowed/op")
}

func BenchmarkAssignmentChange1M(b *testing.B) {
	e, principals, scopes := synthetic(1_000_000)
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08x-3333-4333-8333-333333333333", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Put(Assignment{ID: ids[i%len(ids)], Scope: scopes[i%len(scopes)], PrincipalID: principals[i%len(principals)], RoleID: ReaderID})
	}
}

// TestIndexFootprint reports build time and bytes per assignment at 1M; it
// asserts only the memory bound, which does not depend on machine load.
// Besides the benchmark's shape (10 per principal, interleaved), it checks
// the extremes of one and three assignments per principal.
func TestIndexFootprint(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 1M-assignment indexes")
	}
	measure := func(build func() *Engine) (float64, time.Duration) {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		e := build()
		took := time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(e)
		return float64(after.HeapAlloc-before.HeapAlloc) / 1e6, took
	}
	per, build := measure(func() *Engine { e, _, _ := synthetic(1_000_000); return e })
	t.Logf("1M assignments, 10 per principal: build %v (incl. generating IDs), %.0f B per assignment", build, per)
	if per > 150 {
		t.Errorf("index uses %.0f B per assignment, target 150", per)
	}
	for _, k := range []int{1, 3} {
		per, _ := measure(func() *Engine {
			e := New()
			for i := 0; i < 1_000_000; i++ {
				p := i / k
				e.Put(Assignment{ID: fmt.Sprintf("%08x-2222-4222-8222-%012x", i, i), Scope: fmt.Sprintf("/subscriptions/%08x-1111-4111-8111-111111111111/resourceGroups/rg-%d", i%100, i%1000),
					PrincipalID: fmt.Sprintf("%08x-0000-4000-8000-%012x", p, p), RoleID: ReaderID})
			}
			return e
		})
		t.Logf("1M assignments, %d per principal: %.0f B per assignment", k, per)
		if per > 150 {
			t.Errorf("%d per principal: index uses %.0f B per assignment, target 150", k, per)
		}
	}
}

func TestAncestorHashes(t *testing.T) {
	var hs [maxPrefixes]uint32
	n, ok := ancestorHashes("/SUBSCRIPTIONS/a/resourceGroups/B/", &hs)
	if !ok || n != 5 {
		t.Fatalf("n=%d ok=%v", n, ok)
	}
	want := []string{"/", "/subscriptions", "/subscriptions/a", "/subscriptions/a/resourcegroups", "/subscriptions/a/resourcegroups/b"}
	for i, w := range want {
		if hs[i] != scopeHash(w) {
			t.Errorf("prefix %d: hash of %q differs", i, w)
		}
	}
	if n, _ := ancestorHashes("/", &hs); n != 1 {
		t.Fatalf("root has %d prefixes", n)
	}
	deep := strings.Repeat("/x", maxPrefixes+1)
	if _, ok := ancestorHashes(deep, &hs); ok {
		t.Fatal("overlong scope not reported")
	}
	e := New()
	e.Put(Assignment{ID: a1, Scope: "/subscriptions/a", PrincipalID: alice, RoleID: ReaderID})
	if !e.Authorize(alice, "x/read", deep[:0]+"/subscriptions/a"+deep, false).Allowed {
		t.Fatal("deep scope under an assignment: denied")
	}
}

// TestAssignmentIDsOf: a principal's indexed assignment IDs, through one
// inline grant, the arena and the big-principal index, and after deletes.
func TestAssignmentIDsOf(t *testing.T) {
	e := New()
	id := func(i int) string { return fmt.Sprintf("%08x-0000-0000-0000-00000000000a", i) }
	for _, tc := range []struct {
		name string
		n    int
	}{{"none", 0}, {"one", 1}, {"some", 5}, {"big", bigPrincipal + 5}} {
		t.Run(tc.name, func(t *testing.T) {
			e := New()
			want := map[string]bool{}
			for i := 0; i < tc.n; i++ {
				if err := e.Put(Assignment{ID: id(i), Scope: fmt.Sprintf("%s/resourceGroups/rg-%d", sub, i), PrincipalID: alice, RoleID: ReaderID}); err != nil {
					t.Fatal(err)
				}
				want[id(i)] = true
			}
			// Another principal's assignment is not listed.
			if err := e.Put(Assignment{ID: "ffffffff-0000-0000-0000-00000000000a", Scope: sub, PrincipalID: "99999999-9999-9999-9999-999999999999", RoleID: ReaderID}); err != nil {
				t.Fatal(err)
			}
			got := e.AssignmentIDsOf(strings.ToUpper(alice))
			if len(got) != len(want) {
				t.Fatalf("%d IDs, want %d: %v", len(got), len(want), got)
			}
			for _, g := range got {
				if !want[g] {
					t.Errorf("unexpected ID %s", g)
				}
			}
			if tc.n > 1 {
				e.Delete(id(0))
				if got := e.AssignmentIDsOf(alice); len(got) != tc.n-1 {
					t.Errorf("after a delete: %d IDs, want %d", len(got), tc.n-1)
				}
			}
		})
	}
	if got := e.AssignmentIDsOf("not-a-guid"); got != nil {
		t.Errorf("a principal that is not a GUID: %v", got)
	}
}
