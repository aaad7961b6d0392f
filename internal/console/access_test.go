package console

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/rbac"
	"github.com/ward-id/ward/internal/storage"
)

// TestCheckAnswersNoWiderThanARM: "can X do Y?" about another principal
// shows only the assignments the caller could list through ARM (at scopes
// where it holds roleAssignments/read, and those inherited at the scope it
// asked about), and the principal's name only when the caller may read the
// principal. A Reader of one group used to get every assignment of any
// principal at every scope, and its name.
func TestCheckAnswersNoWiderThanARM(t *testing.T) {
	f := newFixture(t, 1, 1, 3) // id-0000: Reader, Key Vault Secrets User and Contributor in 'apps'
	ctx := context.Background()
	sub := "/subscriptions/" + f.sub
	apps, other := sub+"/resourceGroups/apps", sub+"/resourceGroups/other"
	target, err := f.store.GetIdentity(ctx, storage.IdentityRef{SubscriptionID: f.sub, ResourceGroup: "apps", Name: "id-0000"})
	if err != nil {
		t.Fatal(err)
	}
	addAssignment := func(principal, scope, role string) string {
		t.Helper()
		id := uuid.NewString()
		if err := f.store.CreateRoleAssignment(ctx, storage.RoleAssignment{ID: id, Scope: scope, PrincipalID: principal, PrincipalType: "ServicePrincipal",
			RoleDefinitionID: role, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := f.access.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		return id
	}
	atOther := addAssignment(target.PrincipalID, other, rbac.ReaderID)
	atSub := addAssignment(target.PrincipalID, sub, rbac.ReaderID)
	otherReader := f.grant(t, rbac.ReaderID, other)
	appsReader := f.grant(t, rbac.ReaderID, apps)
	owner := f.grant(t, rbac.OwnerID, "/")
	// A service principal the readers may not read through the directory.
	hidden := f.grant(t, rbac.ReaderID, other)

	check := func(t *testing.T, caller, principal, scope string) CheckResult {
		t.Helper()
		c, _ := f.session(caller)
		q := url.Values{"principal": {principal}, "scope": {scope}, "action": {"Microsoft.Resources/subscriptions/resourceGroups/read"}}
		st, b := f.do(t, c, "", "GET", "/console/api/check?"+q.Encode(), "")
		if st != 200 {
			t.Fatalf("check: %d %s", st, b)
		}
		var res CheckResult
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	ids := func(res CheckResult) []string {
		var out []string
		for _, a := range res.Assignments {
			out = append(out, a.ID)
		}
		return out
	}
	cases := []struct {
		name, caller, principal, scope string
		wantIDs                        []string
		wantName                       string
		wantAllowed                    bool
	}{
		{"reader of another group sees the assignments there and inherited, not the identity's name", otherReader, target.PrincipalID, other,
			[]string{atOther, atSub}, "", true},
		{"a client ID of an identity the caller may not read is not resolved", otherReader, target.ClientID, other,
			[]string{}, "", false},
		{"a service principal the caller may not read: no name", otherReader, hidden, other,
			nil, "", true},
		{"reader of the identity's group reads its name", appsReader, target.PrincipalID, apps,
			nil, "id-0000", true},
		{"owner at / sees everything", owner, target.ClientID, other,
			nil, "id-0000", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := check(t, tc.caller, tc.principal, tc.scope)
			if res.PrincipalName != tc.wantName || res.Allowed != tc.wantAllowed {
				t.Errorf("name %q allowed %v, want %q %v (%s)", res.PrincipalName, res.Allowed, tc.wantName, tc.wantAllowed, res.Summary)
			}
			got := ids(res)
			for _, a := range res.Assignments {
				scopeOK := f.access.Allowed(tc.caller, actionAssignmentRead, a.Scope) || a.Applies
				if !scopeOK {
					t.Errorf("assignment %s at %s shown to a caller that may not read it", a.ID, a.Scope)
				}
			}
			if tc.wantIDs != nil && !sameSet(got, tc.wantIDs) {
				t.Errorf("assignments %v, want %v", got, tc.wantIDs)
			}
		})
	}
	// The owner still sees all five of the identity's assignments.
	if got := check(t, owner, target.PrincipalID, other); len(got.Assignments) != 5 {
		t.Errorf("owner sees %d assignments, want 5", len(got.Assignments))
	}
	// The hidden principal's Reader at 'other' is shown, its name is not.
	if got := check(t, otherReader, hidden, other); len(got.Assignments) != 1 || got.PrincipalName != "" {
		t.Errorf("hidden principal: %+v", got)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

// TestViewsNameOnlyReadablePrincipals: the explorer shows an assignment the
// caller may read, but names its principal (and links to its identity) only
// when the caller may read that principal too.
func TestViewsNameOnlyReadablePrincipals(t *testing.T) {
	f := newFixture(t, 1, 0, 1)
	apps := "/subscriptions/" + f.sub + "/resourceGroups/apps"
	sp := f.grant(t, rbac.ReaderID, apps) // a principal the reader may not read
	reader := f.grant(t, rbac.ReaderID, apps)
	c, _ := f.session(reader)
	st, b := f.do(t, c, "", "GET", "/console/api/explorer", "")
	if st != 200 {
		t.Fatalf("explorer: %d %s", st, b)
	}
	var e Explorer
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, a := range e.RoleAssignments {
		switch a.Props["principalId"] {
		case sp:
			seen++
			if a.Props["principal"] != sp || strings.HasPrefix(a.Props["principal"], "sp-") {
				t.Errorf("unreadable principal named %q", a.Props["principal"])
			}
		case reader:
			seen++
			if a.Props["principal"] != "sp-"+reader[:8] {
				t.Errorf("the caller's own name is %q", a.Props["principal"])
			}
		default:
			if a.Props["principal"] != "id-0000" || len(a.Links) == 0 || !strings.HasSuffix(a.Links[0].ID, "/id-0000") {
				t.Errorf("a readable identity's assignment: %+v", a)
			}
		}
	}
	if seen != 2 || len(e.ServicePrincipals) != 1 {
		t.Errorf("assignments %d of the two principals, %d service principals listed (want 2, 1: itself)", seen, len(e.ServicePrincipals))
	}
}
