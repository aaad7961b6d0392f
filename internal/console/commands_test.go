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
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/shellquote/shellquotetest"
	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/wardtest"
)

// cliStrings collects every "cli" string in a console API answer.
func cliStrings(t *testing.T, body []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("answer is not JSON: %v: %.300s", err, body)
	}
	var out []string
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "cli" && s != "" {
					out = append(out, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// TestCommandsQuoteHostileValues plants hostile names and values where
// callers choose them (the reproductions: a subject recorded from an
// assertion, a custom role's name, a role assignment's scope under an
// unknown provider; and, as defence in depth, every other name the console
// puts in a command), reads the explorer, the graph and the sign-in log as
// an Owner, and runs every "Equivalent command" under sh -c: each value
// reaches ward as one argument, byte for byte, and nothing else runs.
func TestCommandsQuoteHostileValues(t *testing.T) {
	f := newFixture(t, 0, 0, 0)
	ctx := context.Background()
	now := time.Now().UTC()
	owner := f.grant(t, rbac.OwnerID, "/")
	sub := f.sub
	var want [][]string
	for _, v := range shellquotetest.Hostile {
		if v == "" {
			continue // no store holds an empty name; Quote's own test covers ''
		}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("plant %q: %v", v, err)
			}
		}
		_, err := f.store.PutResourceGroup(ctx, storage.ResourceGroup{SubscriptionID: sub, Name: v, Location: "westeurope", CreatedAt: now, UpdatedAt: now})
		must(err)
		id := storage.Identity{SubscriptionID: sub, ResourceGroup: v, Name: v, Location: "westeurope", TenantID: wardtest.TenantID,
			ClientID: uuid.NewString(), PrincipalID: uuid.NewString(), IsolationScope: "None", CreatedAt: now, UpdatedAt: now}
		must(f.store.CreateIdentity(ctx, id))
		_, err = f.store.PutFederatedCredential(ctx, storage.FederatedCredential{Identity: id.Ref(), Name: v, Issuer: "https://issuer.example.com/" + v,
			Subject: "system:serviceaccount:default:" + v, Audiences: []string{"api://AzureADTokenExchange"}, CreatedAt: now, UpdatedAt: now}, nil)
		must(err)
		_, err = f.store.PutVault(ctx, storage.Vault{SubscriptionID: sub, ResourceGroup: v, Name: v, Location: "westeurope", TenantID: wardtest.TenantID, SKU: "standard", CreatedAt: now, UpdatedAt: now})
		must(err)
		must(f.store.CreateServicePrincipal(ctx, storage.ServicePrincipal{ObjectID: uuid.NewString(), AppID: v, TenantID: wardtest.TenantID, DisplayName: v, CreatedAt: now}))
		// A custom role named x"; curl …; echo " (an Owner of one group may make one).
		must(f.store.CreateRoleDefinition(ctx, storage.RoleDefinition{ID: uuid.NewString(), Name: v, AssignableScopes: []string{"/subscriptions/" + sub},
			Permissions: []storage.RolePermission{{Actions: []string{"*/read"}}}, CreatedAt: now, UpdatedAt: now}))
		// A role assignment at a scope under a provider Ward does not know.
		scope := resourceid.ResourceGroupID(sub, "apps") + "/providers/Contoso.Evil/things/x" + v
		must(f.store.CreateRoleAssignment(ctx, storage.RoleAssignment{ID: uuid.NewString(), Scope: scope, PrincipalID: id.PrincipalID, PrincipalType: "ServicePrincipal",
			RoleDefinitionID: rbac.ReaderID, CreatedAt: now, UpdatedAt: now}))
		// A refused exchange whose (verified) subject and issuer are hostile.
		iss, subject := "https://issuer.example.com/"+v, "system:serviceaccount:default:app"+v
		iid := resourceid.IdentityID(sub, v, v)
		must(f.store.RecordSignIn(ctx, storage.SignIn{ID: uuid.NewString(), Time: now, TenantID: wardtest.TenantID, ClientID: id.ClientID, PrincipalID: id.PrincipalID,
			IdentityID: iid, Credential: "federated", Result: "failure", ErrorCode: 700213, Reason: "AADSTS700213: no match.", Issuer: iss, Subject: subject, Verified: true}))

		want = append(want,
			[]string{"ward", "group", "show", "-n", v},
			[]string{"ward", "identity", "show", "-g", v, "-n", v},
			[]string{"ward", "identity", "federated-credential", "show", "-g", v, "--identity-name", v, "-n", v},
			[]string{"ward", "keyvault", "show", "-g", v, "-n", v},
			[]string{"ward", "ad", "sp", "show", "--id", strings.ToLower(v)}, // the store keeps app IDs in lower case
			[]string{"ward", "role", "definition", "list", "--name", v},
			[]string{"ward", "role", "assignment", "list", "--assignee", id.PrincipalID, "--scope", scope},
			[]string{"ward", "role", "assignment", "list", "--scope", scope},
			[]string{"ward", "identity", "federated-credential", "create", "-g", v, "--identity-name", v, "-n", ficName(subject),
				"--issuer", iss, "--subject", subject, "--audiences", "api://AzureADTokenExchange"},
		)
	}
	if err := f.access.Reload(ctx); err != nil {
		t.Fatal(err)
	}

	c, _ := f.session(owner)
	var cmds []string
	for _, path := range []string{"/console/api/explorer", "/console/api/graph?limit=5000", "/console/api/signins",
		"/console/api/graph?start=" + url.QueryEscape(resourceid.ResourceGroupID(sub, "apps"))} {
		st, b := f.do(t, c, "", "GET", path, "")
		if st != 200 {
			t.Fatalf("GET %s: %d %s", path, st, b)
		}
		cmds = append(cmds, cliStrings(t, b)...)
	}
	seen := map[string]bool{}
	for _, cmd := range cmds {
		if seen[cmd] {
			continue
		}
		seen[cmd] = true
		for _, run := range shellquotetest.Run(t, cmd, "ward") {
			seen[strings.Join(run, "\x00")] = true
		}
	}
	for _, w := range want {
		if !seen[strings.Join(w, "\x00")] {
			t.Errorf("no console command runs as %q", w)
		}
	}
	if t.Failed() {
		t.Logf("the console rendered %d commands", len(cmds))
	}
}

// TestFixOnlyForVerifiedAssertions: a refused exchange whose assertion no
// trusted issuer's key vouched for (anyone who knows a client ID can send
// one, self-signed) gets no fix; the same refusal, verified, does.
func TestFixOnlyForVerifiedAssertions(t *testing.T) {
	f := newFixture(t, 1, 1, 0)
	ctx := context.Background()
	owner := f.grant(t, rbac.OwnerID, "/")
	ids, _, err := f.store.ListIdentities(ctx, storage.IdentityFilter{SubscriptionID: f.sub}, storage.Page{Limit: 1})
	if err != nil || len(ids) != 1 {
		t.Fatalf("identities: %v %v", ids, err)
	}
	id := ids[0]
	rec := func(verified bool) storage.SignIn {
		return storage.SignIn{ID: uuid.NewString(), Time: time.Now().UTC(), TenantID: wardtest.TenantID, ClientID: id.ClientID, PrincipalID: id.PrincipalID,
			IdentityID: resourceid.IdentityID(f.sub, id.ResourceGroup, id.Name), Credential: "federated", Result: "failure", ErrorCode: 700213,
			Reason: "AADSTS700213: No matching federated identity record found for presented assertion subject.", Issuer: "https://issuer.example.com/cluster-0/",
			Subject: "system:serviceaccount:default:app", Verified: verified}
	}
	unverified, verified := rec(false), rec(true)
	for _, r := range []storage.SignIn{unverified, verified} {
		if err := f.store.RecordSignIn(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := f.session(owner)
	st, b := f.do(t, c, "", "GET", "/console/api/signins", "")
	var got struct{ Value []SignInJSON }
	if err := json.Unmarshal(b, &got); st != 200 || err != nil {
		t.Fatalf("sign-ins: %d %s", st, b)
	}
	rows := map[string]SignInJSON{}
	for _, r := range got.Value {
		rows[r.ID] = r
	}
	if r, ok := rows[unverified.ID]; !ok || r.Fix != nil || r.Verified {
		t.Errorf("unverified assertion: row %+v (fix %+v), want a row without a fix", r, r.Fix)
	}
	if r, ok := rows[verified.ID]; !ok || r.Fix == nil || !r.Fix.CanApply || !r.Verified {
		t.Errorf("verified assertion: row %+v, want the fix", r)
	}
}
