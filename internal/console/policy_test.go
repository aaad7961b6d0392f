package console_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/server/servertest"
)

// TestConsolePolicyListsNonCompliant drives the real server: a credential
// written before a deny assignment of the GitHub-owners built-in does not
// comply, and the policy view lists it (with its assignment, definition
// and effect) to a caller that may query the policy states of its scope,
// through the same scan as policyStates queryResults. A Reader of one
// group sees that group's resource and not another group's; a principal
// without a role sees nothing.
func TestConsolePolicyListsNonCompliant(t *testing.T) {
	srv := servertest.Start(t)
	admin := srv.Token(t, srv.URL)
	sub := "/subscriptions/" + srv.Admin.SubscriptionID
	put := func(path, body string) {
		t.Helper()
		resp, b := srv.Do(t, "PUT", path, admin, strings.NewReader(body))
		if resp.StatusCode != 200 && resp.StatusCode != 201 {
			t.Fatalf("PUT %s: %d %s", path, resp.StatusCode, b)
		}
	}
	fic := func(g string) string {
		return sub + "/resourceGroups/" + g + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app/federatedIdentityCredentials/before"
	}
	for _, g := range []string{"pol", "other"} {
		put(sub+"/resourceGroups/"+g+"?api-version=2021-04-01", `{"location":"westeurope"}`)
		put(sub+"/resourceGroups/"+g+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app?api-version=2023-01-31", `{"location":"westeurope"}`)
		put(fic(g)+"?api-version=2023-01-31", `{"properties":{"issuer":"https://token.actions.githubusercontent.com","subject":"repo:evil/app:ref:refs/heads/main","audiences":["api://AzureADTokenExchange"]}}`)
	}
	const def = "/providers/Microsoft.Authorization/policyDefinitions/fd1a8e20-2c4f-4a6c-9354-b58d786d9a1f"
	put(sub+"/providers/Microsoft.Authorization/policyAssignments/github-owners?api-version=2021-06-01",
		`{"properties":{"policyDefinitionId":"`+def+`","parameters":{"allowedRepoOwners":{"value":["contoso"]},"effect":{"value":"Deny"}}}}`)

	// A principal with a role at one group only, and one with none.
	token := func(name, roleScope string) string {
		t.Helper()
		id, appID, _, secrets := spWithSecrets(t, srv, admin, name)
		if roleScope != "" {
			put(roleScope+"/providers/Microsoft.Authorization/roleAssignments/"+uuid.NewString()+"?api-version=2022-04-01",
				`{"properties":{"roleDefinitionId":"/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7","principalId":"`+id+`"}}`)
		}
		tok, err := (&client.ClientCredentials{AuthorityHost: srv.Admin.AuthorityHost, TenantID: srv.Admin.TenantID, ClientID: appID, ClientSecret: secrets[0],
			Resource: srv.URL, HTTP: srv.HTTP}).Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	cases := []struct {
		name, token string
		want        []string
	}{
		{"owner at / sees both groups", admin, []string{fic("pol"), fic("other")}},
		{"reader of one group sees only it", token("pol-reader", sub+"/resourceGroups/pol"), []string{fic("pol")}},
		{"no role sees nothing", token("no-role", ""), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			br, _ := signIn(t, srv, tc.token)
			st, out := br.do("GET", "/console/api/policy", "")
			if st != 200 {
				t.Fatalf("policy: %d %v", st, out)
			}
			var got []string
			for _, v := range out["value"].([]any) {
				row := v.(map[string]any)
				if row["policyAssignmentName"] != "github-owners" {
					continue
				}
				got = append(got, row["resourceId"].(string))
				if row["effect"] != "deny" || row["policyDefinitionId"] != def || row["subscriptionId"] != srv.Admin.SubscriptionID ||
					row["policyAssignmentId"] != sub+"/providers/Microsoft.Authorization/policyAssignments/github-owners" ||
					!strings.Contains(row["policyDefinitionDisplayName"].(string), "GitHub") ||
					!strings.EqualFold(row["resourceType"].(string), "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials") {
					t.Errorf("row = %v", row)
				}
			}
			if !sameIDs(got, tc.want) {
				t.Errorf("non-compliant resources %v, want %v", got, tc.want)
			}
		})
	}
}

func sameIDs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[strings.ToLower(x)]++
	}
	for _, x := range b {
		m[strings.ToLower(x)]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}
