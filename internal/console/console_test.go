package console

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/authz"
	"github.com/ward-id/ward/internal/directory"
	"github.com/ward-id/ward/internal/msi"
	"github.com/ward-id/ward/internal/rbac"
	"github.com/ward-id/ward/internal/resources"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/vault"
	"github.com/ward-id/ward/internal/wardtest"
)

func TestSessions(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newSessions(func() time.Time { return now })
	who := Who{ObjectID: "o", AppID: "a"}
	// A token that outlives every timeout below.
	from := origin{tokenExpires: now.Add(100 * time.Hour)}
	newLink := func() string {
		t.Helper()
		code, _, err := s.newLink(who, from)
		if err != nil {
			t.Fatal(err)
		}
		return code
	}

	code := newLink()
	sid, sess, err := s.redeem(code)
	if err != nil || sess.who != who || sess.csrf == "" {
		t.Fatalf("redeem: %v session=%+v", err, sess)
	}
	if _, _, err := s.redeem(code); err == nil {
		t.Error("a link worked twice")
	}
	expired := newLink()
	now = now.Add(LinkLifetime)
	if _, _, err := s.redeem(expired); err == nil {
		t.Error("an expired link worked")
	}
	if _, ok := s.get(sid); !ok {
		t.Fatal("session gone after two minutes")
	}
	now = now.Add(IdleTimeout - time.Second)
	if _, ok := s.get(sid); !ok {
		t.Fatal("session gone before the idle timeout")
	}
	now = now.Add(IdleTimeout)
	if _, ok := s.get(sid); ok {
		t.Error("session outlived the idle timeout")
	}

	code = newLink()
	sid, sess, _ = s.redeem(code)
	for i := 0; i < int(AbsoluteTimeout/IdleTimeout)+1; i++ {
		now = now.Add(IdleTimeout - time.Minute)
		s.get(sid)
	}
	if _, ok := s.get(sid); ok {
		t.Error("session outlived the absolute timeout")
	}
	if csrfOK(sess, "") || csrfOK(sess, "x") || !csrfOK(sess, sess.csrf) {
		t.Error("csrf comparison is wrong")
	}
	code = newLink()
	sid, _, _ = s.redeem(code)
	s.end(sid)
	if _, ok := s.get(sid); ok {
		t.Error("session survived sign-out")
	}
}

// fixture is a store with one subscription and group, identities with
// federated credentials and role assignments, and the console on a mux.
type fixture struct {
	store  storage.Storage
	access *authz.Service
	h      *Handler
	mux    *router.Mux
	sub    string
}

func newFixture(t testing.TB, identities, fics, assignments int) *fixture {
	t.Helper()
	ctx := context.Background()
	store := wardtest.NewStore(t)
	now := time.Now().UTC()
	tenant, sub := wardtest.TenantID, wardtest.SubscriptionID
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range []string{"apps", "other"} {
		_, err := store.PutResourceGroup(ctx, storage.ResourceGroup{SubscriptionID: sub, Name: g, Location: "westeurope", CreatedAt: now, UpdatedAt: now})
		must(err)
	}
	_, err := store.PutVault(ctx, storage.Vault{SubscriptionID: sub, ResourceGroup: "apps", Name: "kv", Location: "westeurope", TenantID: tenant, SKU: "standard", CreatedAt: now, UpdatedAt: now})
	must(err)
	roles := []string{rbac.ReaderID, rbac.KeyVaultSecretsUserID, rbac.ContributorID}
	for i := 0; i < identities; i++ {
		id := storage.Identity{SubscriptionID: sub, ResourceGroup: "apps", Name: fmt.Sprintf("id-%04d", i), Location: "westeurope", TenantID: tenant,
			ClientID: uuid.NewString(), PrincipalID: uuid.NewString(), IsolationScope: "None", CreatedAt: now, UpdatedAt: now}
		must(store.CreateIdentity(ctx, id))
		for f := 0; f < fics; f++ {
			_, err := store.PutFederatedCredential(ctx, storage.FederatedCredential{Identity: id.Ref(), Name: fmt.Sprintf("fic-%d", f),
				Issuer: fmt.Sprintf("https://issuer.example.com/cluster-%d/", f), Subject: fmt.Sprintf("system:serviceaccount:ns-%d:sa-%04d", f, i),
				Audiences: []string{"api://AzureADTokenExchange"}, CreatedAt: now, UpdatedAt: now}, nil)
			must(err)
		}
		for a := 0; a < assignments; a++ {
			scope := "/subscriptions/" + sub + "/resourceGroups/apps"
			if a == 1 {
				scope += "/providers/Microsoft.KeyVault/vaults/kv"
			}
			must(store.CreateRoleAssignment(ctx, storage.RoleAssignment{ID: uuid.NewString(), Scope: scope, PrincipalID: id.PrincipalID, PrincipalType: "ServicePrincipal",
				RoleDefinitionID: roles[a%len(roles)], CreatedAt: now, UpdatedAt: now}))
		}
	}
	access, err := authz.New(ctx, authz.Config{Store: store, Now: time.Now})
	must(err)
	groups := resources.New(resources.Config{Store: store})
	vaults, err := vault.New(vault.Config{Store: store, KEK: make([]byte, 32), Hosts: vault.NewHosts("https://ward.test")})
	must(err)
	h := New(Config{Groups: groups, Identities: msi.New(msi.Config{Store: store, Resources: groups}), Vaults: vaults,
		Directory: directory.New(directory.Config{Store: store, TenantID: tenant}), Access: access, Store: store, PublicURL: "https://ward.test",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	mux := router.New()
	mux.Authorizer = access
	h.Mount(mux)
	return &fixture{store: store, access: access, h: h, mux: mux, sub: sub}
}

// grant gives a new service principal role at scope and returns its
// object ID (its client ID is the same string).
func (f *fixture) grant(t testing.TB, role, scope string) string {
	t.Helper()
	p := uuid.NewString()
	if err := f.store.CreateServicePrincipal(context.Background(), storage.ServicePrincipal{ObjectID: p, AppID: p, TenantID: wardtest.TenantID,
		DisplayName: "sp-" + p[:8], CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if role == "" {
		return p
	}
	if err := f.store.CreateRoleAssignment(context.Background(), storage.RoleAssignment{ID: uuid.NewString(), Scope: scope, PrincipalID: p, PrincipalType: "ServicePrincipal",
		RoleDefinitionID: role, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := f.access.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	return p
}

// session signs a browser in as principal (made by grant) and returns its
// cookie and CSRF token.
func (f *fixture) session(principal string) (*http.Cookie, string) {
	code, _, _ := f.h.sessions.newLink(Who{ObjectID: principal, AppID: principal}, origin{tokenExpires: time.Now().Add(time.Hour)})
	sid, sess, _ := f.h.sessions.redeem(code)
	return &http.Cookie{Name: CookieName, Value: sid}, sess.csrf
}

func (f *fixture) do(t testing.TB, c *http.Cookie, csrf, method, path, body string) (int, []byte) {
	t.Helper()
	r := httptest.NewRequest(method, "https://ward.test"+path, strings.NewReader(body))
	if c != nil {
		r.AddCookie(c)
	}
	if csrf != "" {
		r.Header.Set(HeaderCSRF, csrf)
	}
	w := httptest.NewRecorder()
	f.mux.ServeHTTP(w, r)
	return w.Code, w.Body.Bytes()
}

func TestViewsFollowRBAC(t *testing.T) {
	f := newFixture(t, 3, 2, 3)
	rg := "/subscriptions/" + f.sub + "/resourceGroups/apps"
	reader := f.grant(t, rbac.ReaderID, rg)
	nobody := f.grant(t, "", "")
	owner := f.grant(t, rbac.OwnerID, "/")

	graph := func(who string) Graph {
		c, _ := f.session(who)
		st, b := f.do(t, c, "", "GET", "/console/api/graph", "")
		if st != 200 {
			t.Fatalf("graph as %s: %d %s", who, st, b)
		}
		var g Graph
		_ = json.Unmarshal(b, &g)
		return g
	}
	if g := graph(nobody); len(g.Nodes) != 0 {
		t.Errorf("no role: %d nodes, want 0", len(g.Nodes))
	}
	if g := graph(reader); g.Identities != 3 {
		t.Errorf("reader: %d identities, want 3", g.Identities)
	}
	g := graph(owner)
	kinds := map[string]int{}
	inherited := 0
	for _, n := range g.Nodes {
		kinds[n.Kind]++
	}
	for _, e := range g.Edges {
		if e.Inherited {
			inherited++
		}
	}
	if kinds[KindIdentity] != 3 || kinds[KindFIC] != 6 || kinds[KindAssignment] != 9 || kinds[KindIssuer] != 2 || kinds[KindVault] != 1 || inherited == 0 {
		t.Errorf("owner's graph: kinds %v, %d inherited edges", kinds, inherited)
	}

	fix := `{"identity":"` + rg + `/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-0000","name":"console-fix","issuer":"https://issuer.example.com/x","subject":"system:serviceaccount:a:b"}`
	c, csrf := f.session(reader)
	if st, b := f.do(t, c, csrf, "POST", "/console/api/fix/federated-credential", fix); st != 403 {
		t.Errorf("reader's fix: %d %s, want 403", st, b)
	}
	c, csrf = f.session(owner)
	if st, b := f.do(t, c, "", "POST", "/console/api/fix/federated-credential", fix); st != 403 || !strings.Contains(string(b), "CSRF") {
		t.Errorf("fix without the CSRF token: %d %s, want 403", st, b)
	}
	if st, b := f.do(t, c, csrf, "POST", "/console/api/fix/federated-credential", fix); st != 201 {
		t.Errorf("owner's fix: %d %s, want 201", st, b)
	}
	evs, _ := f.store.ListActivity(context.Background(), f.sub, time.Now().Add(-time.Hour), 10)
	var results []string
	for _, e := range evs {
		results = append(results, e.Result+" "+e.Action)
	}
	if len(evs) != 2 {
		t.Errorf("activity log after a refused and a created fix: %v", results)
	}

	c, _ = f.session(reader)
	st, b := f.do(t, c, "", "GET", "/console/api/check?principal="+reader+"&scope="+rg+"/providers/Microsoft.KeyVault/vaults/kv&action=Microsoft.KeyVault/vaults/secrets/getSecret/action", "")
	var res CheckResult
	_ = json.Unmarshal(b, &res)
	if st != 200 || res.Allowed || len(res.Assignments) != 1 || !strings.Contains(res.Assignments[0].Why, "dataActions") {
		t.Errorf("can a Reader read a secret: %d %s", st, b)
	}
}

// BenchmarkGraph measures the whole graph over 1,000 identities with 5
// federated credentials and 3 role assignments each, as the owner sees it:
// every page of limit=5000 at the largest page ($top=500), followed to the
// end as the page does. bytes/graph is the sum of the pages.
func BenchmarkGraph(b *testing.B) {
	benchmarkPages(b, "/console/api/graph?limit=5000&$top=500", "graph")
}

// benchmarkPages follows first to the last page over 1,000 identities with
// 5 federated credentials and 3 role assignments each, as the owner, and
// reports the bytes and pages of one whole read per what.
func benchmarkPages(b *testing.B, first, what string) {
	f := newFixture(b, 1000, 5, 3)
	owner := f.grant(b, rbac.OwnerID, "/")
	c, _ := f.session(owner)
	var size, pages int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		size, pages = f.followPages(b, c, first)
	}
	b.ReportMetric(float64(size), "bytes/"+what)
	b.ReportMetric(float64(pages), "pages/"+what)
}

// followPages reads every page from first on, as the console's page does
// (each page's nextLink), and returns their bytes and how many there were.
func (f *fixture) followPages(b *testing.B, c *http.Cookie, first string) (size, pages int) {
	for path := first; path != ""; pages++ {
		st, body := f.do(b, c, "", "GET", path, "")
		if st != 200 {
			b.Fatalf("%d %s", st, body)
		}
		var p struct {
			NextLink string `json:"nextLink"`
		}
		_ = json.Unmarshal(body, &p)
		size += len(body)
		path = p.NextLink
	}
	return size, pages
}

// BenchmarkGraphFirstPage measures what the page waits for before it
// draws: the first page (the default $top) of the same graph.
func BenchmarkGraphFirstPage(b *testing.B) {
	benchmarkFirstPage(b, "/console/api/graph?limit=5000")
}

// benchmarkFirstPage measures the first page at path alone, over the same
// fixture as benchmarkPages.
func benchmarkFirstPage(b *testing.B, path string) {
	f := newFixture(b, 1000, 5, 3)
	owner := f.grant(b, rbac.OwnerID, "/")
	c, _ := f.session(owner)
	var size int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, body := f.do(b, c, "", "GET", path, "")
		if st != 200 {
			b.Fatalf("%d %s", st, body)
		}
		size = len(body)
	}
	b.ReportMetric(float64(size), "bytes/response")
}

// TestFixRefusedAsARMRefuses: the console's federated-credential fix is a
// PUT of the credential through another door, so a caller without the
// write action gets ARM's 403, word for word, and the activity log records
// the refusal as ARM records one.
func TestFixRefusedAsARMRefuses(t *testing.T) {
	f := newFixture(t, 1, 0, 0)
	rg := "/subscriptions/" + f.sub + "/resourceGroups/apps"
	reader := f.grant(t, rbac.ReaderID, rg)
	c, csrf := f.session(reader)
	identity := rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-0000"
	fix := `{"identity":"` + identity + `","name":"console-fix","issuer":"https://issuer.example.com/x","subject":"system:serviceaccount:a:b"}`
	st, b := f.do(t, c, csrf, "POST", "/console/api/fix/federated-credential", fix)
	var got struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.Unmarshal(b, &got)
	scope := "/subscriptions/" + f.sub + "/resourcegroups/apps/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-0000/federatedIdentityCredentials/console-fix"
	want := armerr.NotAuthorized(reader, reader, "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write", scope, router.ErrNotGranted)
	if st != want.Status || got.Error.Code != want.Code || got.Error.Message != want.Message {
		t.Fatalf("refused fix: %d %s\nwant %d %s %q", st, b, want.Status, want.Code, want.Message)
	}
	evs, err := f.store.ListActivity(context.Background(), f.sub, time.Now().Add(-time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Result != "Failed" || evs[0].StatusCode != 403 || evs[0].Method != "PUT" || evs[0].Scope != scope || evs[0].CallerObjectID != reader {
		t.Fatalf("activity after a refused fix: %+v", evs)
	}
}

// TestFixBodyErrors: the fix's body is read by httpbody under the route's
// cap, answered in the console's JSON error.
func TestFixBodyErrors(t *testing.T) {
	f := newFixture(t, 1, 0, 0)
	owner := f.grant(t, rbac.OwnerID, "/")
	c, csrf := f.session(owner)
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"oversized", `{"identity":"` + strings.Repeat("x", maxBody) + `"}`, http.StatusRequestEntityTooLarge, "RequestContentTooLarge"},
		{"malformed", `{"identity":`, http.StatusBadRequest, "InvalidRequestContent"},
		{"empty", ``, http.StatusBadRequest, "InvalidRequestContent"},
		{"trailing data", `{"identity":"x"} {}`, http.StatusBadRequest, "InvalidRequestContent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, b := f.do(t, c, csrf, "POST", "/console/api/fix/federated-credential", tc.body)
			var got struct {
				Error struct{ Code string } `json:"error"`
			}
			_ = json.Unmarshal(b, &got)
			if st != tc.status || got.Error.Code != tc.code {
				t.Fatalf("%d %s; want %d %s", st, b, tc.status, tc.code)
			}
		})
	}
}
