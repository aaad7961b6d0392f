package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	kubeletv1 "k8s.io/kubelet/config/v1"
	"sigs.k8s.io/yaml"

	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/cli"
	"github.com/ward-id/ward/internal/server/servertest"
	"github.com/ward-id/ward/internal/wardimage"
)

// The CLI's verbs, each flow against its own `ward serve`, run as the
// binary a user runs: the command line parsed by cobra, credentials from
// the data directory's admin.json, the answer printed as JSON. The CLI's
// own logic (flags, checks, rendering) is tested without a server in
// internal/cli.

// cliEnv is a running server, the CLI run against it, and a management
// client signed in as its admin to seed what a flow starts from.
type cliEnv struct {
	w   *ward
	api *client.Client
}

func newCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	w := startWard(t, "")
	api, err := client.New(w.base, client.StaticToken(w.adminToken()), client.Options{HTTPClient: w.http})
	if err != nil {
		t.Fatal(err)
	}
	return &cliEnv{w: w, api: api}
}

// cmd is a command line: the command's words, then its arguments.
func cmd(path string, args ...string) []string { return append(strings.Fields(path), args...) }

// exec runs the CLI with args and -o json, and returns what it printed
// and, when it exits non-zero, an error with its stderr; stdout and stderr
// are then returned together, as the verb tests read both.
func (e *cliEnv) exec(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	out, errOut, code := e.w.cli(append(append([]string{}, args...), "-o", "json")...)
	if code != 0 {
		return "", out + errOut, errors.New(strings.TrimSpace(errOut))
	}
	return out, errOut, nil
}

// wantErr fails unless err contains want ("" wants no error).
func wantErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	if want == "" && err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
		t.Fatalf("%s: error %v, want one containing %q", what, err, want)
	}
}

// cliStep is one CLI run of a table-driven flow: steps run in order, so
// later ones see what earlier ones made.
type cliStep struct {
	name    string
	args    []string // the command line
	want    []string // substrings of what it printed (JSON, then stderr)
	wantErr string   // a substring of its error, "" for none
}

// runSteps runs each step as a subtest against e.
func (e *cliEnv) runSteps(t *testing.T, steps []cliStep) {
	t.Helper()
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			out, errOut, err := e.exec(t, st.args...)
			wantErr(t, strings.Join(st.args, " "), err, st.wantErr)
			for _, w := range st.want {
				if !strings.Contains(out+errOut, w) {
					t.Errorf("%q printed\n%.2000s\n%s\nwant it to contain %s", st.args, out, errOut, w)
				}
			}
		})
	}
}

// seed creates resource group rg (westeurope) and, when identity is not
// "", a user-assigned identity of that name in it, whose ID it returns.
func (e *cliEnv) seed(t *testing.T, identity string) string {
	t.Helper()
	return seedGroup(t, e.api, e.w.admin.SubscriptionID, identity)
}

func seedGroup(t *testing.T, api *client.Client, sub, identity string) string {
	t.Helper()
	ctx := context.Background()
	if _, _, err := api.CreateOrUpdateGroup(ctx, sub, "rg", "westeurope", nil); err != nil {
		t.Fatal(err)
	}
	if identity == "" {
		return ""
	}
	id, _, err := api.CreateOrUpdateIdentity(ctx, sub, "rg", identity, "westeurope", nil)
	if err != nil {
		t.Fatal(err)
	}
	return id.ID
}

// TestCLIStorageFaults: a storage failure reaches the CLI as the server's
// clean 500 error, not a hang, a garbled answer or the storage error's
// text. The server runs in the test (servertest), whose store can be made
// to fail; the CLI is its cobra command tree, run as the binary runs it.
func TestCLIStorageFaults(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t)
	sub := s.Admin.SubscriptionID
	seedGroup(t, s.Client, sub, "app")
	if _, err := s.Client.PutCluster(context.Background(), sub, "rg", "c1", map[string]any{"location": "westeurope"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method string
		args   []string
	}{
		{"ListServicePrincipals", cmd("ad sp list")},
		{"ListClusters", cmd("aks list")},
		{"ListMachines", cmd("connectedmachine list")},
		{"GetCluster", cmd("aks nodepool list", "--cluster-name", "c1", "-g", "rg")},
		{"ListResourceGroups", cmd("group list")},
		{"ListIdentities", cmd("identity list")},
		{"ListFederatedCredentials", cmd("identity federated-credential list", "--identity-name", "app", "-g", "rg")},
		{"ListVaults", cmd("keyvault list")},
		{"ListSubscriptions", cmd("account list")},
		{"ListRoleDefinitions", cmd("role definition delete", "-n", "Vault Reader")},
	} {
		t.Run(tc.method, func(t *testing.T) {
			s.Store.Fail(tc.method, errors.New("disk on fire"))
			defer s.Store.Heal()
			var g cli.Globals
			root := &cobra.Command{Use: "ward", SilenceUsage: true, SilenceErrors: true}
			root.AddCommand(cli.Commands(&g)...)
			var out, errOut bytes.Buffer
			root.SetOut(&out)
			root.SetErr(&errOut)
			root.SetArgs(append(tc.args, "--data", s.DataDir))
			err := root.ExecuteContext(context.Background())
			var ce *client.Error
			if !errors.As(err, &ce) || ce.StatusCode != http.StatusInternalServerError {
				t.Fatalf("%q with %s failing = %v, want a 500 from the server", tc.args, tc.method, err)
			}
			cli.FormatError(&errOut, err)
			if strings.Contains(err.Error(), "disk on fire") || strings.Contains(out.String()+errOut.String(), "disk on fire") {
				t.Errorf("the server's 500 leaks the storage error: %v\n%s%s", err, &out, &errOut)
			}
		})
	}
}

func TestCLIVerbsAD(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	sub := "/subscriptions/" + e.w.admin.SubscriptionID
	out, _, err := e.exec(t, cmd("ad sp create-for-rbac", "-n", "ci", "--role", "Reader", "--scopes", sub)...)
	if err != nil {
		t.Fatalf("create-for-rbac: %v", err)
	}
	var created struct{ AppID, Password string }
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.AppID == "" || created.Password == "" {
		t.Fatalf("create-for-rbac printed %s (%v), want appId and password", out, err)
	}
	app := []string{"--id", created.AppID}
	e.runSteps(t, []cliStep{
		{"create-for-rbac with an unknown role", cmd("ad sp create-for-rbac", "--role", "Nope", "--scopes", sub), nil, "role 'Nope' does not exist"},
		{"the role was assigned", cmd("role assignment list", "--assignee", created.AppID), []string{`"roleDefinitionName": "Reader"`}, ""},
		{"show", cmd("ad sp show", app...), []string{`"displayName": "ci"`}, ""},
		{"show needs an id", cmd("ad sp show"), nil, "--id"},
		{"list by display name", cmd("ad sp list", "--display-name", "ci"), []string{`"appId": "` + created.AppID + `"`}, ""},
		{"reset replaces the secret", cmd("ad sp credential reset", app...), []string{`"password": "`}, ""},
		{"reset with a bad certificate", cmd("ad sp credential reset", append([]string{"--cert", "bm90IGEgY2VydA=="}, app...)...), nil, "not an X.509 certificate"},
		{"delete", cmd("ad sp delete", app...), nil, ""},
		{"gone", cmd("ad sp show", app...), nil, "NotFound"},
	})
}

func TestCLIVerbsAKS(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	if _, _, err := e.api.CreateOrUpdateGroup(context.Background(), e.w.admin.SubscriptionID, "rg", "westeurope", nil); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "sa.key")
	cl := []string{"-n", "c1", "-g", "rg"}
	e.runSteps(t, []cliStep{
		{"create needs name and group", cmd("aks create", "-n", "c1"), nil, "--resource-group/-g"},
		{"create without issuer", cmd("aks create", cl...), []string{`"name": "c1"`, `"resourceGroup": "rg"`, `"type": "SystemAssigned"`}, ""},
		{"flags need the issuer", cmd("aks show-apiserver-flags", cl...), nil, "has no OIDC issuer: ward aks update -n c1 -g rg --enable-oidc-issuer"},
		{"update enables the issuer", cmd("aks update", append([]string{"--enable-oidc-issuer", "--enable-workload-identity"}, cl...)...), []string{`"issuerUrl": "https://`, `"workloadIdentity"`}, ""},
		{"show", cmd("aks show", cl...), []string{`"name": "c1"`, `"issuerUrl"`}, ""},
		{"list", cmd("aks list", "-g", "rg"), []string{`"name": "c1"`}, ""},
		{"apiserver flags", cmd("aks show-apiserver-flags", cl...), []string{"--service-account-issuer=https://", "openid/v1/jwks"}, ""},
		{"get-token checks the service account first", cmd("aks get-token", "--cluster", "c1", "-g", "rg", "--service-account", "Bad_Name"), nil, "not valid in Kubernetes"},
		{"get-token", cmd("aks get-token", "--cluster", "c1", "-g", "rg", "--service-account", "shop/app", "--duration", "20m"), []string{`"token": "ey`}, ""},
		{"signing key to a file", cmd("aks get-service-account-signing-key", append([]string{"--file", keyFile}, cl...)...), []string{`"privateKeyFile": "` + keyFile + `"`, `"kid"`}, ""},
		{"rotate", cmd("aks rotate-service-account-signing-key", cl...), []string{"kid"}, ""},
		{"show-install", cmd("aks show-install", cl...), []string{"# Ward workload identity webhook for cluster c1", "AZURE_TENANT_ID: \"" + e.w.admin.TenantID + "\"", "loopback address"}, ""},
		// The guides' create, pasted: network flags stored, node flags reported
		// (--attach-acr acts: TestCLIACR).
		{"the guides' flags", cmd("aks create", "-n", "c2", "-g", "rg", "--node-count", "3", "--generate-ssh-keys", "--network-plugin", "azure",
			"--vnet-subnet-id", "/subscriptions/s/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/aks", "--service-cidr", "10.2.0.0/24",
			"--dns-service-ip", "10.2.0.10", "--docker-bridge-address", "172.17.0.1/16", "--enable-oidc-issuer", "-k", "1.30.0"),
			[]string{`"networkPlugin": "azure"`, `"serviceCidr": "10.2.0.0/24"`, `"dnsServiceIP": "10.2.0.10"`, `"dockerBridgeCidr": "172.17.0.1/16"`, `"kubernetesVersion": "1.30.0"`,
				"ward: --node-count 3 accepted and not acted on: Ward runs no nodes", "--generate-ssh-keys accepted"}, ""},
		{"get-credentials says why there are none", cmd("aks get-credentials", cl...), nil, "Ward hosts its OIDC issuer and identities, not its Kubernetes API server"},
		{"get-credentials of an absent cluster", cmd("aks get-credentials", "-n", "nope", "-g", "rg"), nil, "ResourceNotFound"},
		{"nodepool upgrade --node-image-only", cmd("aks nodepool upgrade", "--cluster-name", "c1", "-g", "rg", "-n", "nodepool1", "--node-image-only"),
			[]string{`"name": "nodepool1"`, "ward: node pool 'nodepool1' unchanged: Ward runs no nodes"}, ""},
		{"delete", cmd("aks delete", append([]string{"-y"}, cl...)...), nil, ""},
		{"show after delete", cmd("aks show", cl...), nil, "ResourceNotFound"},
	})
	if b, err := os.ReadFile(keyFile); err != nil || !strings.Contains(string(b), "PRIVATE KEY") {
		t.Errorf("--file wrote %.40q, %v; want a PEM private key", b, err)
	}
	if _, err := os.Stat(strings.TrimSuffix(keyFile, ".key") + ".pub"); err != nil {
		t.Errorf("public key beside --file: %v", err)
	}
}

func TestCLIVerbsConnectedMachine(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	uai := e.seed(t, "app")
	m := []string{"-n", "m1", "-g", "rg"}
	e.runSteps(t, []cliStep{
		{"create needs a group", cmd("connectedmachine create", "-n", "m1"), nil, "--resource-group/-g"},
		{"create prints the join token and what to run", cmd("connectedmachine create", append([]string{"--join-token-lifetime", "10m"}, m...)...),
			[]string{`"wardJoinToken": "`, `"resourceGroup": "rg"`, "ward agent join --server " + e.w.base}, ""},
		{"show", cmd("connectedmachine show", m...), []string{`"name": "m1"`}, ""},
		{"list", cmd("connectedmachine list"), []string{`"name": "m1"`}, ""},
		{"identity assign needs identities", cmd("connectedmachine identity assign", m...), nil, "--identities"},
		{"identity assign", cmd("connectedmachine identity assign", append([]string{"--identities", uai}, m...)...), []string{`"type": "SystemAssigned, UserAssigned"`}, ""},
		{"identity remove [system]", cmd("connectedmachine identity remove", append([]string{"--identities", "[system]"}, m...)...), []string{`"type": "UserAssigned"`}, ""},
		{"credential reset", cmd("connectedmachine credential reset", m...), []string{`"joinToken": "`, "ward agent join"}, ""},
		{"delete", cmd("connectedmachine delete", m...), nil, ""},
		{"gone", cmd("connectedmachine show", m...), nil, "NotFound"},
	})
}

func TestCLIVerbsNodepool(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	uai := e.seed(t, "app")
	cl := []string{"--cluster-name", "c1", "-g", "rg"}
	pool := append([]string{"-n", "pool2"}, cl...)
	e.runSteps(t, []cliStep{
		{"cluster", cmd("aks create", "-n", "c1", "-g", "rg"), nil, ""},
		{"add needs a name", cmd("aks nodepool add", cl...), nil, "--name/-n"},
		{"add", cmd("aks nodepool add", pool...), []string{`"name": "pool2"`}, ""},
		{"show by --nodepool-name", cmd("aks nodepool show", append([]string{"--nodepool-name", "pool2"}, cl...)...), []string{`"name": "pool2"`}, ""},
		{"list", cmd("aks nodepool list", cl...), []string{`"name": "pool2"`}, ""},
		{"identity assign", cmd("aks nodepool identity assign", append([]string{"--identities", uai}, pool...)...),
			[]string{`"kind": "kubelet"`, `"kind": "user"`, `"resourceId": "` + uai + `"`}, ""},
		{"identity list", cmd("aks nodepool identity list", pool...), []string{`"resourceId": "` + uai + `"`}, ""},
		{"identity remove", cmd("aks nodepool identity remove", append([]string{"--identities", uai}, pool...)...), []string{`"kind": "kubelet"`}, ""},
		{"delete", cmd("aks nodepool delete", pool...), nil, ""},
		{"gone", cmd("aks nodepool show", pool...), nil, "NotFound"},
	})
}

func TestCLIVerbsGroup(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	e.runSteps(t, []cliStep{
		{"create needs a location", cmd("group create", "-n", "rg"), nil, "--location/-l"},
		{"create", cmd("group create", "-n", "rg", "-l", "westeurope", "--tags", "a=1", "b"), []string{`"name": "rg"`, `"a": "1"`, `"b": ""`}, ""},
		{"show", cmd("group show", "-n", "rg"), []string{`"location": "westeurope"`}, ""},
		{"show needs a name", cmd("group show"), nil, "--name/-n"},
		{"list", cmd("group list"), []string{`"name": "rg"`}, ""},
		{"delete", cmd("group delete", "-n", "rg", "-y"), nil, ""},
		{"delete again", cmd("group delete", "-n", "rg", "-y"), nil, "Resource group 'rg' could not be found."},
	})
}

func TestCLIVerbsIdentity(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	e.seed(t, "")
	id := []string{"-n", "app", "-g", "rg"}
	fic := []string{"-n", "fic1", "--identity-name", "app", "-g", "rg"}
	e.runSteps(t, []cliStep{
		{"create needs name and group", cmd("identity create", "-n", "app"), nil, "--resource-group/-g"},
		{"create takes the group's location and stray tag words", cmd("identity create", append([]string{"--tags", "team=shop", "env=dev"}, id...)...),
			[]string{`"location": "westeurope"`, `"team": "shop"`, `"env": "dev"`, `"resourceGroup": "rg"`, `"clientId": "`}, ""},
		{"create with a bad tag", cmd("identity create", append([]string{"--tags", "=x"}, id...)...), nil, `invalid tag "=x"`},
		{"create in a missing group", cmd("identity create", "-n", "app", "-g", "nogroup"), nil, "ResourceGroupNotFound"},
		{"show", cmd("identity show", id...), []string{`"name": "app"`}, ""},
		{"list in the group", cmd("identity list", "-g", "rg"), []string{`"name": "app"`}, ""},
		{"list in the subscription", cmd("identity list"), []string{`"name": "app"`}, ""},
		{"update clears the tags", cmd("identity update", append([]string{"--tags", ""}, id...)...), []string{`"tags": {}`}, ""},
		{"credential create needs issuer and subject", cmd("identity federated-credential create", fic...), nil, "--issuer, --subject"},
		{"credential create defaults the audience", cmd("identity federated-credential create", append([]string{"--issuer", "https://issuer.example", "--subject", "system:serviceaccount:shop:app"}, fic...)...),
			[]string{`"issuer": "https://issuer.example"`, `"api://AzureADTokenExchange"`}, ""},
		{"credential update keeps the rest, reads a stray audience", cmd("identity federated-credential update", append([]string{"--subject", "system:serviceaccount:shop:web", "a1"}, fic...)...),
			[]string{`"issuer": "https://issuer.example"`, `"subject": "system:serviceaccount:shop:web"`, `"a1"`}, ""},
		{"credential update needs only the name", cmd("identity federated-credential update", "-n", "fic1"), nil, "--identity-name, --resource-group/-g"},
		{"credential show", cmd("identity federated-credential show", fic...), []string{`"name": "fic1"`}, ""},
		{"flexible credential create", cmd("identity federated-credential create", "-n", "teams", "--identity-name", "app", "-g", "rg", "--issuer", "https://issuer.example",
			"--claims-matching-expression-value", "claims['sub'] matches 'system:serviceaccount:team-*:*'", "--claims-matching-expression-version", "1"),
			[]string{`"subject": null`, `"value": "claims['sub'] matches 'system:serviceaccount:team-*:*'"`, `"languageVersion": 1`}, ""},
		{"flexible credential update keeps the expression", cmd("identity federated-credential update", "-n", "teams", "--identity-name", "app", "-g", "rg", "--audiences", "a2"),
			[]string{`"subject": null`, `"value": "claims['sub'] matches 'system:serviceaccount:team-*:*'"`, `"a2"`}, ""},
		{"flexible credential with a refused expression", cmd("identity federated-credential create", "-n", "bad", "--identity-name", "app", "-g", "rg", "--issuer", "https://issuer.example",
			"--claims-matching-expression-value", "claims['sub'] eq 'a' or claims['sub'] eq 'b'"), nil, "or, not and parentheses are not supported"},
		{"flexible credential with version 2", cmd("identity federated-credential create", "-n", "bad", "--identity-name", "app", "-g", "rg", "--issuer", "https://issuer.example",
			"--claims-matching-expression-value", "claims['sub'] eq 'a'", "--claims-matching-expression-version", "2"), nil, "languageVersion '2' is invalid"},
		{"subject and expression", cmd("identity federated-credential create", "-n", "bad", "--identity-name", "app", "-g", "rg", "--issuer", "https://issuer.example", "--subject", "s",
			"--claims-matching-expression-value", "claims['sub'] eq 'a'"), nil, "mutually exclusive"},
		{"plain credential shape unchanged", cmd("identity federated-credential show", fic...), []string{`"subject": "system:serviceaccount:shop:web"`}, ""},
		{"credential list", cmd("identity federated-credential list", "--identity-name", "app", "-g", "rg"), []string{`"name": "fic1"`}, ""},
		{"credential delete", cmd("identity federated-credential delete", fic...), nil, ""},
		{"credential gone", cmd("identity federated-credential show", fic...), nil, "NotFound"},
		{"delete", cmd("identity delete", id...), nil, ""},
		{"gone", cmd("identity show", id...), nil, "ResourceNotFound"},
	})
}

func TestCLIVerbsKeyvault(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	e.seed(t, "")
	file := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(file, []byte{0xca, 0xfe}, 0o600); err != nil {
		t.Fatal(err)
	}
	sec := []string{"--vault-name", "kv1", "-n", "db"}
	e.runSteps(t, []cliStep{
		{"create refuses access policies", cmd("keyvault create", "-n", "kv1", "-g", "rg", "--enable-rbac-authorization=false"), nil, "is not supported"},
		{"create needs a group", cmd("keyvault create", "-n", "kv1"), nil, "--resource-group/-g"},
		{"create", cmd("keyvault create", "-n", "kv1", "-g", "rg", "--tags", "team=shop"), []string{`"location": "westeurope"`, `"team": "shop"`, `"vaultUri": "https://`}, ""},
		{"show by name alone", cmd("keyvault show", "-n", "kv1"), []string{`"resourceGroup": "rg"`}, ""},
		{"show a missing vault", cmd("keyvault show", "-n", "nope"), nil, "'Microsoft.KeyVault/vaults/nope' under subscription"},
		{"list", cmd("keyvault list", "-g", "rg"), []string{`"name": "kv1"`}, ""},
		{"secret set needs a value", cmd("keyvault secret set", sec...), nil, "--value or --file"},
		{"secret set", cmd("keyvault secret set", append([]string{"--value", "s3cret", "--expires", "2030-01-01T00:00:00Z", "--disabled", "k=v"}, sec...)...),
			[]string{`"value": "s3cret"`, `"enabled": false`, `"expires": "2030-01-01T00:00:00+00:00"`, `"k": "v"`}, ""},
		{"secret set with a bad time", cmd("keyvault secret set", append([]string{"--value", "x", "--not-before", "tomorrow"}, sec...)...), nil, `--not-before "tomorrow"`},
		{"secret set from a file, as hex", cmd("keyvault secret set", append([]string{"--file", file, "--encoding", "hex"}, sec...)...),
			[]string{`"value": "cafe"`, `"file-encoding": "hex"`}, ""},
		{"secret show", cmd("keyvault secret show", sec...), []string{`"value": "cafe"`}, ""},
		{"secret show needs a target", cmd("keyvault secret show"), nil, "--vault-name and --name/-n, or --id"},
		{"secret show a bad --id", cmd("keyvault secret show", "--id", "https://kv1/keys/x"), nil, "is not a secret identifier"},
		{"secret list", cmd("keyvault secret list", "--vault-name", "kv1"), []string{`/secrets/db"`}, ""},
		{"secret delete", cmd("keyvault secret delete", sec...), []string{`"recoveryId"`}, ""},
		{"delete by name alone", cmd("keyvault delete", "-n", "kv1"), nil, ""},
		{"gone", cmd("keyvault show", "-n", "kv1", "-g", "rg"), nil, "ResourceNotFound"},
	})
}

// TestCLIVerbsAccountAndMonitor runs the verbs of account, monitor and keys
// that talk to the server (login, logout and account set only touch the
// profile; the e2e CLI tests run them).
func TestCLIVerbsAccountAndMonitor(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	sub := e.w.admin.SubscriptionID
	// The binary names the admin.json it read by its path in --data.
	e.runSteps(t, []cliStep{
		{"get-access-token", cmd("account get-access-token"), []string{`"accessToken": "ey`, `"subscription": "` + sub + `"`, `"tokenType": "Bearer"`}, ""},
		{"get-access-token for a resource", cmd("account get-access-token", "--resource", e.w.base), []string{`"accessToken": "ey`}, ""},
		{"show", cmd("account show"), []string{`"id": "` + sub + `"`, `"profile": "` + filepath.Join(e.w.dataDir, "admin.json") + `"`, `"state": "Enabled"`}, ""},
		{"list", cmd("account list"), []string{`"id": "` + sub + `"`, `"isDefault": true`}, ""},
		// The sign-in log is written in batches: what it lists yet is not checked.
		{"sign-ins", cmd("monitor sign-ins list", "--top", "5"), nil, ""},
		{"activity", cmd("monitor activity-log list"), nil, ""},
		// A group write, then the log filtered by group as az's flags ask.
		{"group for the log", cmd("group create", "-n", "rg-log", "-l", "westeurope"), nil, ""},
		{"activity by group", cmd("monitor activity-log list", "--resource-group", "rg-log", "--offset", "1h"),
			[]string{`"resourceGroupName": "rg-log"`, `"value": "Microsoft.Resources/subscriptions/resourceGroups/write"`}, ""},
		{"activity by another group", cmd("monitor activity-log list", "-g", "rg-none", "--offset", "1h"), []string{"[]"}, ""},
		{"activity over az's 1d", cmd("monitor activity-log list", "-g", "rg-log", "--offset", "1d"), []string{`"resourceGroupName": "rg-log"`}, ""},
		{"sign-ins over az's 2h", cmd("monitor sign-ins list", "--offset", "2h", "--top", "1"), nil, ""},
		{"activity with a bad start", cmd("monitor activity-log list", "--start-time", "yesterday"), nil, "not an RFC 3339 time"},
		{"rotate the signing key", cmd("keys rotate"), []string{`"kid"`}, ""},
	})
}

func TestCLIVerbsProviderAndFeature(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	e.runSteps(t, []cliStep{
		{"provider register needs a namespace", cmd("provider register"), nil, "--namespace/-n"},
		{"provider register", cmd("provider register", "--namespace", "Microsoft.ContainerService"), nil, ""},
		{"provider register of a namespace Ward does not serve", cmd("provider register", "-n", "Microsoft.Nope"), nil, "InvalidResourceNamespace"},
		{"provider show", cmd("provider show", "-n", "microsoft.containerservice"), []string{`"namespace": "Microsoft.ContainerService"`, `"registrationState": "Registered"`, `"resourceType": "managedClusters"`}, ""},
		{"provider list", cmd("provider list"), []string{`"namespace": "Microsoft.KeyVault"`}, ""},
		{"provider unregister needs a namespace", cmd("provider unregister"), nil, "--namespace/-n"},
		{"provider unregister", cmd("provider unregister", "-n", "Microsoft.ContainerService", "--wait"), nil, ""},
		{"provider show after unregister", cmd("provider show", "-n", "Microsoft.ContainerService"), []string{`"registrationState": "Unregistered"`}, ""},
		{"provider unregister of a namespace Ward does not serve", cmd("provider unregister", "-n", "Microsoft.Nope"), nil, "InvalidResourceNamespace"},
		{"provider register again", cmd("provider register", "-n", "Microsoft.ContainerService"), nil, ""},
		{"provider show after register", cmd("provider show", "-n", "Microsoft.ContainerService"), []string{`"registrationState": "Registered"`}, ""},
		{"feature register needs both names", cmd("feature register", "--namespace", "Microsoft.ContainerService"), nil, "--name/-n"},
		{"feature register", cmd("feature register", "--namespace", "Microsoft.ContainerService", "--name", "UserAssignedIdentityPreview"),
			[]string{`"name": "Microsoft.ContainerService/UserAssignedIdentityPreview"`, `"state": "Registered"`}, ""},
		{"feature show", cmd("feature show", "--namespace", "Microsoft.ContainerService", "-n", "EnableWorkloadIdentityPreview"), []string{`"state": "Registered"`}, ""},
		{"feature list of a namespace", cmd("feature list", "--namespace", "Microsoft.ContainerService"), []string{`"name": "Microsoft.ContainerService/UserAssignedIdentityPreview"`}, ""},
		{"feature unregister needs both names", cmd("feature unregister", "-n", "EnableWorkloadIdentityPreview"), nil, "--namespace"},
		{"feature unregister", cmd("feature unregister", "--namespace", "Microsoft.ContainerService", "-n", "EnableWorkloadIdentityPreview"), []string{`"state": "Unregistered"`}, ""},
		{"feature show after unregister", cmd("feature show", "--namespace", "Microsoft.ContainerService", "-n", "EnableWorkloadIdentityPreview"), []string{`"state": "Unregistered"`}, ""},
	})
}

func TestCLIVerbsRoleDefinition(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	sub := "/subscriptions/" + e.w.admin.SubscriptionID
	def := `{"Name": "Vault Reader", "Description": "Reads secrets.", "Actions": ["Microsoft.KeyVault/vaults/read"], "AssignableScopes": ["` + sub + `"]}`
	e.runSteps(t, []cliStep{
		{"create needs a definition", cmd("role definition create"), nil, "--role-definition"},
		{"create needs a name", cmd("role definition create", "--role-definition", `{"AssignableScopes": ["/"]}`), nil, `please provide role name ("Name")`},
		{"create needs scopes", cmd("role definition create", "--role-definition", `{"Name": "x"}`), nil, "please provide 'AssignableScopes'"},
		{"create", cmd("role definition create", "--role-definition", def), []string{`"roleName": "Vault Reader"`, `"roleType": "CustomRole"`}, ""},
		{"update by name keeps the scopes", cmd("role definition update", "--role-definition", `{"Name": "Vault Reader", "Description": "Reads more."}`),
			[]string{`"description": "Reads more."`, `"assignableScopes": [` + "\n" + `    "` + sub + `"`}, ""},
		{"update a built-in role", cmd("role definition update", "--role-definition", `{"Name": "Reader"}`), nil, "'Reader' is a built-in role"},
		{"update a missing role", cmd("role definition update", "--role-definition", `{"Name": "Nope"}`), nil, "role definition 'Nope' does not exist"},
		{"delete a built-in role", cmd("role definition delete", "-n", "acdd72a7-3385-48ef-bd42-f606fba81ae7"), nil, "only custom roles"},
		{"delete", cmd("role definition delete", "-n", "Vault Reader"), nil, ""},
		{"gone", cmd("role definition list", "-n", "Vault Reader"), nil, ""},
	})
	out, _, err := e.exec(t, cmd("role definition list", "-n", "Vault Reader")...)
	if err != nil || out != "[]\n" {
		t.Errorf("list after delete printed %q, %v; want []", out, err)
	}
}

func TestCLIVerbsRole(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	sub := "/subscriptions/" + e.w.admin.SubscriptionID
	appID := e.w.admin.ClientID
	steps := []struct {
		name     string
		args     []string
		want     []string // substrings of the JSON output
		wantNot  []string
		wantErr  string
		noOutput bool
	}{
		{"create needs an assignee", cmd("role assignment create", "--role", "Reader", "--scope", sub), nil, nil, "--assignee or --assignee-object-id", false},
		{"create needs role and scope", cmd("role assignment create", "--assignee", appID), nil, nil, "--role, --scope", false},
		{"create with an unknown role", cmd("role assignment create", "--assignee", appID, "--role", "Nope", "--scope", sub), nil, nil, "role 'Nope' does not exist", false},
		{"create with an unknown assignee", cmd("role assignment create", "--assignee", "nobody", "--role", "Reader", "--scope", sub), nil, nil, "cannot find user or service principal", false},
		{"create by app ID", cmd("role assignment create", "--assignee", appID, "--role", "Reader", "--scope", sub, "--name", "5f4e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c"),
			[]string{`"roleDefinitionName": "Reader"`, `"name": "5f4e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c"`, `"scope": "` + sub + `"`}, nil, "", false},
		// Run again (a setup script re-run): the existing assignment, as az
		// answers, not RoleAssignmentExists.
		{"create again is idempotent", cmd("role assignment create", "--assignee", appID, "--role", "Reader", "--scope", sub),
			[]string{`"roleDefinitionName": "Reader"`, `"name": "5f4e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c"`}, nil, "", false},
		{"list by role at the subscription", cmd("role assignment list", "--role", "Reader"),
			[]string{`"roleDefinitionName": "Reader"`, `"principalName": "` + appID + `"`}, []string{`"Owner"`}, "", false},
		{"list everything", cmd("role assignment list", "--all", "--assignee", appID), []string{`"Owner"`, `"Reader"`}, nil, "", false},
		{"definition list by name", cmd("role definition list", "-n", "Reader"), []string{`"roleName": "Reader"`}, []string{`"Owner"`}, "", false},
		{"definition list by GUID", cmd("role definition list", "-n", "acdd72a7-3385-48ef-bd42-f606fba81ae7"), []string{`"roleName": "Reader"`}, []string{`"Owner"`}, "", false},
		{"delete needs a choice", cmd("role assignment delete"), nil, nil, "give --ids, or --assignee", false},
		{"delete by assignee and role", cmd("role assignment delete", "--assignee", appID, "--role", "Reader"), nil, nil, "", true},
		{"deleted", cmd("role assignment list", "--role", "Reader"), nil, []string{`"Reader"`}, "", false},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			out, _, err := e.exec(t, st.args...)
			wantErr(t, strings.Join(st.args, " "), err, st.wantErr)
			for _, w := range st.want {
				if !strings.Contains(out, w) {
					t.Errorf("%q printed\n%s\nwant it to contain %s", st.args, out, w)
				}
			}
			for _, w := range st.wantNot {
				if strings.Contains(out, w) {
					t.Errorf("%q printed\n%s\nwant no %s", st.args, out, w)
				}
			}
			if st.noOutput && out != "" {
				t.Errorf("%q printed %q, want nothing", st.args, out)
			}
		})
	}
}

// TestCLIVerbsShowInstallCredentialProviderConfig decodes what
// `ward aks show-install --credential-provider-config` prints strictly
// into the kubelet's own CredentialProviderConfig type: the plugin for
// images under the server's registry suffix, node mode args (the kubelet
// identity's client ID), and from Kubernetes 1.34 the service-account
// token block as the kubelet defines it.
func TestCLIVerbsShowInstallCredentialProviderConfig(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	ctx, sub := context.Background(), e.w.admin.SubscriptionID
	if _, _, err := e.api.CreateOrUpdateGroup(ctx, sub, "rg", "westeurope", nil); err != nil {
		t.Fatal(err)
	}
	suffix, err := e.acrSuffix()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, version string
		pods          bool
	}{
		{"before 1.34: node mode only", "1.31.1", false},
		{"1.34: pods pull as themselves", "1.34.0", true},
		{"a later minor", "1.36.3", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "c" + strings.ReplaceAll(tc.version, ".", "")
			cl, err := e.api.PutCluster(ctx, sub, "rg", name, map[string]any{"location": "westeurope",
				"properties": map[string]any{"kubernetesVersion": tc.version, "oidcIssuerProfile": map[string]any{"enabled": true}}})
			if err != nil {
				t.Fatal(err)
			}
			kubeletID := cl.Properties.IdentityProfile["kubeletidentity"].ClientID
			if kubeletID == "" {
				t.Fatalf("cluster has no kubelet identity: %v", cl)
			}
			out, _, err := e.exec(t, cmd("aks show-install", "-n", name, "-g", "rg", "--credential-provider-config")...)
			if err != nil {
				t.Fatal(err)
			}
			var cfg kubeletv1.CredentialProviderConfig
			if err := yaml.UnmarshalStrict([]byte(out), &cfg); err != nil {
				t.Fatalf("the kubelet's types refuse it: %v\n%s", err, out)
			}
			if cfg.APIVersion != "kubelet.config.k8s.io/v1" || cfg.Kind != "CredentialProviderConfig" || len(cfg.Providers) != 1 {
				t.Fatalf("config = %+v", cfg)
			}
			p := cfg.Providers[0]
			if p.Name != "ward" || p.APIVersion != "credentialprovider.kubelet.k8s.io/v1" || len(p.MatchImages) != 1 || p.MatchImages[0] != "*"+suffix {
				t.Errorf("provider = %s %s %v, want ward, v1, [*%s]", p.Name, p.APIVersion, p.MatchImages, suffix)
			}
			if p.DefaultCacheDuration == nil || p.DefaultCacheDuration.Duration != 5*time.Minute {
				t.Errorf("defaultCacheDuration = %v", p.DefaultCacheDuration)
			}
			want := []string{"acr", "credential-provider", "--ca-file", "/etc/ward/ca.pem", "--client-id", kubeletID,
				"--authority-host", e.w.base + "/", "--tenant-id", e.w.admin.TenantID}
			if strings.Join(p.Args, " ") != strings.Join(want, " ") {
				t.Errorf("args = %q\nwant   %q", p.Args, want)
			}
			ta := p.TokenAttributes
			if !tc.pods {
				if ta != nil {
					t.Errorf("Kubernetes %s: tokenAttributes %+v, which its kubelet refuses", tc.version, ta)
				}
				return
			}
			if ta == nil {
				t.Fatalf("Kubernetes %s: no tokenAttributes\n%s", tc.version, out)
			}
			if ta.ServiceAccountTokenAudience != "api://AzureADTokenExchange" || ta.RequireServiceAccount == nil || *ta.RequireServiceAccount ||
				ta.CacheType != kubeletv1.ServiceAccountServiceAccountTokenCacheType {
				t.Errorf("tokenAttributes = %+v", ta)
			}
			keys := strings.Join(ta.OptionalServiceAccountAnnotationKeys, " ")
			for _, k := range []string{"azure.workload.identity/client-id", "azure.workload.identity/tenant-id", "kubernetes.azure.com/acr-client-id", "kubernetes.azure.com/acr-tenant-id"} {
				if !strings.Contains(keys, k) {
					t.Errorf("optionalServiceAccountAnnotationKeys %v lack %s", keys, k)
				}
			}
			if len(ta.RequiredServiceAccountAnnotationKeys) != 0 {
				t.Errorf("required annotations %v: a pod without one must still pull as the node", ta.RequiredServiceAccountAnnotationKeys)
			}
		})
	}
}

// TestCLIVerbsShowInstallImage: the manifests run Ward's image by its documented
// name: --image as given; <login server>/ward:<tag> of --acr, or of the
// one registry attached to the cluster; else ward:<tag> with a note.
func TestCLIVerbsShowInstallImage(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	ctx, sub := context.Background(), e.w.admin.SubscriptionID
	if _, _, err := e.api.CreateOrUpdateGroup(ctx, sub, "rg", "westeurope", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.PutCluster(ctx, sub, "rg", "c1", map[string]any{"location": "westeurope",
		"properties": map[string]any{"oidcIssuerProfile": map[string]any{"enabled": true}}}); err != nil {
		t.Fatal(err)
	}
	var servers []string
	for _, n := range []string{"imagesone", "imagestwo"} {
		r, err := e.api.PutRegistry(ctx, sub, "rg", n, map[string]any{"location": "westeurope", "sku": map[string]any{"name": "Basic"}})
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, r.Properties.LoginServer)
	}
	tag := "/ward:" + wardimage.Tag()
	images := func(out string) []string {
		var got []string
		for _, l := range strings.Split(out, "\n") {
			if s := strings.TrimSpace(l); strings.HasPrefix(s, "image: ") {
				got = append(got, strings.TrimPrefix(s, "image: "))
			}
		}
		return got
	}
	cl := []string{"-n", "c1", "-g", "rg"}
	if _, _, err := e.exec(t, cmd("aks show-install", append(cl, "--image", "ward:v1\n  command: [sh]")...)...); err == nil || !strings.Contains(err.Error(), "--image") {
		t.Fatalf("an --image that is not a reference: %v", err)
	}
	for _, st := range []struct {
		name  string
		setup []string // acr names to attach first
		args  []string
		want  string
		note  string
	}{
		{"nothing attached", nil, nil, "ward:" + wardimage.Tag(), "no registry is attached to the cluster"},
		{"--image", nil, []string{"--image", "registry.example/ward@sha256:" + strings.Repeat("a", 64)}, "registry.example/ward@sha256:" + strings.Repeat("a", 64), ""},
		{"--acr", nil, []string{"--acr", "imagestwo"}, servers[1] + tag, ""},
		{"one attached registry", []string{"imagesone"}, nil, servers[0] + tag, ""},
		{"two attached registries", []string{"imagestwo"}, nil, "ward:" + wardimage.Tag(), "several registries are attached"},
	} {
		t.Run(st.name, func(t *testing.T) {
			for _, a := range st.setup {
				if _, _, err := e.exec(t, cmd("aks update", append([]string{"--attach-acr", a}, cl...)...)...); err != nil {
					t.Fatal(err)
				}
			}
			out, _, err := e.exec(t, cmd("aks show-install", append(cl, st.args...)...)...)
			if err != nil {
				t.Fatal(err)
			}
			got := images(out)
			if len(got) != 2 || got[0] != st.want || got[1] != st.want {
				t.Errorf("images = %q, want the webhook's and the agent's to be %s", got, st.want)
			}
			if st.note != "" && !strings.Contains(out, st.note) {
				t.Errorf("no note %q in\n%.600s", st.note, out)
			}
		})
	}
}

// acrSuffix is the registry DNS suffix the server publishes in its cloud
// metadata, as ward aks show-install reads it.
func (e *cliEnv) acrSuffix() (string, error) {
	resp, err := e.w.http.Get(e.w.base + "/metadata/endpoints?api-version=2022-09-01")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var meta struct {
		Suffixes struct {
			AcrLoginServer string `json:"acrLoginServer"`
		} `json:"suffixes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&meta); err != nil || meta.Suffixes.AcrLoginServer == "" {
		return "", fmt.Errorf("cloud metadata: %s, %v, suffix %q", resp.Status, err, meta.Suffixes.AcrLoginServer)
	}
	return meta.Suffixes.AcrLoginServer, nil
}
