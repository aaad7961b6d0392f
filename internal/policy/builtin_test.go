package policy

import (
	"encoding/json"
	"testing"
)

func values(t *testing.T, d *Definition, assigned string) map[string]any {
	t.Helper()
	var a map[string]json.RawMessage
	if err := json.Unmarshal([]byte(assigned), &a); err != nil {
		t.Fatal(err)
	}
	v, err := d.Values(a)
	if err != nil {
		t.Fatalf("values %s: %v", assigned, err)
	}
	return v
}

// TestBuiltIns evaluates each built-in on credentials and role assignments
// it must allow and refuse.
func TestBuiltIns(t *testing.T) {
	const (
		aks    = "https://westeurope.oic.prod-aks.azure.com/11111111-1111-1111-1111-111111111111/22222222-2222-2222-2222-222222222222/"
		wardIs = "https://127.0.0.1:8443/oidc/t/33333333-3333-3333-3333-333333333333/"
		gh     = "https://token.actions.githubusercontent.com"
	)
	clusters := func(iss string) map[string]any {
		if iss != wardIs {
			return nil
		}
		return map[string]any{"id": "/subscriptions/s/resourceGroups/prod/providers/Microsoft.ContainerService/managedClusters/c1", "name": "c1",
			"resourceGroupId": "/subscriptions/s/resourceGroups/prod", "tags": map[string]any{"Tier": "prod"}}
	}
	role := func(scope, roleID, ptype string) *Resource {
		body := map[string]any{"properties": map[string]any{"scope": scope, "principalId": "p", "principalType": ptype,
			"roleDefinitionId": "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/" + roleID}}
		return NewResource(scope+"/providers/Microsoft.Authorization/roleAssignments/x", "Microsoft.Authorization/roleAssignments", body)
	}
	for _, tc := range []struct {
		name, def, params string
		res               *Resource
		match             bool
	}{
		{"issuer types: none allowed by default", BuiltInFICIssuerTypes, `{}`, fic(gh, "repo:o/r:ref"), true},
		{"issuer types: GitHub allowed", BuiltInFICIssuerTypes, `{"allowFederatedCredentials":{"value":true},"allowGitHub":{"value":true}}`, fic(gh, "repo:o/r:ref"), false},
		{"issuer types: AKS not allowed", BuiltInFICIssuerTypes, `{"allowFederatedCredentials":{"value":true},"allowGitHub":{"value":true}}`, fic(aks, "system:serviceaccount:a:b"), true},
		{"issuer types: AKS allowed", BuiltInFICIssuerTypes, `{"allowFederatedCredentials":{"value":true},"allowAKS":{"value":true}}`, fic(aks, "s"), false},
		{"issuer types: other refused", BuiltInFICIssuerTypes, `{"allowFederatedCredentials":{"value":true}}`, fic("https://dex.example.com", "s"), true},
		{"issuer types: other excepted", BuiltInFICIssuerTypes, `{"allowFederatedCredentials":{"value":true},"allowedIssuerExceptions":{"value":["https://DEX.example.com"]}}`, fic("https://dex.example.com", "s"), false},
		{"issuer types: Ward cluster refused", BuiltInFICIssuerTypes, `{"allowFederatedCredentials":{"value":true}}`, fic(wardIs, "s"), true},
		{"issuer types: Ward cluster allowed", BuiltInFICIssuerTypes, `{"allowFederatedCredentials":{"value":true},"allowWardClusters":{"value":true}}`, fic(wardIs, "s"), false},
		{"AKS: tenant allowed", BuiltInFICTrustedAKS, `{"allowedTenants":{"value":["11111111-1111-1111-1111-111111111111"]}}`, fic(aks, "s"), false},
		{"AKS: tenant refused", BuiltInFICTrustedAKS, `{"allowedTenants":{"value":["99999999-1111-1111-1111-111111111111"]}}`, fic(aks, "s"), true},
		{"AKS: every tenant, location refused", BuiltInFICTrustedAKS, `{"allowedTenants":{"value":[]},"allowedLocations":{"value":["eastus"]}}`, fic(aks, "s"), true},
		{"AKS: location allowed", BuiltInFICTrustedAKS, `{"allowedTenants":{"value":[]},"allowedLocations":{"value":["WestEurope"]}}`, fic(aks, "s"), false},
		{"AKS: cluster exception", BuiltInFICTrustedAKS, `{"allowedTenants":{"value":["x"]},"allowedClusterExceptions":{"value":["22222222-2222-2222-2222-222222222222"]}}`, fic(aks, "s"), false},
		{"AKS: not an AKS issuer", BuiltInFICTrustedAKS, `{"allowedTenants":{"value":["x"]}}`, fic(gh, "s"), false},
		{"GitHub: owner allowed", BuiltInFICGitHubOwners, `{"allowedRepoOwners":{"value":["contoso"]}}`, fic(gh, "repo:Contoso/app:ref:refs/heads/main"), false},
		{"GitHub: owner refused", BuiltInFICGitHubOwners, `{"allowedRepoOwners":{"value":["contoso"]}}`, fic(gh, "repo:evil/app:ref:refs/heads/main"), true},
		{"GitHub: repo exception", BuiltInFICGitHubOwners, `{"allowedRepoOwners":{"value":["contoso"]},"allowedRepoExceptions":{"value":["evil/app"]}}`, fic(gh, "repo:evil/app:environment:prod"), false},
		{"GitHub: malformed subject refused", BuiltInFICGitHubOwners, `{"allowedRepoOwners":{"value":["contoso"]}}`, fic(gh, "nonsense"), true},
		{"GitHub: other issuer ignored", BuiltInFICGitHubOwners, `{"allowedRepoOwners":{"value":["contoso"]}}`, fic(aks, "repo:evil/app:x"), false},
		{"Ward: cluster listed", BuiltInFICWardClusters, `{"allowedClusterIds":{"value":["/subscriptions/s/resourceGroups/prod/providers/Microsoft.ContainerService/managedClusters/C1"]}}`, fic(wardIs, "s"), false},
		{"Ward: group listed", BuiltInFICWardClusters, `{"allowedResourceGroupIds":{"value":["/subscriptions/s/resourceGroups/prod"]}}`, fic(wardIs, "s"), false},
		{"Ward: tag matches", BuiltInFICWardClusters, `{"allowedClusterTagName":{"value":"tier"},"allowedClusterTagValue":{"value":"PROD"}}`, fic(wardIs, "s"), false},
		{"Ward: tag any value", BuiltInFICWardClusters, `{"allowedClusterTagName":{"value":"tier"}}`, fic(wardIs, "s"), false},
		{"Ward: tag value differs", BuiltInFICWardClusters, `{"allowedClusterTagName":{"value":"tier"},"allowedClusterTagValue":{"value":"dev"}}`, fic(wardIs, "s"), true},
		{"Ward: other cluster group", BuiltInFICWardClusters, `{"allowedResourceGroupIds":{"value":["/subscriptions/s/resourceGroups/dev"]}}`, fic(wardIs, "s"), true},
		{"Ward: foreign issuer refused", BuiltInFICWardClusters, `{"allowedResourceGroupIds":{"value":["/subscriptions/s/resourceGroups/prod"]}}`, fic(gh, "repo:o/r:x"), true},
		{"Ward: foreign issuer excepted", BuiltInFICWardClusters, `{"allowedIssuerExceptions":{"value":["https://token.actions.githubusercontent.com"]}}`, fic(gh, "repo:o/r:x"), false},
		{"roles: Owner at subscription", BuiltInNoPrivilegedRole, `{}`, role("/subscriptions/s", RoleOwner, "ServicePrincipal"), true},
		{"roles: Contributor at root", BuiltInNoPrivilegedRole, `{}`, role("/", RoleContributor, "ServicePrincipal"), true},
		{"roles: UAA at a management group", BuiltInNoPrivilegedRole, `{}`, role("/providers/Microsoft.Management/managementGroups/mg", RoleUserAccessAdministrator, "ServicePrincipal"), true},
		{"roles: Owner at a group", BuiltInNoPrivilegedRole, `{}`, role("/subscriptions/s/resourceGroups/rg", RoleOwner, "ServicePrincipal"), false},
		{"roles: Reader at subscription", BuiltInNoPrivilegedRole, `{}`, role("/subscriptions/s", "acdd72a7-3385-48ef-bd42-f606fba81ae7", "ServicePrincipal"), false},
		{"roles: a user", BuiltInNoPrivilegedRole, `{}`, role("/subscriptions/s", RoleOwner, "User"), false},
		{"roles: custom list", BuiltInNoPrivilegedRole, `{"privilegedRoleIds":{"value":["acdd72a7-3385-48ef-bd42-f606fba81ae7"]}}`, role("/subscriptions/s", "ACDD72A7-3385-48ef-bd42-f606fba81ae7", "ServicePrincipal"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := BuiltIn(tc.def)
			if !ok {
				t.Fatalf("no built-in %s", tc.def)
			}
			got := d.Evaluate(tc.res, values(t, d, tc.params), Context{Cluster: clusters})
			if got.Err != nil || got.Match != tc.match || got.Effect != "audit" {
				t.Fatalf("%s on %+v: %+v, want match %v with effect audit", tc.def, tc.res.Body, got, tc.match)
			}
		})
	}
}

// TestBuiltInsRequiredParameters: the parameters Azure declares without a
// default must be given, as in Azure.
func TestBuiltInsRequiredParameters(t *testing.T) {
	for _, name := range []string{BuiltInFICTrustedAKS, BuiltInFICGitHubOwners} {
		d, _ := BuiltIn(name)
		if _, err := d.Values(nil); err == nil {
			t.Fatalf("%s: no error without its required parameter", name)
		}
	}
	if len(BuiltIns()) != 5 {
		t.Fatalf("built-ins = %d", len(BuiltIns()))
	}
}
