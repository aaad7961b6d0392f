package cli

import (
	"errors"
	"strings"
	"testing"
)

// TestVerbRefusesBeforeSending: each verb refuses bad or missing flags
// with az's wording before it sends a request; a verb that sent one would
// fail with errNoServer instead.
func TestVerbRefusesBeforeSending(t *testing.T) {
	const uai = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app"
	m := []string{"-n", "m1", "-g", "rg"}
	cl := []string{"--cluster-name", "c1", "-g", "rg"}
	id := []string{"-n", "app", "-g", "rg"}
	fic := []string{"-n", "fic1", "--identity-name", "app", "-g", "rg"}
	sec := []string{"--vault-name", "kv1", "-n", "db"}
	flexible := []string{"-n", "bad", "--identity-name", "app", "-g", "rg", "--issuer", "https://issuer.example"}
	for _, tc := range []struct {
		name    string
		v       verb
		args    []string
		wantErr string
	}{
		{"ad sp show needs an id", &spShow{}, nil, "--id"},
		{"acr create refuses the admin user", &acrCreate{}, []string{"-n", "teamacr", "-g", "rg", "--admin-enabled"}, "no admin user"},
		{"aks create needs name and group", &aksPut{}, []string{"-n", "c1"}, "--resource-group/-g"},
		{"aks get-token checks the service account first", &aksGetToken{}, []string{"--cluster", "c1", "-g", "rg", "--service-account", "Bad_Name"}, "not valid in Kubernetes"},
		{"connectedmachine create needs a group", &machineCreate{}, []string{"-n", "m1"}, "--resource-group/-g"},
		{"connectedmachine identity assign needs identities", &machineIdentity{assign: true}, m, "--identities"},
		{"nodepool add needs a name", &poolAdd{}, cl, "--name/-n"},
		{"nodepool identity assign needs identities", &poolIdentityChange{assign: true}, append([]string{"-n", "pool2"}, cl...), "--identities"},
		{"group create needs a location", &groupCreate{}, []string{"-n", "rg"}, "--location/-l"},
		{"group show needs a name", &groupShow{}, nil, "--name/-n"},
		{"identity create needs name and group", &identityCreate{}, []string{"-n", "app"}, "--resource-group/-g"},
		{"identity create with a bad tag", &identityCreate{}, append([]string{"--tags", "=x"}, id...), `invalid tag "=x"`},
		{"credential create needs issuer and subject", &ficPut{}, fic, "--issuer, --subject"},
		{"credential update needs only the name", &ficPut{update: true}, []string{"-n", "fic1"}, "--identity-name, --resource-group/-g"},
		{"subject and expression", &ficPut{}, append([]string{"--subject", "s", "--claims-matching-expression-value", "claims['sub'] eq 'a'"}, flexible...), "mutually exclusive"},
		{"keyvault create refuses access policies", &vaultCreate{}, []string{"-n", "kv1", "-g", "rg", "--enable-rbac-authorization=false"}, "is not supported"},
		{"keyvault create needs a group", &vaultCreate{}, []string{"-n", "kv1"}, "--resource-group/-g"},
		{"secret set needs a value", &secretSet{}, sec, "--value or --file"},
		{"secret set with a bad time", &secretSet{}, append([]string{"--value", "x", "--not-before", "tomorrow"}, sec...), `--not-before "tomorrow"`},
		{"secret show needs a target", &secretShow{}, nil, "--vault-name and --name/-n, or --id"},
		{"secret show a bad --id", &secretShow{}, []string{"--id", "https://kv1/keys/x"}, "is not a secret identifier"},
		{"activity with a bad start", &activityList{}, []string{"--start-time", "yesterday"}, "not an RFC 3339 time"},
		{"activity with a bad --offset", &activityList{}, []string{"--offset", "an hour"}, `invalid argument "an hour" for "--offset"`},
		{"provider register needs a namespace", &providerRegister{}, nil, "--namespace/-n"},
		{"feature register needs both names", &featureRegister{}, []string{"--namespace", "Microsoft.ContainerService"}, "--name/-n"},
		{"role definition create needs a definition", &roleDefinitionCreate{}, nil, "--role-definition"},
		{"role definition create needs a name", &roleDefinitionCreate{}, []string{"--role-definition", `{"AssignableScopes": ["/"]}`}, `please provide role name ("Name")`},
		{"role definition create needs scopes", &roleDefinitionCreate{}, []string{"--role-definition", `{"Name": "x"}`}, "please provide 'AssignableScopes'"},
		{"role assignment create needs an assignee", &roleAssignmentCreate{}, []string{"--role", "Reader", "--scope", "/subscriptions/s"}, "--assignee or --assignee-object-id"},
		{"role assignment create needs role and scope", &roleAssignmentCreate{}, []string{"--assignee", "app"}, "--role, --scope"},
		{"role assignment delete needs a choice", &roleAssignmentDelete{}, nil, "give --ids, or --assignee"},
		{"migrate takes --cluster or --issuer", &migratePodIdentity{}, []string{"--cluster", "c1", "--issuer", "https://x/"}, "mutually exclusive"},
		{"an unknown flag", &groupList{}, []string{"--resource-grop", "rg"}, "unknown flag: --resource-grop"},
		{"nodepool identity assign takes identities", &poolIdentityChange{assign: true}, append([]string{"-n", "pool2", "--identities", uai}, cl...), errNoServer.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := execVerb(t, offlineConn(t, "sub"), tc.v, tc.args...)
			wantErr(t, strings.Join(tc.args, " "), err, tc.wantErr)
			if tc.wantErr != errNoServer.Error() && errors.Is(err, errNoServer) {
				t.Fatalf("%q sent a request before refusing: %v", tc.args, err)
			}
		})
	}
}

// TestVerbsWithoutSubscription: with no subscription selected, a verb in
// one says how to choose one before it sends anything, a scope-less verb
// asks for --scope, and account show warns instead of failing (show is
// how one finds out that none is selected).
func TestVerbsWithoutSubscription(t *testing.T) {
	for _, tc := range []struct {
		name              string
		v                 verb
		wantErr, wantWarn string
	}{
		{"identity list", &identityList{}, "no subscription is selected", ""},
		{"connectedmachine list", &machineList{}, "no subscription is selected: admin.json records none", ""},
		{"role assignment list", &roleAssignmentList{}, "give --scope, or select a subscription", ""},
		{"account show", &accountShow{}, "", "WARNING: no subscription is selected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := execVerb(t, offlineConn(t, ""), tc.v)
			wantErr(t, tc.name, err, tc.wantErr)
			if errors.Is(err, errNoServer) {
				t.Fatalf("sent a request: %v", err)
			}
			if !strings.Contains(errOut, tc.wantWarn) {
				t.Errorf("printed %q to stderr, want %q", errOut, tc.wantWarn)
			}
			if tc.wantErr == "" && !strings.Contains(out, `"profile": "admin.json"`) {
				t.Errorf("printed %s, want the account with its profile", out)
			}
		})
	}
}
