package console

import (
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

// pages follows a graph's nextLinks as the page does, and returns every
// page.
func (f *fixture) graphPages(t *testing.T, who, first string) []Graph {
	t.Helper()
	c, _ := f.session(who)
	var out []Graph
	for path := first; path != ""; {
		st, b := f.do(t, c, "", "GET", path, "")
		if st != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, st, b)
		}
		var g Graph
		if err := json.Unmarshal(b, &g); err != nil {
			t.Fatal(err)
		}
		out = append(out, g)
		if len(out) > 100 {
			t.Fatal("more than 100 pages")
		}
		path = g.NextLink
	}
	return out
}

func identitiesOf(pages []Graph) []string {
	var ids []string
	for _, g := range pages {
		for _, n := range g.Nodes {
			if n.Kind == KindIdentity {
				ids = append(ids, n.Label)
			}
		}
	}
	return ids
}

// TestGraphPages: a page holds at most $top identities, in resource ID
// order; following nextLink draws each identity exactly once, and the
// last page has no nextLink.
func TestGraphPages(t *testing.T) {
	f := newFixture(t, 7, 1, 2)
	owner := f.grant(t, rbac.OwnerID, "/")
	all := []string{"id-0000", "id-0001", "id-0002", "id-0003", "id-0004", "id-0005", "id-0006"}
	for _, tc := range []struct {
		top, limit int
		pages      []int // identities per page
	}{
		{1, 200, []int{1, 1, 1, 1, 1, 1, 1, 0}},
		{3, 200, []int{3, 3, 1}},
		{7, 200, []int{7, 0}}, // the page filled on the last identity: one empty page after it
		{8, 200, []int{7}},
		{3, 5, []int{3, 2}}, // limit stops the graph
		{500, 5000, []int{7}},
	} {
		t.Run(fmt.Sprintf("top=%d,limit=%d", tc.top, tc.limit), func(t *testing.T) {
			pages := f.graphPages(t, owner, fmt.Sprintf("/console/api/graph?$top=%d&limit=%d", tc.top, tc.limit))
			var per []int
			for _, g := range pages {
				per = append(per, g.Shown)
				n := 0
				for _, x := range g.Nodes {
					if x.Kind == KindIdentity {
						n++
					}
				}
				if n != g.Shown {
					t.Errorf("page draws %d identities, says %d", n, g.Shown)
				}
				for _, e := range g.Edges {
					if !hasNode(g, e.From) || !hasNode(g, e.To) {
						t.Errorf("edge %s → %s leaves the page", e.From, e.To)
					}
				}
			}
			if fmt.Sprint(per) != fmt.Sprint(tc.pages) {
				t.Fatalf("identities per page %v; want %v", per, tc.pages)
			}
			want := all[:min(len(all), tc.limit)]
			if got := identitiesOf(pages); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("identities over the pages %v; want %v", got, want)
			}
		})
	}
}

func hasNode(g Graph, id string) bool {
	for _, n := range g.Nodes {
		if n.ID == id {
			return true
		}
	}
	return false
}

// TestGraphPagesSelective: a start that selects few identities (a
// subject) pages through the rest without drawing them.
func TestGraphPagesSelective(t *testing.T) {
	f := newFixture(t, 5, 1, 1)
	owner := f.grant(t, rbac.OwnerID, "/")
	pages := f.graphPages(t, owner, "/console/api/graph?$top=1&start="+url.QueryEscape("subject:system:serviceaccount:ns-0:sa-0003"))
	if got := identitiesOf(pages); fmt.Sprint(got) != "[id-0003]" {
		t.Fatalf("subject start: %v over %d pages", got, len(pages))
	}
	one := f.graphPages(t, owner, "/console/api/graph?start="+url.QueryEscape("/subscriptions/"+f.sub+"/resourceGroups/apps/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-0002"))
	if got := identitiesOf(one); len(one) != 1 || fmt.Sprint(got) != "[id-0002]" {
		t.Fatalf("identity start: %v over %d pages", got, len(one))
	}
}

// TestGraphPagesPartialAccess: a caller who may read two identities sees
// those two, and nothing of the others, on every page; the tokens do not
// carry the others' names either (the last identity a page read may be
// one the caller cannot read).
func TestGraphPagesPartialAccess(t *testing.T) {
	f := newFixture(t, 6, 2, 2)
	ids := "/subscriptions/" + f.sub + "/resourceGroups/apps/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
	reader := f.grant(t, rbac.ReaderID, ids+"id-0001")
	if err := f.store.CreateRoleAssignment(t.Context(), roleAt(reader, rbac.ReaderID, ids+"id-0004")); err != nil {
		t.Fatal(err)
	}
	if err := f.access.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, top := range []int{1, 2, 100} {
		pages := f.graphPages(t, reader, fmt.Sprintf("/console/api/graph?$top=%d", top))
		if got := identitiesOf(pages); fmt.Sprint(got) != "[id-0001 id-0004]" {
			t.Fatalf("$top=%d: identities %v", top, got)
		}
		for i, g := range pages {
			b, _ := json.Marshal(g)
			for _, other := range []string{"id-0000", "id-0002", "id-0003", "id-0005", "sa-0000", "sa-0002", "sa-0003", "sa-0005"} {
				if strings.Contains(string(b), other) {
					t.Errorf("$top=%d page %d shows %s: %s", top, i, other, b)
				}
			}
			for _, n := range g.Nodes {
				// The fixture's assignments are at the group and the vault,
				// which the reader may not read: none is drawn.
				if n.Kind == KindAssignment && !strings.Contains(strings.ToLower(n.Props["scope"]), "id-000") {
					t.Errorf("$top=%d: an assignment the reader may not read: %v", top, n.Props)
				}
			}
		}
	}
}

// TestGraphSkipTokenRefused: a token that was altered, cut, made up, given
// to another caller or carried to another query is a clear 400, never a
// page.
func TestGraphSkipTokenRefused(t *testing.T) {
	f := newFixture(t, 4, 0, 1)
	owner := f.grant(t, rbac.OwnerID, "/")
	other := f.grant(t, rbac.OwnerID, "/")
	c, _ := f.session(owner)
	st, b := f.do(t, c, "", "GET", "/console/api/graph?$top=1", "")
	var g Graph
	_ = json.Unmarshal(b, &g)
	if st != 200 || g.NextLink == "" {
		t.Fatalf("first page: %d %s", st, b)
	}
	u, _ := url.Parse(g.NextLink)
	tok := u.Query().Get("$skiptoken")
	with := func(q url.Values) string { return "/console/api/graph?" + q.Encode() }
	flip := []byte(tok)
	flip[len(flip)/2] ^= 1
	if flip[len(flip)/2] == '-' || flip[len(flip)/2] == '_' { // keep it base64
		flip[len(flip)/2] = 'A'
	}
	for _, tc := range []struct {
		name, who, path string
	}{
		{"altered", owner, with(url.Values{"$top": {"1"}, "limit": {"200"}, "$skiptoken": {string(flip)}})},
		{"cut", owner, with(url.Values{"$top": {"1"}, "limit": {"200"}, "$skiptoken": {tok[:len(tok)-4]}})},
		{"not base64", owner, with(url.Values{"$top": {"1"}, "limit": {"200"}, "$skiptoken": {"%%%"}})},
		{"made up", owner, with(url.Values{"$top": {"1"}, "limit": {"200"}, "$skiptoken": {"eyJzIjoiIiwiYSI6IiIsIm4iOjB9"}})},
		{"another query", owner, with(url.Values{"$top": {"1"}, "limit": {"200"}, "q": {"id"}, "$skiptoken": {tok}})},
		{"another page size", owner, with(url.Values{"$top": {"2"}, "limit": {"200"}, "$skiptoken": {tok}})},
		{"another caller", other, g.NextLink},
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
	// The untouched link still works.
	if st, b := f.do(t, c, "", "GET", g.NextLink, ""); st != 200 {
		t.Fatalf("next page: %d %s", st, b)
	}
	for _, bad := range []string{"$top=0", "$top=501", "$top=x", "limit=0", "limit=5001"} {
		if st, b := f.do(t, c, "", "GET", "/console/api/graph?"+bad, ""); st != http.StatusBadRequest {
			t.Errorf("%s: %d %s; want 400", bad, st, b)
		}
	}
}

// roleAt is an assignment of role to principal at scope.
func roleAt(principal, role, scope string) storage.RoleAssignment {
	return storage.RoleAssignment{ID: uuid.NewString(), Scope: scope, PrincipalID: principal, PrincipalType: "ServicePrincipal",
		RoleDefinitionID: role, CreatedAt: time.Now(), UpdatedAt: time.Now()}
}
