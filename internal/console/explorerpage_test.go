package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ward-id/ward/internal/rbac"
	"github.com/ward-id/ward/internal/storage"
)

// explorerPages follows an explorer's nextLinks as the page does, and
// returns every page with its raw body.
func (f *fixture) explorerPages(t *testing.T, who, first string) ([]Explorer, []string) {
	t.Helper()
	c, _ := f.session(who)
	var out []Explorer
	var raw []string
	for path := first; path != ""; {
		st, b := f.do(t, c, "", "GET", path, "")
		if st != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, st, b)
		}
		var e Explorer
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		out, raw = append(out, e), append(raw, string(b))
		if len(out) > 100 {
			t.Fatal("more than 100 pages")
		}
		path = e.NextLink
	}
	return out, raw
}

// TestExplorerPages: a page holds at most $top identities, in resource ID
// order, each once over the pages with its credentials; every assignment
// the one-page explorer lists comes exactly once; what is few (groups,
// vaults, service principals, roles) comes on the first page only.
func TestExplorerPages(t *testing.T) {
	f := newFixture(t, 7, 2, 2)
	owner := f.grant(t, rbac.OwnerID, "/")
	whole, _ := f.explorerPages(t, owner, "/console/api/explorer?$top=1000")
	if len(whole) != 1 || len(whole[0].Identities) != 7 || len(whole[0].RoleAssignments) != 15 {
		t.Fatalf("one page: %d pages, %d identities, %d assignments; want 1, 7, 15", len(whole), len(whole[0].Identities), len(whole[0].RoleAssignments))
	}
	for _, tc := range []struct {
		top   int
		pages []int
	}{
		{1, []int{1, 1, 1, 1, 1, 1, 1, 0}},
		{3, []int{3, 3, 1}},
		{7, []int{7, 0}},
		{200, []int{7}},
	} {
		t.Run(fmt.Sprintf("top=%d", tc.top), func(t *testing.T) {
			pages, _ := f.explorerPages(t, owner, fmt.Sprintf("/console/api/explorer?$top=%d", tc.top))
			var per []int
			var names []string
			assignments := map[string]int{}
			for i, e := range pages {
				per = append(per, len(e.Identities))
				for _, id := range e.Identities {
					names = append(names, id.Name)
					if len(id.Children) != 2 {
						t.Errorf("%s: %d credentials, want 2", id.Name, len(id.Children))
					}
				}
				for _, a := range e.RoleAssignments {
					assignments[a.ID]++
				}
				few := len(e.ResourceGroups) + len(e.Vaults) + len(e.ServicePrincipals) + len(e.RoleDefinitions) + len(e.Subscriptions)
				if i == 0 && (len(e.ResourceGroups) != 2 || len(e.Vaults) != 1 || len(e.ServicePrincipals) != 1 || len(e.RoleDefinitions) == 0) {
					t.Errorf("first page: %d groups, %d vaults, %d principals, %d roles", len(e.ResourceGroups), len(e.Vaults), len(e.ServicePrincipals), len(e.RoleDefinitions))
				}
				if i > 0 && few != 0 {
					t.Errorf("page %d repeats the first page's objects: %d", i, few)
				}
			}
			if fmt.Sprint(per) != fmt.Sprint(tc.pages) {
				t.Errorf("identities per page %v; want %v", per, tc.pages)
			}
			if fmt.Sprint(names) != "[id-0000 id-0001 id-0002 id-0003 id-0004 id-0005 id-0006]" {
				t.Errorf("identities over the pages %v", names)
			}
			for _, a := range whole[0].RoleAssignments {
				if assignments[a.ID] != 1 {
					t.Errorf("assignment %s at %s listed %d times over the pages", a.ID, a.Props["scope"], assignments[a.ID])
				}
			}
			if len(assignments) != len(whole[0].RoleAssignments) {
				t.Errorf("%d assignments over the pages; want %d", len(assignments), len(whole[0].RoleAssignments))
			}
		})
	}
}

// TestExplorerPagesOneGroup: a caller who may read one resource group sees
// that group's identities, credentials and assignments and nothing of the
// other group on any page, at every page size; the tokens do not carry
// the other group's names either.
func TestExplorerPagesOneGroup(t *testing.T) {
	f := newFixture(t, 4, 2, 2) // in "apps": id-0000 … id-0003
	ctx := context.Background()
	now := time.Now().UTC()
	for i := 0; i < 3; i++ {
		id := storage.Identity{SubscriptionID: f.sub, ResourceGroup: "other", Name: fmt.Sprintf("oth-%04d", i), Location: "westeurope", TenantID: "t",
			ClientID: uuid.NewString(), PrincipalID: uuid.NewString(), IsolationScope: "None", CreatedAt: now, UpdatedAt: now}
		if err := f.store.CreateIdentity(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.PutFederatedCredential(ctx, storage.FederatedCredential{Identity: id.Ref(), Name: "oth-fic", Issuer: "https://issuer.example.com/other/",
			Subject: "system:serviceaccount:other:sa", Audiences: []string{"api://AzureADTokenExchange"}, CreatedAt: now, UpdatedAt: now}, nil); err != nil {
			t.Fatal(err)
		}
		if err := f.store.CreateRoleAssignment(ctx, roleAt(id.PrincipalID, rbac.ReaderID, "/subscriptions/"+f.sub+"/resourceGroups/other")); err != nil {
			t.Fatal(err)
		}
	}
	reader := f.grant(t, rbac.ReaderID, "/subscriptions/"+f.sub+"/resourceGroups/other")
	for _, top := range []int{1, 2, 200} {
		pages, raw := f.explorerPages(t, reader, fmt.Sprintf("/console/api/explorer?$top=%d", top))
		var names []string
		scopes := 0
		for i, e := range pages {
			for _, id := range e.Identities {
				names = append(names, id.Name)
				if len(id.Children) != 1 {
					t.Errorf("$top=%d: %s has %d credentials, want 1", top, id.Name, len(id.Children))
				}
			}
			for _, a := range e.RoleAssignments {
				if !strings.EqualFold(a.Props["scope"], "/subscriptions/"+f.sub+"/resourceGroups/other") {
					t.Errorf("$top=%d page %d: an assignment the reader may not read, at %s", top, i, a.Props["scope"])
				}
				scopes++
			}
			if len(e.Vaults) != 0 {
				t.Errorf("$top=%d page %d: vaults %v", top, i, e.Vaults)
			}
			for _, g := range e.ResourceGroups {
				if g.Name != "other" {
					t.Errorf("$top=%d page %d: group %s", top, i, g.Name)
				}
			}
			body := strings.ToLower(raw[i])
			for _, leak := range []string{"id-000", "resourcegroups/apps", "/vaults/kv", "cluster-0", "cluster-1"} {
				if strings.Contains(body, leak) {
					t.Errorf("$top=%d page %d shows %q: %s", top, i, leak, raw[i])
				}
			}
		}
		if fmt.Sprint(names) != "[oth-0000 oth-0001 oth-0002]" {
			t.Errorf("$top=%d: identities %v over %d pages", top, names, len(pages))
		}
		if scopes != 4 { // the three identities' and the reader's own
			t.Errorf("$top=%d: %d assignments, want 4", top, scopes)
		}
	}
}

// TestExplorerSkipTokenRefused: a token altered, cut, made up, given to
// another caller, carried to another page size or taken from the graph is
// a clear 400, never a page or a 500.
func TestExplorerSkipTokenRefused(t *testing.T) {
	f := newFixture(t, 4, 0, 1)
	owner := f.grant(t, rbac.OwnerID, "/")
	other := f.grant(t, rbac.OwnerID, "/")
	c, _ := f.session(owner)
	next := func(path string) string {
		st, b := f.do(t, c, "", "GET", path, "")
		var p struct{ NextLink string }
		_ = json.Unmarshal(b, &p)
		if st != 200 || p.NextLink == "" {
			t.Fatalf("first page of %s: %d %s", path, st, b)
		}
		u, _ := url.Parse(p.NextLink)
		return u.Query().Get("$skiptoken")
	}
	tok := next("/console/api/explorer?$top=1")
	graphTok := next("/console/api/graph?$top=1")
	with := func(top, tok string) string {
		return "/console/api/explorer?" + url.Values{"$top": {top}, "$skiptoken": {tok}}.Encode()
	}
	flip := []byte(tok)
	flip[len(flip)/2] ^= 1
	if flip[len(flip)/2] == '-' || flip[len(flip)/2] == '_' {
		flip[len(flip)/2] = 'A'
	}
	for _, tc := range []struct{ name, who, path string }{
		{"altered", owner, with("1", string(flip))},
		{"cut", owner, with("1", tok[:len(tok)-4])},
		{"not base64", owner, with("1", "%%%")},
		{"made up", owner, with("1", "eyJzIjoiIiwiYSI6IiIsIm4iOjB9")},
		{"another page size", owner, with("2", tok)},
		{"the graph's", owner, with("1", graphTok)},
		{"another caller", other, with("1", tok)},
		{"another process", owner, with("1", newGraphTokens().seal(graphCursor{Sub: f.sub}, explorerBinding(Who{ObjectID: owner, AppID: owner}, 1)))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := f.session(tc.who)
			st, b := f.do(t, c, "", "GET", tc.path, "")
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			_ = json.Unmarshal(b, &e)
			if st != http.StatusBadRequest || e.Error.Code != "InvalidSkipToken" || !strings.Contains(e.Error.Message, "nextLink") {
				t.Fatalf("%d %s; want 400 InvalidSkipToken", st, b)
			}
		})
	}
	if st, b := f.do(t, c, "", "GET", with("1", tok), ""); st != 200 {
		t.Fatalf("the untouched link: %d %s", st, b)
	}
	for _, bad := range []string{"$top=0", "$top=1001", "$top=x"} {
		if st, b := f.do(t, c, "", "GET", "/console/api/explorer?"+bad, ""); st != http.StatusBadRequest {
			t.Errorf("%s: %d %s; want 400", bad, st, b)
		}
	}
}
