package cli

import (
	"testing"
)

func TestIdentityVerbs(t *testing.T) {
	e := newVerbEnv(t)
	e.seed(t, "")
	id := []string{"-n", "app", "-g", "rg"}
	fic := []string{"-n", "fic1", "--identity-name", "app", "-g", "rg"}
	e.runSteps(t, []step{
		{"create needs name and group", &identityCreate{}, []string{"-n", "app"}, nil, "--resource-group/-g"},
		{"create takes the group's location and stray tag words", &identityCreate{}, append([]string{"--tags", "team=shop", "env=dev"}, id...),
			[]string{`"location": "westeurope"`, `"team": "shop"`, `"env": "dev"`, `"resourceGroup": "rg"`, `"clientId": "`}, ""},
		{"create with a bad tag", &identityCreate{}, append([]string{"--tags", "=x"}, id...), nil, `invalid tag "=x"`},
		{"create in a missing group", &identityCreate{}, []string{"-n", "app", "-g", "nogroup"}, nil, "ResourceGroupNotFound"},
		{"show", &identityShow{}, id, []string{`"name": "app"`}, ""},
		{"list in the group", &identityList{}, []string{"-g", "rg"}, []string{`"name": "app"`}, ""},
		{"list in the subscription", &identityList{}, nil, []string{`"name": "app"`}, ""},
		{"update clears the tags", &identityUpdate{}, append([]string{"--tags", ""}, id...), []string{`"tags": {}`}, ""},
		{"credential create needs issuer and subject", &ficPut{}, fic, nil, "--issuer, --subject"},
		{"credential create defaults the audience", &ficPut{}, append([]string{"--issuer", "https://issuer.example", "--subject", "system:serviceaccount:shop:app"}, fic...),
			[]string{`"issuer": "https://issuer.example"`, `"api://AzureADTokenExchange"`}, ""},
		{"credential update keeps the rest, reads a stray audience", &ficPut{update: true}, append([]string{"--subject", "system:serviceaccount:shop:web", "a1"}, fic...),
			[]string{`"issuer": "https://issuer.example"`, `"subject": "system:serviceaccount:shop:web"`, `"a1"`}, ""},
		{"credential update needs only the name", &ficPut{update: true}, []string{"-n", "fic1"}, nil, "--identity-name, --resource-group/-g"},
		{"credential show", &ficShow{}, fic, []string{`"name": "fic1"`}, ""},
		{"flexible credential create", &ficPut{}, []string{"-n", "teams", "--identity-name", "app", "-g", "rg", "--issuer", "https://issuer.example",
			"--claims-matching-expression-value", "claims['sub'] matches 'system:serviceaccount:team-*:*'", "--claims-matching-expression-version", "1"},
			[]string{`"subject": null`, `"value": "claims['sub'] matches 'system:serviceaccount:team-*:*'"`, `"languageVersion": 1`}, ""},
		{"flexible credential update keeps the expression", &ficPut{update: true}, []string{"-n", "teams", "--identity-name", "app", "-g", "rg", "--audiences", "a2"},
			[]string{`"subject": null`, `"value": "claims['sub'] matches 'system:serviceaccount:team-*:*'"`, `"a2"`}, ""},
		{"flexible credential with a refused expression", &ficPut{}, []string{"-n", "bad", "--identity-name", "app", "-g", "rg", "--issuer", "https://issuer.example",
			"--claims-matching-expression-value", "claims['sub'] eq 'a' or claims['sub'] eq 'b'"}, nil, "or, not and parentheses are not supported"},
		{"flexible credential with version 2", &ficPut{}, []string{"-n", "bad", "--identity-name", "app", "-g", "rg", "--issuer", "https://issuer.example",
			"--claims-matching-expression-value", "claims['sub'] eq 'a'", "--claims-matching-expression-version", "2"}, nil, "languageVersion '2' is invalid"},
		{"subject and expression", &ficPut{}, []string{"-n", "bad", "--identity-name", "app", "-g", "rg", "--issuer", "https://issuer.example", "--subject", "s",
			"--claims-matching-expression-value", "claims['sub'] eq 'a'"}, nil, "mutually exclusive"},
		{"plain credential shape unchanged", &ficShow{}, fic, []string{`"subject": "system:serviceaccount:shop:web"`}, ""},
		{"credential list", &ficList{}, []string{"--identity-name", "app", "-g", "rg"}, []string{`"name": "fic1"`}, ""},
		{"credential delete", &ficDelete{}, fic, nil, ""},
		{"credential gone", &ficShow{}, fic, nil, "NotFound"},
		{"delete", &identityDelete{}, id, nil, ""},
		{"gone", &identityShow{}, id, nil, "ResourceNotFound"},
	})
	e.wantStorageFault(t, "ListIdentities", &identityList{})
	e.wantStorageFault(t, "ListFederatedCredentials", &ficList{}, "--identity-name", "app", "-g", "rg")
}

// TestIdentityVerbsWithoutSubscription: a verb in a subscription with none
// selected says how to choose one before it sends anything.
func TestIdentityVerbsWithoutSubscription(t *testing.T) {
	e := newVerbEnv(t)
	e.conn.sub = ""
	_, _, err := e.exec(t, &identityList{})
	wantErr(t, "list", err, "no subscription is selected")
}
