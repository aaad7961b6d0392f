package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The real az (Debian's azure-cli 2.45) against a real ward serve. How az
// is pointed at Ward, as docs/az.md tells a user:
//
//   - a throwaway AZURE_CONFIG_DIR, Ward's CA in REQUESTS_CA_BUNDLE (and
//     SSL_CERT_FILE, which az's cloud-metadata download reads);
//   - the cloud: `az cloud register --endpoint-resource-manager <ward>/`
//     (msrestazure reads the legacy metadata: login endpoint, ARM audience,
//     Graph) or, for every endpoint and suffix, ARM_CLOUD_METADATA_URL=
//     <ward>/metadata/endpoints?api-version=2019-05-01 and `az cloud set -n
//     Ward`;
//   - instance discovery off. Newer az has `az config set
//     core.instance_discovery=false` (AZURE_CORE_INSTANCE_DISCOVERY=false);
//     2.45 has no switch, so the test puts testdata/az-shim on PYTHONPATH: a
//     sitecustomize that passes instance_discovery=False to MSAL for that
//     same setting, as newer az does, and changes nothing else;
//   - a proxy on a closed port, so any call beyond Ward fails at once
//     instead of leaving the machine (az's version check does one).

// azCLI runs the real az with its own config directory.
type azCLI struct {
	t   *testing.T
	env []string
}

func newAzCLI(t *testing.T, w *ward) *azCLI {
	t.Helper()
	_, err := exec.LookPath("az")
	needOrSkip(t, err == nil, "az (azure-cli) is not installed", "apt-get install -y azure-cli")
	ca := filepath.Join(w.dataDir, "ca.pem")
	env := append(cleanEnv(),
		"AZURE_CONFIG_DIR="+t.TempDir(),
		"AZURE_CORE_COLLECT_TELEMETRY=false",
		"AZURE_CORE_NO_COLOR=true",
		"AZURE_CORE_INSTANCE_DISCOVERY=false",
		"PYTHONPATH="+filepath.Join(repoRoot(t), "test", "e2e", "testdata", "az-shim"),
		"REQUESTS_CA_BUNDLE="+ca, "SSL_CERT_FILE="+ca,
		"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "NO_PROXY=127.0.0.1,localhost",
	)
	return &azCLI{t: t, env: env}
}

// run runs az with args and returns stdout, stderr and the exit code.
func (a *azCLI) run(args ...string) (string, string, int) {
	a.t.Helper()
	cmd := exec.Command("az", args...)
	cmd.Env = a.env
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	a.t.Logf("az %s → %d (%s)", strings.Join(args, " "), code, time.Since(start).Round(time.Millisecond))
	return out.String(), errb.String(), code
}

// ok runs az and fails the test unless it exits 0.
func (a *azCLI) ok(args ...string) string {
	a.t.Helper()
	out, errOut, code := a.run(args...)
	if code != 0 {
		a.t.Fatalf("az %s exited %d:\n%s\n%s", strings.Join(args, " "), code, out, tail([]byte(errOut), 3000))
	}
	return out
}

// json runs az -o json and decodes its output.
func (a *azCLI) json(v any, args ...string) {
	a.t.Helper()
	out := a.ok(append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		a.t.Fatalf("az %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// login registers Ward as the cloud through ARM_CLOUD_METADATA_URL (every
// endpoint) and signs in as the bootstrap admin.
func (a *azCLI) login(w *ward) {
	a.t.Helper()
	a.env = append(a.env, "ARM_CLOUD_METADATA_URL="+w.base+"/metadata/endpoints?api-version=2019-05-01")
	a.ok("cloud", "set", "-n", "Ward")
	a.ok("login", "--service-principal", "-u", w.admin.ClientID, "-p", w.admin.ClientSecret, "--tenant", w.admin.TenantID, "-o", "none")
}

// TestAzCloudRegister: `az cloud register --endpoint-resource-manager`
// reads Ward's metadata (msrestazure, api-version 2015-01-01), and az
// loads the whole cloud from ARM_CLOUD_METADATA_URL (2019-05-01).
func TestAzCloudRegister(t *testing.T) {
	skipIfShort(t, "drives Debian's az")
	// Mostly waiting on an outside client (its own Ward, config and
	// ports): runs beside the other such tests (hack/test.sh -parallel).
	t.Parallel()
	w := startWard(t, "")
	az := newAzCLI(t, w)
	az.ok("cloud", "register", "-n", "ward", "--endpoint-resource-manager", w.base+"/")
	var c struct {
		Endpoints map[string]any `json:"endpoints"`
		Suffixes  map[string]any `json:"suffixes"`
	}
	az.json(&c, "cloud", "show", "-n", "ward")
	for k, want := range map[string]string{
		"resourceManager":                w.base + "/",
		"activeDirectory":                w.base + "/",
		"activeDirectoryResourceId":      "https://management.core.windows.net/",
		"activeDirectoryGraphResourceId": w.base + "/",
	} {
		if c.Endpoints[k] != want {
			t.Errorf("after cloud register, endpoints.%s = %v, want %s", k, c.Endpoints[k], want)
		}
	}
	az.ok("cloud", "set", "-n", "ward")
	az.ok("login", "--service-principal", "-u", w.admin.ClientID, "-p", w.admin.ClientSecret, "--tenant", w.admin.TenantID, "-o", "none")
	var acct map[string]any
	az.json(&acct, "account", "show")
	if acct["id"] != w.admin.SubscriptionID {
		t.Fatalf("account show = %v, want subscription %s", acct, w.admin.SubscriptionID)
	}

	// The whole cloud, suffixes included, from the metadata URL.
	full := newAzCLI(t, w)
	full.login(w)
	az.env = full.env
	az.json(&c, "cloud", "show", "-n", "Ward")
	port := strings.TrimPrefix(w.addr, "127.0.0.1")
	for k, want := range map[string]string{
		"endpoints.microsoftGraphResourceId": w.base + "/",
		"endpoints.resourceManager":          w.base + "/",
		"suffixes.keyvaultDns":               ".vault.localhost" + port,
		"suffixes.storageEndpoint":           "localhost" + port,
	} {
		section, key, _ := strings.Cut(k, ".")
		m := c.Endpoints
		if section == "suffixes" {
			m = c.Suffixes
		}
		if m[key] != want {
			t.Errorf("from ARM_CLOUD_METADATA_URL, %s = %v, want %s", k, m[key], want)
		}
	}
}

// TestAzManagedIdentityAssignee: the guides' `az role assignment
// create/list --assignee <clientId>` resolve a managed identity through
// Ward's Graph (servicePrincipals $filter, getByIds).
//
// Debian's az 2.45 then crashes client-side in both commands
// (AttributeError: ... has no attribute 'config'; its role module does not
// match the azure-mgmt-authorization 3.0 Debian ships: Azure/azure-cli
// #26896), create before any ARM call and list once it has results. The
// test therefore checks what reaches Ward: with --debug, the principal ID
// az resolved is the one it lists assignments for.
func TestAzManagedIdentityAssignee(t *testing.T) {
	skipIfShort(t, "drives Debian's az")
	// Mostly waiting on an outside client (its own Ward, config and
	// ports): runs beside the other such tests (hack/test.sh -parallel).
	t.Parallel()
	w := startWard(t, "")
	az := newAzCLI(t, w)
	az.login(w)
	az.ok("group", "create", "-n", "rg-az", "-l", "westeurope", "-o", "none")
	var ident struct{ ClientID, PrincipalID, ID string }
	az.json(&ident, "identity", "create", "-g", "rg-az", "-n", "app-id")

	var sp map[string]any
	az.json(&sp, "ad", "sp", "show", "--id", ident.ClientID)
	if sp["id"] != ident.PrincipalID || sp["servicePrincipalType"] != "ManagedIdentity" || sp["appId"] != ident.ClientID {
		t.Fatalf("az ad sp show --id <clientId> = %v", sp)
	}
	var list []map[string]any
	az.json(&list, "ad", "sp", "list", "--filter", "servicePrincipalNames/any(c:c eq '"+ident.ID+"')")
	if len(list) != 1 || list[0]["id"] != ident.PrincipalID {
		t.Fatalf("az ad sp list --filter <resource ID> = %v", list)
	}

	scope := "/subscriptions/" + w.admin.SubscriptionID + "/resourceGroups/rg-az"
	for _, assignee := range []string{ident.ClientID, ident.PrincipalID, ident.ID} {
		out, errOut, code := az.run("role", "assignment", "create", "--assignee", assignee, "--role", "Reader", "--scope", scope, "-o", "json")
		switch {
		case code == 0:
			var got map[string]any
			if json.Unmarshal([]byte(out), &got) != nil || got["principalId"] != ident.PrincipalID {
				t.Fatalf("role assignment create --assignee %s = %s", assignee, out)
			}
		case strings.Contains(errOut, "has no attribute 'config'"):
			// Debian's client-side crash, after the assignee resolved.
		default:
			t.Fatalf("role assignment create --assignee %s exited %d (the assignee did not resolve?):\n%s", assignee, code, tail([]byte(errOut), 2000))
		}
	}
	_, errOut, _ := az.run("role", "assignment", "list", "--assignee", ident.ClientID, "--all", "--debug")
	if !strings.Contains(errOut, "principalId%20eq%20%27"+ident.PrincipalID+"%27") {
		t.Fatalf("role assignment list --assignee <clientId> --all did not list the identity's assignments (principalId %s):\n%s", ident.PrincipalID, tail([]byte(errOut), 4000))
	}
}

// TestAzARMSurfaces: the az commands of the guides that stopped before
// reaching Ward or were refused by it: aks update (client-side checks on
// agentPoolProfiles and networkProfile), provider and feature registration,
// the activity log filtered by group with an offset, and generic resource
// show/update without --api-version (api-version discovery).
func TestAzARMSurfaces(t *testing.T) {
	skipIfShort(t, "drives Debian's az")
	// Mostly waiting on an outside client (its own Ward, config and
	// ports): runs beside the other such tests (hack/test.sh -parallel).
	t.Parallel()
	w := startWard(t, "")
	az := newAzCLI(t, w)
	az.login(w)
	az.ok("group", "create", "-n", "rg-az", "-l", "westeurope", "-o", "none")
	sub := "/subscriptions/" + w.admin.SubscriptionID
	cluster := sub + "/resourceGroups/rg-az/providers/Microsoft.ContainerService/managedClusters/c1"
	az.ok("rest", "--method", "put", "--url", cluster+"?api-version=2024-05-01", "--body", `{"location":"westeurope","identity":{"type":"SystemAssigned"},"properties":{}}`, "-o", "none")

	t.Run("aks update --enable-oidc-issuer", func(t *testing.T) {
		var mc struct {
			OIDCIssuerProfile struct {
				Enabled   bool
				IssuerURL string `json:"issuerUrl"`
			} `json:"oidcIssuerProfile"`
			AgentPoolProfiles []map[string]any
		}
		az.json(&mc, "aks", "update", "-g", "rg-az", "-n", "c1", "--enable-oidc-issuer")
		if !mc.OIDCIssuerProfile.Enabled || !strings.HasPrefix(mc.OIDCIssuerProfile.IssuerURL, w.base+"/") || len(mc.AgentPoolProfiles) == 0 {
			t.Fatalf("aks update --enable-oidc-issuer = %+v", mc)
		}
	})
	t.Run("aks update --enable-managed-identity --assign-identity", func(t *testing.T) {
		var ident struct{ ID string }
		az.json(&ident, "identity", "create", "-g", "rg-az", "-n", "cp-id")
		var mc struct {
			Identity struct {
				Type                   string
				UserAssignedIdentities map[string]any
			}
		}
		az.json(&mc, "aks", "update", "-g", "rg-az", "-n", "c1", "--enable-managed-identity", "--assign-identity", ident.ID, "--yes")
		if mc.Identity.Type != "UserAssigned" || len(mc.Identity.UserAssignedIdentities) != 1 {
			t.Fatalf("aks update --assign-identity: identity = %+v", mc.Identity)
		}
	})
	t.Run("provider register", func(t *testing.T) {
		az.ok("provider", "register", "--namespace", "Microsoft.ContainerService")
		if got := strings.TrimSpace(az.ok("provider", "show", "-n", "Microsoft.ContainerService", "--query", "registrationState", "-o", "tsv")); got != "Registered" {
			t.Fatalf("registrationState = %q", got)
		}
	})
	t.Run("feature register", func(t *testing.T) {
		var f struct{ Properties struct{ State string } }
		az.json(&f, "feature", "register", "--namespace", "Microsoft.ContainerService", "--name", "EnableWorkloadIdentityPreview")
		if f.Properties.State != "Registered" {
			t.Fatalf("feature state = %q", f.Properties.State)
		}
	})
	// Unregistering is kept and read back (Ward serves the namespace and
	// the feature either way); registering again restores both.
	t.Run("provider and feature unregister", func(t *testing.T) {
		state := func() string {
			return strings.TrimSpace(az.ok("provider", "show", "-n", "Microsoft.ContainerService", "--query", "registrationState", "-o", "tsv"))
		}
		az.ok("provider", "unregister", "--namespace", "Microsoft.ContainerService")
		if got := state(); got != "Unregistered" {
			t.Fatalf("after unregister, registrationState = %q", got)
		}
		az.ok("provider", "register", "--namespace", "Microsoft.ContainerService")
		if got := state(); got != "Registered" {
			t.Fatalf("after register, registrationState = %q", got)
		}
		var f struct{ Properties struct{ State string } }
		az.json(&f, "feature", "unregister", "--namespace", "Microsoft.ContainerService", "--name", "EnableWorkloadIdentityPreview")
		if f.Properties.State != "Unregistered" {
			t.Fatalf("feature unregister: state = %q", f.Properties.State)
		}
		az.json(&f, "feature", "show", "--namespace", "Microsoft.ContainerService", "--name", "EnableWorkloadIdentityPreview")
		if f.Properties.State != "Unregistered" {
			t.Fatalf("feature show after unregister: state = %q", f.Properties.State)
		}
	})
	t.Run("resource show and update without --api-version", func(t *testing.T) {
		var ident struct{ ID string }
		az.json(&ident, "identity", "create", "-g", "rg-az", "-n", "res-id")
		var res struct {
			ID   string
			Tags map[string]string
		}
		az.json(&res, "resource", "show", "--ids", ident.ID)
		if !strings.EqualFold(res.ID, ident.ID) {
			t.Fatalf("resource show = %+v", res)
		}
		az.json(&res, "resource", "update", "--ids", ident.ID, "--set", "tags.env=dev")
		if res.Tags["env"] != "dev" {
			t.Fatalf("resource update --set tags.env=dev: tags = %v", res.Tags)
		}
	})
	// The generic resource lists azurerm also reads (issue 22, Terraform).
	t.Run("resource list -g and --resource-type", func(t *testing.T) {
		var res []struct{ Name, Type string }
		az.json(&res, "resource", "list", "-g", "rg-az")
		got := map[string]bool{}
		for _, r := range res {
			got[r.Type+"/"+r.Name] = true
		}
		if !got["Microsoft.ContainerService/managedClusters/c1"] || !got["Microsoft.ManagedIdentity/userAssignedIdentities/cp-id"] {
			t.Fatalf("resource list -g rg-az = %+v", res)
		}
		az.json(&res, "resource", "list", "--resource-type", "Microsoft.ContainerService/managedClusters")
		if len(res) != 1 || res[0].Name != "c1" {
			t.Fatalf("resource list --resource-type managedClusters = %+v", res)
		}
	})
	t.Run("activity-log list --resource-group --offset", func(t *testing.T) {
		var events []struct {
			ResourceGroupName string
			OperationName     struct{ Value string }
		}
		az.json(&events, "monitor", "activity-log", "list", "--resource-group", "rg-az", "--offset", "1d2h")
		if len(events) == 0 {
			t.Fatal("no events for rg-az in the last hour")
		}
		for _, e := range events {
			if !strings.EqualFold(e.ResourceGroupName, "rg-az") {
				t.Fatalf("an event of group %q in a list for rg-az", e.ResourceGroupName)
			}
		}
	})
	// AKS deletes as a long-running operation: az polls the 202's
	// Azure-AsyncOperation until Succeeded.
	t.Run("aks delete", func(t *testing.T) {
		az.ok("aks", "delete", "-g", "rg-az", "-n", "c1", "--yes")
		if _, stderr, code := az.run("aks", "show", "-g", "rg-az", "-n", "c1"); code == 0 || !strings.Contains(stderr, "ResourceNotFound") {
			t.Fatalf("aks show after delete: exit %d %s", code, stderr)
		}
	})
}

// TestAzLoginIdentity: `az login --identity` on a machine running `ward
// agent`. az 2.45 (msrestazure) speaks App Service's 2017-09-01 protocol
// when MSI_ENDPOINT, MSI_SECRET and APPSETTING_WEBSITE_SITE_NAME are set
// (without the last it POSTs the unauthenticated Cloud Shell protocol,
// which the agent does not serve): the agent's App Service endpoint and
// its secret.
func TestAzLoginIdentity(t *testing.T) {
	skipIfShort(t, "drives Debian's az")
	// Mostly waiting on an outside client (its own Ward, config and
	// ports): runs beside the other such tests (hack/test.sh -parallel).
	t.Parallel()
	w := startWard(t, "")
	f := w.machineFixture(t, "rga", "m1")
	sub := "/subscriptions/" + w.admin.SubscriptionID
	w.assign(t, f.systemPrincipal, sub, readerRole)
	w.assign(t, f.appPrincipal, sub, readerRole)
	stateDir := w.join(t, f.token)
	endpoint, secret, agent := appService(t, "--state-dir", stateDir)

	az := newAzCLI(t, w)
	az.env = append(az.env, "ARM_CLOUD_METADATA_URL="+w.base+"/metadata/endpoints?api-version=2019-05-01",
		"MSI_ENDPOINT="+endpoint, "MSI_SECRET="+secret, "APPSETTING_WEBSITE_SITE_NAME=ward-agent")
	az.ok("cloud", "set", "-n", "Ward")
	for _, tc := range []struct {
		name string
		args []string
		want string // the principal the token is for
	}{
		{"system-assigned", nil, f.systemPrincipal},
		{"user-assigned by client ID", []string{"-u", f.appClient}, f.appPrincipal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var accounts []struct {
				ID   string
				User struct{ Name, Type string }
			}
			az.json(&accounts, append([]string{"login", "--identity"}, tc.args...)...)
			if len(accounts) != 1 || accounts[0].ID != w.admin.SubscriptionID || accounts[0].User.Type != "servicePrincipal" {
				t.Fatalf("az login --identity %v = %+v\nagent log:\n%s", tc.args, accounts, agent.logText())
			}
			var g struct{ Name string }
			az.json(&g, "group", "show", "-n", "rga")
			if g.Name != "rga" {
				t.Fatalf("group show with the machine's identity = %+v", g)
			}
			var tok struct{ AccessToken string }
			az.json(&tok, "account", "get-access-token")
			if oid := claims(t, tok.AccessToken)["oid"]; oid != tc.want {
				t.Fatalf("token for %v, want %s", oid, tc.want)
			}
		})
	}
}
