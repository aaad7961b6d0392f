package cli

import "testing"

func TestRoleDefinitionVerbs(t *testing.T) {
	e := newVerbEnv(t)
	sub := "/subscriptions/" + e.srv.Admin.SubscriptionID
	def := `{"Name": "Vault Reader", "Description": "Reads secrets.", "Actions": ["Microsoft.KeyVault/vaults/read"], "AssignableScopes": ["` + sub + `"]}`
	e.runSteps(t, []step{
		{"create needs a definition", &roleDefinitionCreate{}, nil, nil, "--role-definition"},
		{"create needs a name", &roleDefinitionCreate{}, []string{"--role-definition", `{"AssignableScopes": ["/"]}`}, nil, `please provide role name ("Name")`},
		{"create needs scopes", &roleDefinitionCreate{}, []string{"--role-definition", `{"Name": "x"}`}, nil, "please provide 'AssignableScopes'"},
		{"create", &roleDefinitionCreate{}, []string{"--role-definition", def}, []string{`"roleName": "Vault Reader"`, `"roleType": "CustomRole"`}, ""},
		{"update by name keeps the scopes", &roleDefinitionUpdate{}, []string{"--role-definition", `{"Name": "Vault Reader", "Description": "Reads more."}`},
			[]string{`"description": "Reads more."`, `"assignableScopes": [` + "\n" + `    "` + sub + `"`}, ""},
		{"update a built-in role", &roleDefinitionUpdate{}, []string{"--role-definition", `{"Name": "Reader"}`}, nil, "'Reader' is a built-in role"},
		{"update a missing role", &roleDefinitionUpdate{}, []string{"--role-definition", `{"Name": "Nope"}`}, nil, "role definition 'Nope' does not exist"},
		{"delete a built-in role", &roleDefinitionDelete{}, []string{"-n", "acdd72a7-3385-48ef-bd42-f606fba81ae7"}, nil, "only custom roles"},
		{"delete", &roleDefinitionDelete{}, []string{"-n", "Vault Reader"}, nil, ""},
		{"gone", &roleDefinitionList{}, []string{"-n", "Vault Reader"}, nil, ""},
	})
	out, _, err := e.exec(t, &roleDefinitionList{}, "-n", "Vault Reader")
	if err != nil || out != "[]\n" {
		t.Errorf("list after delete printed %q, %v; want []", out, err)
	}
	e.wantStorageFault(t, "ListRoleDefinitions", &roleDefinitionDelete{}, "-n", "Vault Reader")
}
