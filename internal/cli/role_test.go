package cli

import (
	"testing"

	"github.com/ward-id/ward/client"
)

// TestAssigneeForms: --assignee names a service principal by its app
// (client) ID or object ID in any case, or its display name exactly; else
// a managed identity by its client ID, principal ID or resource ID; else
// az's error that points at --assignee-object-id.
func TestAssigneeForms(t *testing.T) {
	sps := []client.ServicePrincipal{{ID: "0b1c2d3e-0000-4000-8000-000000000001", AppID: "a1b2c3d4-0000-4000-8000-000000000001", DisplayName: "ci"}}
	var mi client.Identity
	mi.ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app"
	mi.Properties.ClientID, mi.Properties.PrincipalID = "c1c1c1c1-0000-4000-8000-000000000001", "p1p1p1p1-0000-4000-8000-000000000001"
	ids := []client.Identity{mi}
	for _, tc := range []struct {
		name, assignee, want, wantErr string
	}{
		{"app ID", "a1b2c3d4-0000-4000-8000-000000000001", sps[0].ID, ""},
		{"app ID in capitals", "A1B2C3D4-0000-4000-8000-000000000001", sps[0].ID, ""},
		{"object ID", "0b1c2d3e-0000-4000-8000-000000000001", sps[0].ID, ""},
		{"display name", "ci", sps[0].ID, ""},
		{"display name in another case", "CI", "", "cannot find user or service principal in graph database for 'CI'. If the assignee is an object ID, use --assignee-object-id"},
		{"identity client ID", mi.Properties.ClientID, mi.Properties.PrincipalID, ""},
		{"identity principal ID", mi.Properties.PrincipalID, mi.Properties.PrincipalID, ""},
		{"identity resource ID in another case", "/SUBSCRIPTIONS/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/APP", mi.Properties.PrincipalID, ""},
		{"nobody", "nobody", "", "cannot find user or service principal in graph database for 'nobody'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := matchServicePrincipal(sps, tc.assignee)
			var err error
			if !ok {
				got, err = matchIdentity(ids, tc.assignee)
			}
			wantErr(t, tc.assignee, err, tc.wantErr)
			if got != tc.want {
				t.Errorf("assignee %q = %q, want %q", tc.assignee, got, tc.want)
			}
		})
	}
}

// TestExistingAssignment: a re-run role assignment create shows the
// assignment that is there only when it is the same role for the same
// principal at exactly the same scope.
func TestExistingAssignment(t *testing.T) {
	const (
		sub    = "/subscriptions/0b8f3c1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b"
		pid    = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
		reader = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	)
	assignment := func(name, scope, principal, role string) client.RoleAssignment {
		var a client.RoleAssignment
		a.Name = name
		a.Properties.Scope, a.Properties.PrincipalID = scope, principal
		a.Properties.RoleDefinitionID = sub + "/providers/Microsoft.Authorization/roleDefinitions/" + role
		return a
	}
	list := []client.RoleAssignment{
		assignment("above", "/", pid, reader),
		assignment("other-role", sub+"/resourceGroups/rg", pid, "b24988ac-6180-42a0-ab88-20f7382dd24c"),
		assignment("other-principal", sub+"/resourceGroups/rg", "11111111-2222-4333-8444-555555555555", reader),
		assignment("it", sub+"/resourceGroups/rg", pid, reader),
	}
	for _, tc := range []struct {
		name, scope, principal, role, want string
	}{
		{"same scope, role by its ID", sub + "/resourceGroups/rg", pid, "/providers/Microsoft.Authorization/roleDefinitions/" + reader, "it"},
		{"scope with a trailing slash, another case", sub + "/RESOURCEGROUPS/RG/", pid, reader, "it"},
		{"principal in capitals", sub + "/resourceGroups/rg", "9D8C7B6A-5F4E-4D3C-8B2A-1F0E9D8C7B6A", reader, "it"},
		{"inherited from above is not it", sub, pid, reader, ""},
		{"another role", sub + "/resourceGroups/rg", pid, "4633458b-17de-408a-b874-0445c86b69e6", ""},
		{"a child scope", sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv", pid, reader, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, ok := matchAssignment(list, tc.scope, tc.principal, tc.role)
			if ok != (tc.want != "") || a.Name != tc.want {
				t.Errorf("matchAssignment(%s, %s, %s) = %q, %v; want %q", tc.scope, tc.principal, tc.role, a.Name, ok, tc.want)
			}
		})
	}
}
