package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/postgrestest"
)

// Built-in policy definitions, by the GUIDs clients name them with.
const (
	policyGitHubOwners  = "fd1a8e20-2c4f-4a6c-9354-b58d786d9a1f"
	policyWardClusters  = "63696c7e-ecbc-4317-ad1c-aa07e32be347"
	policyNoPrivileged  = "ab3834e4-c5d7-4b47-9c29-eb5c94e23eb2"
	policyAPI           = "?api-version=2021-06-01"
	ficAPI              = "?api-version=2023-01-31"
	githubIssuer        = "https://token.actions.githubusercontent.com"
	policyStatesAPI     = "?api-version=2019-10-01"
	builtInPolicyPrefix = "/providers/Microsoft.Authorization/policyDefinitions/"
)

func ficJSON(issuer, subject string) string {
	return `{"properties":{"issuer":"` + issuer + `","subject":"` + subject + `","audiences":["api://AzureADTokenExchange"]}}`
}

// assignPolicy assigns a definition at scope with parameters (a JSON
// object of {"name":{"value":...}}) and extra properties.
func (w *ward) assignPolicy(t *testing.T, scope, name, definitionID, params, extra string) {
	t.Helper()
	body := `{"properties":{"policyDefinitionId":"` + definitionID + `","parameters":` + params + extra + `}}`
	st, out, _ := w.request("PUT", strings.TrimSuffix(scope, "/")+"/providers/Microsoft.Authorization/policyAssignments/"+name+policyAPI, body)
	if st != 201 && st != 200 {
		t.Fatalf("assign %s at %s: %d %v", name, scope, st, out)
	}
}

// TestPolicyDenyAuditAndStates: an assignment of a built-in denies the
// writes its rule matches with Azure's 403 RequestDisallowedByPolicy and
// writes nothing; notScopes and DoNotEnforce exempt; audits are recorded;
// the compliance scan lists what does not comply; role assignments of
// privileged roles at subscription scope are refused; Ward's clusters
// built-in allows its own clusters' issuers by group.
func TestPolicyDenyAuditAndStates(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	sub := "/subscriptions/" + w.admin.SubscriptionID
	rg, sandbox := sub+"/resourceGroups/pol", sub+"/resourceGroups/pol-sandbox"
	for _, g := range []string{rg, sandbox} {
		if st, b, _ := w.request("PUT", g+"?api-version=2021-04-01", `{"location":"westeurope"}`); st != 201 {
			t.Fatalf("group %s: %d %v", g, st, b)
		}
		if st, b, _ := w.request("PUT", g+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app"+ficAPI, `{"location":"westeurope"}`); st != 201 {
			t.Fatalf("identity: %d %v", st, b)
		}
	}
	fic := func(g, name string) string {
		return g + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app/federatedIdentityCredentials/" + name + ficAPI
	}
	// Before any assignment, anything goes.
	if st, b, _ := w.request("PUT", fic(rg, "before"), ficJSON(githubIssuer, "repo:evil/app:ref:refs/heads/main")); st != 201 {
		t.Fatalf("fic before policy: %d %v", st, b)
	}
	w.assignPolicy(t, sub, "github-owners", builtInPolicyPrefix+policyGitHubOwners,
		`{"allowedRepoOwners":{"value":["contoso"]},"effect":{"value":"Deny"}}`, `,"displayName":"Only contoso repos","notScopes":["`+sandbox+`"]`)

	st, body, _ := w.request("PUT", fic(rg, "evil"), ficJSON(githubIssuer, "repo:evil/app:ref:refs/heads/main"))
	if st != 403 {
		t.Fatalf("denied fic: %d %v", st, body)
	}
	e := body["error"].(map[string]any)
	assignmentID := sub + "/providers/Microsoft.Authorization/policyAssignments/github-owners"
	wantMsg := `Resource 'evil' was disallowed by policy. Policy identifiers: '[{"policyAssignment":{"name":"Only contoso repos","id":"` + assignmentID +
		`"},"policyDefinition":{"name":"[Preview]: Managed Identity Federated Credentials from GitHub should be from trusted repository owners","id":"` + builtInPolicyPrefix + policyGitHubOwners + `"}}]'.`
	if e["code"] != "RequestDisallowedByPolicy" || e["target"] != "evil" || e["message"] != wantMsg {
		t.Fatalf("deny error = %v\nwant message %s", e, wantMsg)
	}
	infos := e["additionalInfo"].([]any)
	info := infos[0].(map[string]any)
	if info["type"] != "PolicyViolation" {
		t.Fatalf("additionalInfo = %v", infos)
	}
	in := info["info"].(map[string]any)
	for k, want := range map[string]string{"policyDefinitionName": policyGitHubOwners, "policyDefinitionEffect": "deny", "policyAssignmentId": assignmentID,
		"policyAssignmentName": "github-owners", "policyAssignmentScope": sub, "policyDefinitionId": builtInPolicyPrefix + policyGitHubOwners} {
		if in[k] != want {
			t.Errorf("info.%s = %v, want %s", k, in[k], want)
		}
	}
	exprs := in["evaluationDetails"].(map[string]any)["evaluatedExpressions"].([]any)
	first := exprs[0].(map[string]any)
	if first["expression"] != "type" || first["result"] != "True" || first["operator"] != "Equals" || first["path"] != "type" {
		t.Fatalf("first evaluated expression = %v", first)
	}
	// Nothing was written.
	if st, _, _ := w.request("GET", fic(rg, "evil"), ""); st != 404 {
		t.Fatalf("denied fic was stored: %d", st)
	}
	// What the policy allows, and what notScopes exempt, is written.
	if st, b, _ := w.request("PUT", fic(rg, "good"), ficJSON(githubIssuer, "repo:Contoso/app:ref:refs/heads/main")); st != 201 {
		t.Fatalf("allowed fic: %d %v", st, b)
	}
	if st, b, _ := w.request("PUT", fic(sandbox, "evil"), ficJSON(githubIssuer, "repo:evil/app:ref:refs/heads/main")); st != 201 {
		t.Fatalf("fic under notScopes: %d %v", st, b)
	}

	// The compliance scan: the credential written before the assignment
	// does not comply; the allowed one does.
	states := func(filter string) []any {
		t.Helper()
		st, b, _ := w.request("POST", sub+"/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults"+policyStatesAPI+filter, "")
		if st != 200 {
			t.Fatalf("queryResults: %d %v", st, b)
		}
		return b["value"].([]any)
	}
	var nonCompliant []string
	compliant := 0
	for _, s := range states("") {
		m := s.(map[string]any)
		if m["policyAssignmentName"] != "github-owners" {
			continue
		}
		if m["complianceState"] == "NonCompliant" {
			nonCompliant = append(nonCompliant, m["resourceId"].(string))
		} else {
			compliant++
		}
	}
	if len(nonCompliant) != 1 || !strings.HasSuffix(nonCompliant[0], "/federatedIdentityCredentials/before") || compliant != 1 {
		t.Fatalf("states: non-compliant %v, %d compliant; want only 'before' (the sandbox is excluded, 'good' complies)", nonCompliant, compliant)
	}
	if got := states("&$filter=" + "complianceState%20eq%20'NonCompliant'"); len(got) != 1 {
		t.Fatalf("filtered states = %v", got)
	}
	st, sum, _ := w.request("POST", sub+"/providers/Microsoft.PolicyInsights/policyStates/latest/summarize"+policyStatesAPI, "")
	if st != 200 {
		t.Fatalf("summarize: %d %v", st, sum)
	}
	results := sum["value"].([]any)[0].(map[string]any)["results"].(map[string]any)
	if results["nonCompliantResources"] != float64(1) || results["nonCompliantPolicies"] != float64(1) {
		t.Fatalf("summary = %v", results)
	}

	// DoNotEnforce: the write proceeds and is audited.
	w.assignPolicy(t, sub, "github-owners", builtInPolicyPrefix+policyGitHubOwners,
		`{"allowedRepoOwners":{"value":["contoso"]},"effect":{"value":"Deny"}}`, `,"enforcementMode":"DoNotEnforce"`)
	if st, b, _ := w.request("PUT", fic(rg, "evil"), ficJSON(githubIssuer, "repo:evil/other:ref:refs/heads/main")); st != 201 {
		t.Fatalf("fic under DoNotEnforce: %d %v", st, b)
	}
	st, events, _ := w.request("GET", sub+"/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01&$filter="+
		"eventTimestamp%20ge%20'"+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)+"'", "")
	if st != 200 || !strings.Contains(mustJSON(t, events), "Microsoft.Authorization/policies/audit/action") {
		t.Fatalf("activity log has no policy audit record: %d %s", st, mustJSON(t, events))
	}

	// No Owner for a workload at the subscription; at a group it is fine.
	w.assignPolicy(t, sub, "no-privileged", builtInPolicyPrefix+policyNoPrivileged, `{"effect":{"value":"Deny"}}`, "")
	p := w.newPrincipal(t, "pol-workload")
	roleBody := `{"properties":{"roleDefinitionId":"` + sub + `/providers/Microsoft.Authorization/roleDefinitions/` + ownerRole + `","principalId":"` + p.ObjectID + `"}}`
	st, body, _ = w.request("PUT", sub+"/providers/Microsoft.Authorization/roleAssignments/0d5a5e8a-1111-4c4c-9a9a-000000000001?api-version=2022-04-01", roleBody)
	if st != 403 || body["error"].(map[string]any)["code"] != "RequestDisallowedByPolicy" {
		t.Fatalf("Owner at the subscription: %d %v", st, body)
	}
	if st, body, _ = w.request("PUT", rg+"/providers/Microsoft.Authorization/roleAssignments/0d5a5e8a-1111-4c4c-9a9a-000000000002?api-version=2022-04-01", roleBody); st != 201 {
		t.Fatalf("Owner at a group: %d %v", st, body)
	}

	// Ward's clusters built-in: credentials only from clusters in the
	// allowed group.
	if st, b, _ := w.request("PUT", rg+"/providers/Microsoft.ContainerService/managedClusters/polc?api-version=2024-05-01", `{"location":"westeurope","properties":{"oidcIssuerProfile":{"enabled":true}}}`); st != 201 {
		t.Fatalf("cluster: %d %v", st, b)
	} else {
		issuer := b["properties"].(map[string]any)["oidcIssuerProfile"].(map[string]any)["issuerURL"].(string)
		w.assignPolicy(t, rg, "ward-clusters", builtInPolicyPrefix+policyWardClusters, `{"allowedResourceGroupIds":{"value":["`+rg+`"]},"effect":{"value":"Deny"}}`, "")
		if st, b, _ := w.request("PUT", fic(rg, "from-cluster"), ficJSON(issuer, "system:serviceaccount:default:web")); st != 201 {
			t.Fatalf("fic from an allowed cluster: %d %v", st, b)
		}
		if st, b, _ := w.request("PUT", fic(rg, "from-elsewhere"), ficJSON("https://dex.example.com", "system:serviceaccount:default:web")); st != 403 {
			t.Fatalf("fic from another issuer: %d %v", st, b)
		}
	}

	// Deleting the assignments lifts the denials.
	for _, a := range []string{sub + "/providers/Microsoft.Authorization/policyAssignments/no-privileged", rg + "/providers/Microsoft.Authorization/policyAssignments/ward-clusters"} {
		if st, b, _ := w.request("DELETE", a+policyAPI, ""); st != 200 {
			t.Fatalf("delete assignment: %d %v", st, b)
		}
	}
	if st, b, _ := w.request("PUT", fic(rg, "from-elsewhere"), ficJSON("https://dex.example.com", "system:serviceaccount:default:web")); st != 201 {
		t.Fatalf("fic after the assignment's deletion: %d %v", st, b)
	}
}

// TestPolicyBadInput: malformed definitions and assignments get ARM's
// 400s and 404s, never a 500.
func TestPolicyBadInput(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	sub := "/subscriptions/" + w.admin.SubscriptionID
	defs := sub + "/providers/Microsoft.Authorization/policyDefinitions/"
	for _, tc := range []struct {
		name, method, path, body, code string
		status                         int
	}{
		{"unknown alias", "PUT", defs + "bad" + policyAPI, `{"properties":{"policyRule":{"if":{"field":"Microsoft.Compute/virtualMachines/sku.name","equals":"x"},"then":{"effect":"deny"}}}}`, "InvalidPolicyRule", 400},
		{"modify effect", "PUT", defs + "bad" + policyAPI, `{"properties":{"policyRule":{"if":{"field":"type","equals":"x"},"then":{"effect":"modify"}}}}`, "UnsupportedPolicyEffect", 400},
		{"no properties", "PUT", defs + "bad" + policyAPI, `{}`, "InvalidRequestContent", 400},
		{"missing built-in", "GET", builtInPolicyPrefix + "00000000-0000-0000-0000-000000000000" + policyAPI, "", "PolicyDefinitionNotFound", 404},
		{"assignment of a missing definition", "PUT", sub + "/providers/Microsoft.Authorization/policyAssignments/a" + policyAPI,
			`{"properties":{"policyDefinitionId":"` + defs + `nope"}}`, "PolicyDefinitionNotFound", 404},
		{"missing required parameter", "PUT", sub + "/providers/Microsoft.Authorization/policyAssignments/a" + policyAPI,
			`{"properties":{"policyDefinitionId":"` + builtInPolicyPrefix + policyGitHubOwners + `"}}`, "MissingPolicyParameter", 400},
		{"bad enforcement mode", "PUT", sub + "/providers/Microsoft.Authorization/policyAssignments/a" + policyAPI,
			`{"properties":{"policyDefinitionId":"` + builtInPolicyPrefix + policyNoPrivileged + `","enforcementMode":"Maybe"}}`, "InvalidPolicyEnforcementMode", 400},
		{"parameter not allowed", "PUT", sub + "/providers/Microsoft.Authorization/policyAssignments/a" + policyAPI,
			`{"properties":{"policyDefinitionId":"` + builtInPolicyPrefix + policyNoPrivileged + `","parameters":{"effect":{"value":"Append"}}}}`, "InvalidPolicyParameterValue", 400},
		{"missing assignment", "GET", sub + "/providers/Microsoft.Authorization/policyAssignments/none" + policyAPI, "", "PolicyAssignmentNotFound", 404},
		{"group that does not exist", "PUT", sub + "/resourceGroups/nogroup/providers/Microsoft.Authorization/policyAssignments/a" + policyAPI,
			`{"properties":{"policyDefinitionId":"` + builtInPolicyPrefix + policyNoPrivileged + `"}}`, "ResourceGroupNotFound", 404},
		{"bad states filter", "POST", sub + "/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults" + policyStatesAPI + "&$filter=foo", "", "InvalidFilterInQueryString", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, b, _ := w.request(tc.method, tc.path, tc.body)
			e, _ := b["error"].(map[string]any)
			if st != tc.status || e == nil || e["code"] != tc.code {
				t.Fatalf("%s %s: %d %v, want %d %s", tc.method, tc.path, st, b, tc.status, tc.code)
			}
		})
	}
	// A definition in use cannot be deleted.
	body := `{"properties":{"mode":"Indexed","policyRule":{"if":{"field":"location","notIn":"[parameters('locations')]"},"then":{"effect":"deny"}},"parameters":{"locations":{"type":"Array","defaultValue":["westeurope"]}}}}`
	if st, b, _ := w.request("PUT", defs+"locations"+policyAPI, body); st != 201 {
		t.Fatalf("custom definition: %d %v", st, b)
	}
	w.assignPolicy(t, sub, "locations", defs+"locations", `{}`, "")
	if st, b, _ := w.request("DELETE", defs+"locations"+policyAPI, ""); st != 400 || b["error"].(map[string]any)["code"] != "PolicyDefinitionInUse" ||
		!strings.Contains(b["error"].(map[string]any)["message"].(string), "is assigned by '"+sub+"/providers/Microsoft.Authorization/policyAssignments/locations'") {
		t.Fatalf("delete a definition in use: %d %v", st, b)
	}
	// The Indexed custom definition denies an identity elsewhere, not a
	// credential (a child type).
	if st, b, _ := w.request("PUT", sub+"/resourceGroups/loc?api-version=2021-04-01", `{"location":"eastus"}`); st != 201 {
		t.Fatalf("group: %d %v", st, b)
	}
	if st, b, _ := w.request("PUT", sub+"/resourceGroups/loc/providers/Microsoft.ManagedIdentity/userAssignedIdentities/far"+ficAPI, `{"location":"eastus"}`); st != 403 {
		t.Fatalf("identity in a denied location: %d %v", st, b)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPolicyReplicas: two replicas on one PostgreSQL; an assignment made
// through one denies on the other within a second, and its deletion lifts
// the denial there as fast.
func TestPolicyReplicas(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "starts several replicas")
	pg := postgrestest.StartServer(t)
	rs := startReplicas(t, pg.DSN, filepath.Join(t.TempDir(), "kek"), 2)
	a, b := rs[0], rs[1]
	b.http = a.http
	sub := "/subscriptions/" + a.admin.SubscriptionID
	rg := sub + "/resourceGroups/polrepl"
	if st, body, _ := a.request("PUT", rg+"?api-version=2021-04-01", `{"location":"westeurope"}`); st != 201 {
		t.Fatalf("group: %d %v", st, body)
	}
	if st, body, _ := a.request("PUT", rg+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app"+ficAPI, `{"location":"westeurope"}`); st != 201 {
		t.Fatalf("identity: %d %v", st, body)
	}
	fic := rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app/federatedIdentityCredentials/"
	var lags []time.Duration
	for round := 0; round < 3; round++ {
		a.assignPolicy(t, rg, "owners", builtInPolicyPrefix+policyGitHubOwners, `{"allowedRepoOwners":{"value":["contoso"]},"effect":{"value":"Deny"}}`, "")
		lags = append(lags, propagation(t, "deny on the other replica", func() bool {
			st, _, _ := b.request("PUT", fic+"evil"+ficAPI, ficJSON(githubIssuer, "repo:evil/app:ref:x"))
			return st == 403
		}))
		if st, body, _ := a.request("DELETE", rg+"/providers/Microsoft.Authorization/policyAssignments/owners"+policyAPI, ""); st != 200 {
			t.Fatalf("delete assignment: %d %v", st, body)
		}
		lags = append(lags, propagation(t, "lifted on the other replica", func() bool {
			st, _, _ := b.request("PUT", fic+"allowed"+ficAPI, ficJSON(githubIssuer, "repo:evil/ok:ref:x"))
			return st == 200 || st == 201
		}))
	}
	for _, l := range lags {
		if l > time.Second {
			t.Fatalf("policy change took %v to reach the other replica (bound 1 s); all: %v", l, lags)
		}
	}
	t.Logf("policy propagation across replicas: %v", lags)
}

// TestPolicyRestrictsPatternCredentials: a custom definition on the
// claimsMatchingExpression alias decides who may create flexible
// (pattern) credentials: refused below the assignment, plain subjects
// still allowed, and the pattern's text visible to the rule.
func TestPolicyRestrictsPatternCredentials(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	sub := "/subscriptions/" + w.admin.SubscriptionID
	rg := sub + "/resourceGroups/patterns"
	if st, b, _ := w.request("PUT", rg+"?api-version=2021-04-01", `{"location":"westeurope"}`); st != 201 {
		t.Fatalf("group: %d %v", st, b)
	}
	if st, b, _ := w.request("PUT", rg+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app"+ficAPI, `{"location":"westeurope"}`); st != 201 {
		t.Fatalf("identity: %d %v", st, b)
	}
	// Patterns only within the team-a namespaces.
	rule := `{"if":{"allOf":[{"field":"type","equals":"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"},` +
		`{"field":"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/claimsMatchingExpression","exists":true},` +
		`{"field":"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/claimsMatchingExpression.value","notLike":"claims['sub'] matches 'system:serviceaccount:team-a*"}]},` +
		`"then":{"effect":"deny"}}`
	defs := sub + "/providers/Microsoft.Authorization/policyDefinitions/"
	if st, b, _ := w.request("PUT", defs+"team-a-patterns"+policyAPI, `{"properties":{"mode":"All","policyRule":`+rule+`}}`); st != 201 {
		t.Fatalf("definition: %d %v", st, b)
	}
	w.assignPolicy(t, rg, "team-a-patterns", defs+"team-a-patterns", `{}`, "")
	fics := rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app/federatedIdentityCredentials/"
	pattern := func(expr string) string {
		return `{"properties":{"issuer":"https://issuer.example.com","audiences":["api://AzureADTokenExchange"],"claimsMatchingExpression":{"value":"` + expr + `","languageVersion":1}}}`
	}
	if st, b, _ := w.request("PUT", fics+"everyone?api-version=2025-01-31-preview", pattern("claims['sub'] matches 'system:serviceaccount:*'")); st != 403 {
		t.Fatalf("a pattern for every namespace: %d %v", st, b)
	}
	if st, b, _ := w.request("PUT", fics+"team-a?api-version=2025-01-31-preview", pattern("claims['sub'] matches 'system:serviceaccount:team-a-*:*'")); st != 201 {
		t.Fatalf("a pattern within team-a: %d %v", st, b)
	}
	if st, b, _ := w.request("PUT", fics+"plain"+ficAPI, ficJSON("https://issuer.example.com", "system:serviceaccount:team-b:web")); st != 201 {
		t.Fatalf("a plain subject: %d %v", st, b)
	}
}
