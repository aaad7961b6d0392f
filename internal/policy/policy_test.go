package policy

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const ficType = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"

func fic(issuer, subject string) *Resource {
	return NewResource("/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app/federatedIdentityCredentials/cred",
		ficType, map[string]any{"properties": map[string]any{"issuer": issuer, "subject": subject, "audiences": []any{"api://AzureADTokenExchange"}}})
}

func compileRule(t *testing.T, rule string, params map[string]ParameterDefinition) *Definition {
	t.Helper()
	d, err := Compile("/providers/Microsoft.Authorization/policyDefinitions/t", "t", Properties{Mode: "All", Parameters: params, PolicyRule: json.RawMessage(rule)})
	if err != nil {
		t.Fatalf("compile %s: %v", rule, err)
	}
	return d
}

func ifRule(cond string) string { return `{"if":` + cond + `,"then":{"effect":"deny"}}` }

// TestConditions evaluates the documented semantics of each operator.
func TestConditions(t *testing.T) {
	vm := NewResource("/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app",
		"Microsoft.ManagedIdentity/userAssignedIdentities", map[string]any{"location": "westeurope", "tags": map[string]any{"Env": "Prod", "cost.center": "42"}, "properties": map[string]any{}})
	for _, tc := range []struct {
		name string
		res  *Resource
		cond string
		want bool
	}{
		{"equals is case-insensitive", fic("https://TOKEN.actions.githubusercontent.com", "x"), `{"field":"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/issuer","equals":"https://token.actions.githubusercontent.com"}`, true},
		{"type equals", fic("i", "s"), `{"field":"type","equals":"microsoft.managedidentity/userassignedidentities/federatedidentitycredentials"}`, true},
		{"notEquals", fic("i", "s"), `{"field":"name","notEquals":"cred"}`, false},
		{"like with one star", fic("https://westeurope.oic.prod-aks.azure.com/t/c/", "s"), `{"field":"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/issuer","like":"https://*.oic.prod-aks.azure.com/t/c/"}`, true},
		{"like star at end", fic("i", "system:serviceaccount:team-a:web"), `{"field":"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/subject","like":"system:serviceaccount:TEAM-A:*"}`, true},
		{"like without star is equality", fic("i", "abc"), `{"field":"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/subject","like":"ab"}`, false},
		{"notLike", fic("i", "repo:org/x:ref"), `{"field":"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/subject","notLike":"repo:org/*"}`, false},
		{"in array", fic("https://accounts.google.com", "s"), `{"field":"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/issuer","in":["https://token.actions.githubusercontent.com","HTTPS://accounts.google.com"]}`, true},
		{"notIn array", fic("https://other", "s"), `{"field":"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/issuer","notIn":["https://a","https://b"]}`, true},
		{"contains substring", fic("i", "system:serviceaccount:prod:web"), `{"field":"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/subject","contains":":PROD:"}`, true},
		{"notContains", fic("i", "system:serviceaccount:prod:web"), `{"field":"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/subject","notContains":"dev"}`, true},
		{"exists false on a missing field", fic("i", "s"), `{"field":"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/claimsMatchingExpression","exists":false}`, true},
		{"exists true on a missing field", fic("i", "s"), `{"field":"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/claimsMatchingExpression","exists":"true"}`, false},
		{"equals on a missing field is false", fic("i", "s"), `{"field":"Microsoft.Authorization/roleAssignments/principalType","equals":"ServicePrincipal"}`, false},
		{"notEquals on a missing field is true", fic("i", "s"), `{"field":"Microsoft.Authorization/roleAssignments/principalType","notEquals":"ServicePrincipal"}`, true},
		{"tag by bracket", vm, `{"field":"tags['env']","equals":"prod"}`, true},
		{"tag with a dot", vm, `{"field":"tags.cost.center","equals":"42"}`, true},
		{"containsKey on tags", vm, `{"field":"tags","containsKey":"ENV"}`, true},
		{"notContainsKey on tags", vm, `{"field":"tags","notContainsKey":"owner"}`, true},
		{"location", vm, `{"field":"location","in":["westeurope","northeurope"]}`, true},
		{"not", vm, `{"not":{"field":"location","equals":"westeurope"}}`, false},
		{"allOf nested in anyOf", vm, `{"anyOf":[{"allOf":[{"field":"location","equals":"westeurope"},{"field":"tags['env']","equals":"dev"}]},{"allOf":[{"field":"type","like":"Microsoft.ManagedIdentity/*"},{"not":{"field":"tags","containsKey":"owner"}}]}]}`, true},
		{"allOf all must hold", vm, `{"allOf":[{"field":"location","equals":"westeurope"},{"field":"name","equals":"other"}]}`, false},
		{"greater on numbers", vm, `{"value":"[length(field('name'))]","greater":2}`, true},
		{"lessOrEquals on strings", vm, `{"value":"b","lessOrEquals":"B"}`, true},
		{"match", vm, `{"value":"ab12","match":"??##"}`, true},
		{"match is case-sensitive", vm, `{"value":"ABC","match":"abc"}`, false},
		{"matchInsensitively", vm, `{"value":"ABC","matchInsensitively":"abc"}`, true},
		{"array alias: every member", fic("i", "s"), `{"field":"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/audiences[*]","equals":"api://AzureADTokenExchange"}`, true},
		{"count of an array alias", fic("i", "s"), `{"count":{"field":"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/audiences[*]"},"equals":1}`, true},
		{"count of a value with where", vm, `{"count":{"value":["a","bb","ccc"],"name":"x","where":{"value":"[length(current('x'))]","greater":1}},"equals":2}`, true},
		{"value with concat", vm, `{"value":"[concat(field('location'),'/',field('name'))]","equals":"WestEurope/app"}`, true},
		{"value with split and index", fic("https://westeurope.oic.prod-aks.azure.com/tenant/cluster/", "s"), `{"value":"[split(field('Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/issuer'),'/')[3]]","equals":"tenant"}`, true},
		{"if is lazy", fic("nohost", "s"), `{"value":"[if(greaterOrEquals(length(split(field('Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/issuer'),'/')),3),split(field('Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/issuer'),'/')[2],'')]","equals":""}`, true},
		{"subscription()", vm, `{"value":"[subscription().subscriptionId]","equals":"s"}`, true},
		{"fullName of a child", fic("i", "s"), `{"field":"fullName","equals":"app/cred"}`, true},
		{"escaped bracket is literal", vm, `{"value":"[[x]","equals":"[[x]"}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := compileRule(t, ifRule(tc.cond), nil)
			got := d.Evaluate(tc.res, nil, Context{Subscription: map[string]any{"subscriptionId": "s", "id": "/subscriptions/s"}})
			if got.Err != nil {
				t.Fatalf("%s: error %v", tc.cond, got.Err)
			}
			if got.Match != tc.want {
				t.Fatalf("%s on %+v: match = %v, want %v (details %+v)", tc.cond, tc.res.Body, got.Match, tc.want, got.Details)
			}
		})
	}
}

// TestEvaluatedExpressions: the report has Azure's shape for each leaf
// evaluated, and allOf stops at the first false one.
func TestEvaluatedExpressions(t *testing.T) {
	d := compileRule(t, ifRule(`{"allOf":[{"field":"type","equals":"`+ficType+`"},{"field":"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/issuer","in":"[parameters('bad')]"},{"field":"name","equals":"CRED"}]}`),
		map[string]ParameterDefinition{"bad": {Type: "Array"}})
	got := d.Evaluate(fic("https://evil", "s"), map[string]any{"bad": []any{"https://evil"}}, Context{})
	if !got.Match || got.Effect != "deny" {
		t.Fatalf("result = %+v, want a deny match", got)
	}
	if len(got.Details) != 3 {
		t.Fatalf("details = %+v, want 3", got.Details)
	}
	b, _ := json.Marshal(got.Details[0])
	want := `{"result":"True","expressionKind":"Field","expression":"type","path":"type","expressionValue":"` + ficType + `","targetValue":"` + ficType + `","operator":"Equals"}`
	if string(b) != want {
		t.Fatalf("first detail = %s, want %s", b, want)
	}
	if d := got.Details[1]; d.Path != "properties.issuer" || d.Operator != "In" || d.Result != "True" {
		t.Fatalf("second detail = %+v", d)
	}
	miss := d.Evaluate(NewResource("/subscriptions/s", "Microsoft.Resources/subscriptions", nil), map[string]any{"bad": []any{}}, Context{})
	if miss.Match || len(miss.Details) != 1 || miss.Details[0].Result != "False" {
		t.Fatalf("non-matching type = %+v, want one False detail", miss)
	}
}

// TestCompileRefuses: definitions Ward cannot evaluate faithfully are
// refused with ARM's codes, never stored and ignored.
func TestCompileRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, rule, code string
		params           map[string]ParameterDefinition
		mode             string
	}{
		{"unknown alias", ifRule(`{"field":"Microsoft.Compute/virtualMachines/imageOffer","equals":"x"}`), CodeInvalidPolicyRule, nil, ""},
		{"unknown operator", ifRule(`{"field":"name","startsWith":"x"}`), CodeInvalidPolicyRule, nil, ""},
		{"two operators", ifRule(`{"field":"name","equals":"x","like":"y*"}`), CodeInvalidPolicyRule, nil, ""},
		{"unknown function", ifRule(`{"value":"[reference('x')]","equals":"x"}`), CodeInvalidPolicyRule, nil, ""},
		{"undeclared parameter", ifRule(`{"field":"name","in":"[parameters('names')]"}`), CodeUndefinedPolicyParam, nil, ""},
		{"modify effect", `{"if":{"field":"name","equals":"x"},"then":{"effect":"modify"}}`, CodeUnsupportedPolicyEffect, nil, ""},
		{"parameterized effect allowing append", `{"if":{"field":"name","equals":"x"},"then":{"effect":"[parameters('effect')]"}}`, CodeUnsupportedPolicyEffect,
			map[string]ParameterDefinition{"effect": {Type: "String", AllowedValues: []any{"Deny", "Append"}}}, ""},
		{"bad parameter type", ifRule(`{"field":"name","equals":"x"}`), CodeInvalidPolicyParameters, map[string]ParameterDefinition{"p": {Type: "Number"}}, ""},
		{"default outside allowed values", ifRule(`{"field":"name","equals":"x"}`), CodeInvalidPolicyParamValue,
			map[string]ParameterDefinition{"p": {Type: "String", DefaultValue: json.RawMessage(`"c"`), AllowedValues: []any{"a", "b"}}}, ""},
		{"data plane mode", ifRule(`{"field":"name","equals":"x"}`), CodeInvalidPolicyMode, nil, "Microsoft.KeyVault.Data"},
		{"no then", `{"if":{"field":"name","equals":"x"}}`, CodeInvalidPolicyRule, nil, ""},
		{"exists with a string", ifRule(`{"field":"name","exists":"maybe"}`), CodeInvalidPolicyRule, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile("id", "n", Properties{Mode: tc.mode, Parameters: tc.params, PolicyRule: json.RawMessage(tc.rule)})
			var pe *Error
			if !errors.As(err, &pe) || pe.Code != tc.code {
				t.Fatalf("compile %s: err = %v, want code %s", tc.rule, err, tc.code)
			}
		})
	}
}

// TestParameterValues: defaults, allowed values, types, and the effect
// resolved from a parameter.
func TestParameterValues(t *testing.T) {
	params := map[string]ParameterDefinition{
		"effect":  {Type: "String", DefaultValue: json.RawMessage(`"Audit"`), AllowedValues: []any{"Audit", "Deny", "Disabled"}},
		"issuers": {Type: "Array"},
	}
	d := compileRule(t, `{"if":{"field":"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/issuer","notIn":"[parameters('issuers')]"},"then":{"effect":"[parameters('effect')]"}}`, params)
	for _, tc := range []struct {
		name     string
		assigned string
		code     string
		effect   string
	}{
		{"default effect", `{"issuers":{"value":["https://a"]}}`, "", "audit"},
		{"given effect, any case key", `{"Issuers":{"value":["https://a"]},"EFFECT":{"value":"Deny"}}`, "", "deny"},
		{"missing required", `{}`, CodeMissingPolicyParameter, ""},
		{"undeclared", `{"issuers":{"value":[]},"other":{"value":1}}`, CodeUndefinedPolicyParam, ""},
		{"wrong type", `{"issuers":{"value":"https://a"}}`, CodeInvalidPolicyParamValue, ""},
		{"not allowed", `{"issuers":{"value":[]},"effect":{"value":"Modify"}}`, CodeInvalidPolicyParamValue, ""},
		{"not wrapped in value", `{"issuers":["https://a"]}`, CodeInvalidPolicyParameters, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var assigned map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tc.assigned), &assigned); err != nil {
				t.Fatal(err)
			}
			vals, err := d.Values(assigned)
			if tc.code != "" {
				var pe *Error
				if !errors.As(err, &pe) || pe.Code != tc.code {
					t.Fatalf("values %s: err = %v, want %s", tc.assigned, err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("values %s: %v", tc.assigned, err)
			}
			got := d.Evaluate(fic("https://b", "s"), vals, Context{})
			if !got.Match || got.Effect != tc.effect {
				t.Fatalf("result = %+v, want match with effect %s", got, tc.effect)
			}
			if ok := d.Evaluate(fic("https://A", "s"), vals, Context{}); ok.Match {
				t.Fatalf("allowed issuer matched: %+v", ok)
			}
		})
	}
}

// TestEvaluationErrors: a failing template function is reported (a deny
// policy treats it as a deny), never a panic.
func TestEvaluationErrors(t *testing.T) {
	d := compileRule(t, ifRule(`{"value":"[split(field('name'),'/')[5]]","equals":"x"}`), nil)
	got := d.Evaluate(fic("i", "s"), nil, Context{})
	if got.Err == nil || !strings.Contains(got.Err.Error(), "out of range") {
		t.Fatalf("result = %+v, want an index error", got)
	}
}

func FuzzExpression(f *testing.F) {
	for _, s := range []string{"parameters('x')", "concat('a', field('name'))[0]", "if(true, 'a', split('a/b','/')[1])", "'unterminated", "a.b.c", "((("} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseExpression(s)
		if err != nil {
			return
		}
		_, _ = (&env{params: map[string]any{"x": "y"}, resource: fic("i", "s")}).eval(n)
	})
}

// TestSetScopes: an assignment covers its scope and below, minus its
// notScopes; DoNotEnforce reports without denying; Indexed skips child
// types.
func TestSetScopes(t *testing.T) {
	d := compileRule(t, ifRule(`{"field":"type","equals":"`+ficType+`"}`), nil)
	indexed, err := Compile("/providers/Microsoft.Authorization/policyDefinitions/idx", "idx", Properties{Mode: "indexed", PolicyRule: json.RawMessage(ifRule(`{"field":"name","like":"*"}`))})
	if err != nil {
		t.Fatal(err)
	}
	set := NewSet([]*Definition{d, indexed}, []Assignment{
		{ID: "/subscriptions/s/providers/Microsoft.Authorization/policyAssignments/a", Name: "a", Scope: "/subscriptions/S", DefinitionID: d.ID,
			NotScopes: []string{"/subscriptions/s/resourceGroups/sandbox"}},
		{ID: "/providers/Microsoft.Authorization/policyAssignments/audit-only", Name: "audit-only", Scope: "/", DefinitionID: strings.ToUpper(d.ID), EnforcementMode: "DoNotEnforce"},
		{ID: "/subscriptions/s/providers/Microsoft.Authorization/policyAssignments/idx", Name: "idx", Scope: "/subscriptions/s", DefinitionID: indexed.ID},
		{ID: "/subscriptions/s/providers/Microsoft.Authorization/policyAssignments/gone", Name: "gone", Scope: "/subscriptions/s", DefinitionID: "/providers/Microsoft.Authorization/policyDefinitions/missing"},
	})
	if len(set.Broken) != 1 {
		t.Fatalf("broken = %v, want the one with a missing definition", set.Broken)
	}
	for _, tc := range []struct {
		name   string
		id     string
		denies int
		found  int
	}{
		{"in scope", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app/federatedIdentityCredentials/c", 1, 2},
		{"not scope", "/subscriptions/s/resourceGroups/SANDBOX/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app/federatedIdentityCredentials/c", 0, 1},
		{"prefix is not a segment", "/subscriptions/s2/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app/federatedIdentityCredentials/c", 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewResource(tc.id, ficType, nil)
			ds := set.Evaluate(r, Context{})
			denies := 0
			for _, d := range ds {
				if d.Denies() {
					denies++
				}
				if !d.NonCompliant() {
					t.Fatalf("%s: %s compliant, want non-compliant", tc.id, d.Assignment.Name)
				}
			}
			if denies != tc.denies || len(ds) != tc.found {
				t.Fatalf("%s: %d decisions, %d denials; want %d, %d", tc.id, len(ds), denies, tc.found, tc.denies)
			}
		})
	}
	// The Indexed definition sees a tracked identity, not its credentials.
	ds := set.Evaluate(NewResource("/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app", "Microsoft.ManagedIdentity/userAssignedIdentities", nil), Context{})
	names := []string{}
	for _, d := range ds {
		names = append(names, d.Assignment.Name)
	}
	if strings.Join(names, ",") != "audit-only,a,idx" {
		t.Fatalf("assignments evaluated on an identity = %v", names)
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		ifRule(`{"field":"type","equals":"x"}`),
		ifRule(`{"count":{"value":[1,2],"name":"n","where":{"value":"[current('n')]","greater":1}},"equals":1}`),
		ifRule(`{"not":{"anyOf":[{"field":"tags['a']","exists":true},{"value":"[split(field('name'),'/')[1]]","in":["a"]}]}}`),
		`{"if":{"field":"name","like":"*"},"then":{"effect":"[parameters('e')]"}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rule string) {
		d, err := Compile("id", "n", Properties{PolicyRule: json.RawMessage(rule),
			Parameters: map[string]ParameterDefinition{"e": {Type: "String", DefaultValue: json.RawMessage(`"audit"`)}}})
		if err != nil {
			return
		}
		vals, err := d.Values(nil)
		if err != nil {
			return
		}
		_ = d.Evaluate(fic("https://i", "system:serviceaccount:a:b"), vals, Context{})
	})
}

// BenchmarkEvaluateWrite: one federated credential write evaluated against
// the three federated-credential built-ins assigned at its subscription.
func BenchmarkEvaluateWrite(b *testing.B) {
	var as []Assignment
	for i, name := range []string{BuiltInFICIssuerTypes, BuiltInFICTrustedAKS, BuiltInFICGitHubOwners} {
		as = append(as, Assignment{ID: "/subscriptions/s/providers/Microsoft.Authorization/policyAssignments/a" + string(rune('0'+i)), Scope: "/subscriptions/s",
			DefinitionID: BuiltInID(name), Parameters: map[string]json.RawMessage{
				"allowedTenants": json.RawMessage(`{"value":[]}`), "allowedRepoOwners": json.RawMessage(`{"value":["contoso"]}`),
				"allowFederatedCredentials": json.RawMessage(`{"value":true}`), "allowGitHub": json.RawMessage(`{"value":true}`)}})
	}
	// Each definition takes only its own parameters.
	set := NewSet(BuiltIns(), nil)
	for _, a := range as {
		d, _ := BuiltIn(strings.TrimPrefix(a.DefinitionID, "/providers/Microsoft.Authorization/policyDefinitions/"))
		kept := map[string]json.RawMessage{}
		for k, v := range a.Parameters {
			if _, ok := d.Props.Parameters[k]; ok {
				kept[k] = v
			}
		}
		a.Parameters = kept
		set = NewSet(BuiltIns(), append(assignmentsOf(set), a))
	}
	if len(set.Assignments()) != 3 {
		b.Fatalf("bound %d assignments: %v", len(set.Assignments()), set.Broken)
	}
	r := fic("https://token.actions.githubusercontent.com", "repo:contoso/app:ref:refs/heads/main")
	b.ReportAllocs()
	for b.Loop() {
		for _, d := range set.Evaluate(r, Context{}) {
			if d.Denies() {
				b.Fatal("denied")
			}
		}
	}
}

func assignmentsOf(s *Set) []Assignment {
	var out []Assignment
	for _, b := range s.Assignments() {
		out = append(out, b.Assignment)
	}
	return out
}
