package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
)

func TestParseServiceAccount(t *testing.T) {
	cases := []struct {
		name, ref, ns string
		nsSet         bool
		wantNS        string
		wantName      string
		wantErr       string
	}{
		{"name with default namespace", "workload-sa", "default", false, "default", "workload-sa", ""},
		{"name with --namespace", "workload-sa", "shop", true, "shop", "workload-sa", ""},
		{"NS/NAME", "shop/workload-sa", "default", false, "shop", "workload-sa", ""},
		{"NS/NAME agreeing with --namespace", "shop/workload-sa", "shop", true, "shop", "workload-sa", ""},
		{"NS/NAME against --namespace", "shop/workload-sa", "prod", true, "", "", `names namespace "shop" but --namespace is "prod"`},
		{"token subject", "system:serviceaccount:shop:workload-sa", "default", false, "shop", "workload-sa", ""},
		{"subsystem-style dotted name", "default/app.v2", "default", false, "default", "app.v2", ""},
		{"empty", "", "default", false, "", "", "--service-account"},
		{"two slashes", "a/b/c", "default", false, "", "", "not valid in Kubernetes"},
		{"upper case name", "Workload", "default", false, "", "", "not valid in Kubernetes"},
		{"underscore", "default/work_load", "default", false, "", "", "not valid in Kubernetes"},
		{"upper case namespace", "Default/x", "default", false, "", "", "not a valid Kubernetes namespace"},
		{"dotted namespace", "a.b/x", "default", false, "", "", "not a valid Kubernetes namespace"},
		{"empty name after slash", "default/", "default", false, "", "", "not valid in Kubernetes"},
		{"empty namespace before slash", "/x", "default", false, "", "", "not a valid Kubernetes namespace"},
		{"subject without name", "system:serviceaccount:default", "default", false, "", "", "system:serviceaccount:NAMESPACE:NAME"},
		{"name too long", strings.Repeat("a", 254), "default", false, "", "", "not valid in Kubernetes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns, name, err := parseServiceAccount(tc.ref, tc.ns, tc.nsSet)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseServiceAccount(%q, %q, %v) error = %v, want one containing %q", tc.ref, tc.ns, tc.nsSet, err, tc.wantErr)
				}
				return
			}
			if err != nil || ns != tc.wantNS || name != tc.wantName {
				t.Fatalf("parseServiceAccount(%q, %q, %v) = %q, %q, %v; want %q, %q", tc.ref, tc.ns, tc.nsSet, ns, name, err, tc.wantNS, tc.wantName)
			}
		})
	}
}

func TestParseRoleDefinition(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "role.json")
	azShape := `{"Name": "Vault Reader", "IsCustom": true, "Description": "Reads secrets.",
		"Actions": ["Microsoft.KeyVault/vaults/read"], "NotActions": [],
		"DataActions": ["Microsoft.KeyVault/vaults/secrets/getSecret/action"], "NotDataActions": [],
		"AssignableScopes": ["/subscriptions/00000000-0000-0000-0000-000000000001"]}`
	if err := os.WriteFile(file, []byte("\xef\xbb\xbf"+azShape), 0o600); err != nil {
		t.Fatal(err)
	}
	want := roleSpec{Props: client.RoleDefinitionProperties{RoleName: "Vault Reader", Description: "Reads secrets.",
		AssignableScopes: []string{"/subscriptions/00000000-0000-0000-0000-000000000001"},
		Permissions: []client.Permission{{Actions: []string{"Microsoft.KeyVault/vaults/read"}, NotActions: []string{},
			DataActions: []string{"Microsoft.KeyVault/vaults/secrets/getSecret/action"}, NotDataActions: []string{}}}}}
	listed := `{"assignableScopes": ["/"], "description": "d", "id": "/providers/Microsoft.Authorization/roleDefinitions/11111111-2222-3333-4444-555555555555",
		"name": "11111111-2222-3333-4444-555555555555", "permissions": [{"actions": ["*/read"]}], "roleName": "Reader Too", "roleType": "CustomRole",
		"type": "Microsoft.Authorization/roleDefinitions"}`
	cases := []struct {
		name, arg string
		want      roleSpec
		wantErr   string
	}{
		{"az shape from @file (with a BOM)", "@" + file, want, ""},
		{"az shape from a bare path", file, want, ""},
		{"az shape inline", azShape, want, ""},
		{"camel case inline", `{"name":"Vault Reader","description":"Reads secrets.","actions":["Microsoft.KeyVault/vaults/read"],"notActions":[],"dataActions":["Microsoft.KeyVault/vaults/secrets/getSecret/action"],"notDataActions":[],"assignableScopes":["/subscriptions/00000000-0000-0000-0000-000000000001"]}`, want, ""},
		{"listed shape", listed, roleSpec{ID: "11111111-2222-3333-4444-555555555555", Props: client.RoleDefinitionProperties{
			RoleName: "Reader Too", Description: "d", AssignableScopes: []string{"/"},
			Permissions: []client.Permission{{Actions: []string{"*/read"}, NotActions: []string{}, DataActions: []string{}, NotDataActions: []string{}}}}}, ""},
		{"ARM shape", `{"properties": {"roleName": "R", "permissions": [{"actions": ["a"]}], "assignableScopes": ["/"]}}`, roleSpec{Props: client.RoleDefinitionProperties{
			RoleName: "R", AssignableScopes: []string{"/"}, Permissions: []client.Permission{{Actions: []string{"a"}, NotActions: []string{}, DataActions: []string{}, NotDataActions: []string{}}}}}, ""},
		{"update by description only", `{"Name": "R", "Description": "new"}`, roleSpec{Props: client.RoleDefinitionProperties{RoleName: "R", Description: "new"}}, ""},
		{"not JSON", "{nope", roleSpec{}, "not a JSON object"},
		{"missing file", "@" + filepath.Join(dir, "missing.json"), roleSpec{}, "no such file"},
		{"actions not a list", `{"Name": "R", "Actions": "x"}`, roleSpec{}, `"actions" must be a list of strings`},
		{"both shapes", `{"Name": "R", "Actions": ["a"], "permissions": [{"actions": ["b"]}]}`, roleSpec{}, "not both"},
		{"bad id", `{"Name": "R", "id": "/providers/Microsoft.Authorization/roleDefinitions/owner"}`, roleSpec{}, "does not end in a role GUID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseRoleDefinition(tc.arg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseRoleDefinition(%.60q) error = %v, want %q", tc.arg, err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parseRoleDefinition(%.60q) =\n%+v, %v\nwant\n%+v", tc.arg, got, err, tc.want)
			}
		})
	}
}

func TestChooseSubscription(t *testing.T) {
	a := client.Subscription{SubscriptionID: "00000000-0000-0000-0000-00000000000a", DisplayName: "dev", State: "Enabled"}
	b := client.Subscription{SubscriptionID: "00000000-0000-0000-0000-00000000000b", DisplayName: "prod", State: "Enabled"}
	off := client.Subscription{SubscriptionID: "00000000-0000-0000-0000-00000000000c", DisplayName: "old", State: "Disabled"}
	const def = "00000000-0000-0000-0000-0000000000df"
	cases := []struct {
		name           string
		visible        []client.Subscription
		want, tenant   string
		wantID, warn   string
		wantErrContent string
	}{
		{"first readable", []client.Subscription{a, b}, "", def, a.SubscriptionID, "", ""},
		{"first enabled", []client.Subscription{off, b}, "", def, b.SubscriptionID, "", ""},
		{"by ID", []client.Subscription{a, b}, b.SubscriptionID, def, b.SubscriptionID, "", ""},
		{"by name", []client.Subscription{a, b}, "prod", def, b.SubscriptionID, "", ""},
		{"unreadable ID is recorded with a warning", []client.Subscription{a}, def, "", def, "cannot read subscription", ""},
		{"unknown name", []client.Subscription{a}, "staging", def, "", "", `"staging" is not one`},
		{"none readable: the tenant's default", nil, "", def, def, "can read no subscription yet", ""},
		{"none at all", nil, "", "", "", "no subscriptions found", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, warn, err := chooseSubscription(tc.visible, tc.want, tc.tenant, "app")
			if tc.wantErrContent != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrContent) {
					t.Fatalf("error = %v, want %q", err, tc.wantErrContent)
				}
				return
			}
			if err != nil || got.SubscriptionID != tc.wantID || (tc.warn == "") != (warn == "") || !strings.Contains(warn, tc.warn) {
				t.Fatalf("chooseSubscription(%v, %q, %q) = %q, warning %q, %v; want %q, warning %q", tc.visible, tc.want, tc.tenant, got.SubscriptionID, warn, err, tc.wantID, tc.warn)
			}
		})
	}
}

// TestEmptySubscriptionNeverReachesAPath: a command in a subscription with
// none selected fails with the way out instead of requesting
// /subscriptions//....
func TestEmptySubscriptionNeverReachesAPath(t *testing.T) {
	c := &conn{profile: profile{Source: "/home/u/.ward/profile.json", ClientID: "app", Login: true}}
	_, err := c.subscription()
	if err == nil || !strings.Contains(err.Error(), "ward account set --subscription") || !strings.Contains(err.Error(), "ward logout") {
		t.Fatalf("subscription() with none = %v", err)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{Use: "ward", SilenceUsage: true, SilenceErrors: true}
	var g Globals
	root.AddCommand(Commands(&g)...)
	return root
}

func TestUnknownSubcommand(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"a real command", []string{"role", "definition", "create", "--role-definition", "@x.json"}, ""},
		{"a group alone", []string{"role", "definition"}, ""},
		{"a group's help", []string{"role", "definition", "--help"}, ""},
		{"unknown under a group", []string{"keyvault", "secret", "create", "--vault-name", "v", "-n", "x"}, `"create" is not a command of "ward keyvault secret"`},
		{"unknown with --help", []string{"keyvault", "secret", "create", "--help"}, `"create" is not a command of "ward keyvault secret"`},
		{"unknown after a flag value", []string{"role", "definition", "-o", "table", "frob"}, `"frob" is not a command`},
		{"unknown flag's value is not a command", []string{"role", "definition", "--bogus", "val"}, ""},
		{"suggestion", []string{"identity", "federated-credentail"}, "did you mean federated-credential?"},
		{"root is cobra's", []string{"nope"}, ""},
		{"a leaf takes its own args", []string{"run", "--cluster", "c", "--", "go", "run", "."}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := UnknownSubcommand(newRoot(), tc.args)
			if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("UnknownSubcommand(%q) = %v, want %q", tc.args, err, tc.wantErr)
			}
		})
	}
}

// TestEveryCommandPrintsItsOwnHelp: 'X --help' of every command prints X's
// usage line, not a parent's.
func TestEveryCommandPrintsItsOwnHelp(t *testing.T) {
	var walk func(c *cobra.Command)
	count := 0
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if !sub.IsAvailableCommand() {
				continue
			}
			path := strings.Fields(sub.CommandPath())[1:]
			t.Run(strings.Join(path, " "), func(t *testing.T) {
				root := newRoot()
				var out bytes.Buffer
				root.SetOut(&out)
				root.SetArgs(append(path, "--help"))
				if err := UnknownSubcommand(root, append(path, "--help")); err != nil {
					t.Fatal(err)
				}
				if err := root.Execute(); err != nil {
					t.Fatal(err)
				}
				usage := "  " + strings.Join(append([]string{"ward"}, path...), " ")
				if !strings.Contains(out.String(), "Usage:\n"+usage) {
					t.Fatalf("ward %s --help printed:\n%s\nwant a usage line %q", strings.Join(path, " "), out.String(), usage)
				}
			})
			count++
			walk(sub)
		}
	}
	walk(newRoot())
	if count < 50 {
		t.Fatalf("walked %d commands", count)
	}
}

func TestLoopbackAuthority(t *testing.T) {
	for _, tc := range []struct {
		authority string
		warn      bool
	}{
		{"https://127.0.0.1:8443/", true},
		{"https://127.1.2.3:8443/", true},
		{"https://[::1]:8443/", true},
		{"https://localhost:8443/", true},
		{"https://ward.localhost/", true},
		{"https://10.0.0.5:8443/", false},
		{"https://ward.example.com/", false},
		{"https://0.0.0.0:8443/", false},
	} {
		if got := loopbackAuthority(tc.authority); (got != "") != tc.warn || (tc.warn && !strings.Contains(got, "--public-url")) {
			t.Errorf("loopbackAuthority(%q) = %q, want a warning: %v", tc.authority, got, tc.warn)
		}
	}
	m, err := installManifests(installTarget{Name: "c1", Group: "rg", Issuer: "https://127.0.0.1:8443/oidc/t/c/"}, "t", "https://127.0.0.1:8443/", "ward:dev", "")
	if err != nil || !strings.Contains(m, "# WARNING: AZURE_AUTHORITY_HOST would be https://127.0.0.1:8443/, a loopback address") {
		t.Fatalf("manifests for a loopback authority lack the warning: %v\n%.600s", err, m)
	}
}

func TestMovedHost(t *testing.T) {
	const iss = "https://127.0.0.1:8443/oidc/t/c/"
	for _, tc := range []struct {
		a, b  string
		moved bool
	}{
		{iss, "https://127.0.0.1:9443/oidc/t/c/", true},
		{iss, "https://ward.example.com/oidc/t/c", true},
		{iss, iss, false},
		{iss, "https://127.0.0.1:8443/oidc/t/c", false},
		{iss, "https://127.0.0.1:9443/oidc/t/other/", false},
		{"https://a.example/", "https://b.example/", false},
		{"not a url", iss, false},
	} {
		if got := movedHost(tc.a, tc.b); got != tc.moved {
			t.Errorf("movedHost(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.moved)
		}
	}
	if got := issuerBefore(iss, "https://127.0.0.1:9443"); got != "https://127.0.0.1:9443/oidc/t/c/" {
		t.Errorf("issuerBefore = %q", got)
	}
	if got := issuerBefore(iss, "https://127.0.0.1:8443"); got != "" {
		t.Errorf("issuerBefore of the same URL = %q", got)
	}
}

func TestCAEnvIsAbsolute(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bundle, err := trustBundle(dir, ca)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range caEnv(bundle, ca) {
		k, v, _ := strings.Cut(kv, "=")
		if !filepath.IsAbs(v) {
			t.Errorf("%s=%s is relative", k, v)
		}
	}
	// The local admin's CA path is absolute even when --data is relative.
	t.Chdir(dir)
	if err := os.MkdirAll("ward-data", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("ward-data/admin.json", []byte(`{"tenantId":"t","subscriptionId":"s","clientId":"c","clientSecret":"x","resourceManager":"https://127.0.0.1:8443/"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := (&Globals{Data: "ward-data"}).localAdmin()
	if err != nil || !filepath.IsAbs(p.CAFile) || !filepath.IsAbs(p.Source) {
		t.Fatalf("localAdmin() = %+v, %v; want absolute CAFile and Source", p, err)
	}
}

func TestSecretValue(t *testing.T) {
	file := filepath.Join(t.TempDir(), "v")
	if err := os.WriteFile(file, []byte("hi\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, value, file, enc string
		valueSet               bool
		want, wantErr          string
	}{
		{"value", "s3cr3t", "", "", true, "s3cr3t", ""},
		{"empty value", "", "", "", true, "", ""},
		{"file utf-8", "", file, "", false, "hi\n", ""},
		{"file base64", "", file, "base64", false, "aGkK", ""},
		{"file hex", "", file, "hex", false, "68690a", ""},
		{"both", "x", file, "", true, "", "not both"},
		{"neither", "", "", "", false, "", "--value or --file"},
		{"bad encoding", "", file, "utf-32", false, "", "--encoding"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := secretValue(tc.value, tc.file, tc.enc, tc.valueSet)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("secretValue = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestTablesKeepValuesWhole: az's column choice (no id/type, and role
// assignments as Principal, Role, Scope), and every value printed whole,
// however wide the table gets (as az prints it; the terminal wraps): IDs
// must stay copyable. $COLUMNS changes nothing.
func TestTablesKeepValuesWhole(t *testing.T) {
	t.Setenv("COLUMNS", "80")
	const sub = "0b8f3c1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b"
	fic := ficView(client.FederatedCredential{ID: "/subscriptions/" + sub + "/resourcegroups/myResourceGroup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/myIdentity/federatedIdentityCredentials/myFedCred",
		Name: "myFedCred", Type: "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
		Properties: client.FederatedCredentialProperties{Issuer: "https://oidc.example.com/my-cluster/", Subject: "system:serviceaccount:default:workload-sa", Audiences: []string{"api://AzureADTokenExchange"}}})
	var a client.RoleAssignment
	a.ID = "/subscriptions/" + sub + "/resourceGroups/myResourceGroup/providers/Microsoft.Authorization/roleAssignments/6f1d2c3b-4a5e-4f60-9a1b-2c3d4e5f6a7b"
	a.Name, a.Type = "6f1d2c3b-4a5e-4f60-9a1b-2c3d4e5f6a7b", "Microsoft.Authorization/roleAssignments"
	a.Properties.PrincipalID, a.Properties.PrincipalType = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a", "ServicePrincipal"
	a.Properties.RoleDefinitionID = "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"
	// At a subscription, as the README's create-for-rbac example; a deeper
	// scope is as wide as it is, in az too.
	a.Properties.Scope, a.Properties.CreatedOn = "/subscriptions/"+sub, "2026-01-01T00:00:00Z"
	ra := roleAssignmentView(a, "Key Vault Secrets User")
	ra["principalName"] = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"
	views := []map[string]any{ra}
	// A hosted cluster issuer and a role assignment at a vault: each value
	// alone is wider than the table may be.
	hosted := ficView(client.FederatedCredential{Name: "myFedCred",
		Properties: client.FederatedCredentialProperties{Issuer: "https://127.0.0.1:8443/clusters/3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f/9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a/", Subject: "system:serviceaccount:default:workload-sa"}})
	a.Properties.Scope = "/subscriptions/" + sub + "/resourceGroups/myResourceGroup/providers/Microsoft.KeyVault/vaults/my-team-vault"
	atVault := roleAssignmentView(a, "Key Vault Secrets User")
	atVault["principalName"] = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"
	long := []map[string]any{atVault, ra}
	for _, tc := range []struct {
		name    string
		result  any
		columns string
		whole   string // a long value, printed whole
	}{
		{"federated credentials", []map[string]any{fic}, "Issuer Name ResourceGroup Subject", "system:serviceaccount:default:workload-sa"},
		{"role assignments", tableView{value: views, table: roleAssignmentTable(views)}, "Principal Role Scope", "/subscriptions/" + sub},
		{"hosted issuer", []map[string]any{hosted, fic}, "Issuer Name ResourceGroup Subject", hosted["issuer"].(string)},
		{"assignment at a vault", tableView{value: long, table: roleAssignmentTable(long)}, "Principal Role Scope", a.Properties.Scope},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := render(&b, tc.result, "table", ""); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
			if got := strings.Join(strings.Fields(lines[0]), " "); got != tc.columns {
				t.Errorf("columns %q, want %q", got, tc.columns)
			}
			if strings.Contains(b.String(), "...") || !strings.Contains(b.String(), tc.whole) {
				t.Errorf("table does not print %q whole:\n%s", tc.whole, b.String())
			}
		})
	}
	// With --query the columns are the query's, and JSON keeps every field.
	var b strings.Builder
	if err := render(&b, tableView{value: views, table: roleAssignmentTable(views)}, "table", "[].{Role:roleDefinitionName, Id:id}"); err != nil || !strings.HasPrefix(b.String(), "Role") {
		t.Fatalf("table with --query: %v\n%s", err, b.String())
	}
	b.Reset()
	if err := render(&b, tableView{value: views, table: roleAssignmentTable(views)}, "json", ""); err != nil || !strings.Contains(b.String(), `"roleDefinitionId"`) {
		t.Fatalf("json of a table view: %v\n%s", err, b.String())
	}
	b.Reset()
	if err := render(&b, []map[string]any{fic}, "tsv", ""); err != nil || !strings.Contains(b.String(), "/federatedIdentityCredentials/myFedCred") {
		t.Fatalf("tsv keeps the id: %v\n%s", err, b.String())
	}
}

func TestFormatErrorHint(t *testing.T) {
	refused := &client.Error{StatusCode: 403, Code: "AuthorizationFailed", Message: "no"}
	login := profile{Login: true, ClientID: "app", Source: "/p.json"}
	for _, tc := range []struct {
		name     string
		err      error
		p        profile
		wantHint bool
	}{
		{"refused as a login profile", refused, login, true},
		{"refused as the local admin", refused, profile{Source: "ward-data/admin.json"}, false},
		{"not found as a login profile", &client.Error{StatusCode: 404, Code: "NotFound"}, login, false},
		{"local error", errors.New("boom"), login, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			FormatError(&b, explain(tc.err, tc.p))
			out := b.String()
			if got := strings.Contains(out, "HINT:") && strings.Contains(out, "ward logout"); got != tc.wantHint {
				t.Fatalf("output:\n%s\nwant a hint: %v", out, tc.wantHint)
			}
			if !strings.HasPrefix(out, "ERROR: ") || strings.Count(out, "ERROR:") != 1 {
				t.Fatalf("output:\n%s", out)
			}
		})
	}
}

// TestDoctorVerbsOwnTheirFlags: doctor pod and doctor serviceaccount keep
// their flags apart (they once shared the variables behind --namespace
// and --kubeconfig).
func TestDoctorVerbsOwnTheirFlags(t *testing.T) {
	cmd := doctorCmd(&Globals{})
	pod, _, err := cmd.Find([]string{"pod"})
	if err != nil {
		t.Fatal(err)
	}
	sa, _, err := cmd.Find([]string{"serviceaccount"})
	if err != nil {
		t.Fatal(err)
	}
	if err := pod.Flags().Set("namespace", "team-a"); err != nil {
		t.Fatal(err)
	}
	if err := pod.Flags().Set("kubeconfig", "/tmp/kc"); err != nil {
		t.Fatal(err)
	}
	if ns, kc := sa.Flags().Lookup("namespace").Value.String(), sa.Flags().Lookup("kubeconfig").Value.String(); ns != "default" || kc != "" {
		t.Fatalf("serviceaccount sees pod's flags: namespace %q, kubeconfig %q", ns, kc)
	}
	if sa.Flags().Lookup("cluster") == nil || pod.Flags().Lookup("cluster") != nil {
		t.Fatal("--cluster belongs to serviceaccount only")
	}
}
