package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// flowCLI runs the ward CLI as a user at a shell would: in dir (the
// directory holding ward-data, so no --data), with a private
// WARD_CONFIG_DIR for `ward login`'s profile, and without any WARD_* or
// AZURE_* variables of the test's own environment.
type flowCLI struct {
	t   *testing.T
	dir string
	env []string
}

func newFlowCLI(t *testing.T, dir string, env ...string) *flowCLI {
	var base []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if u := strings.ToUpper(k); !strings.HasPrefix(u, "WARD_") && !strings.HasPrefix(u, "AZURE_") && u != "KUBECONFIG" {
			base = append(base, kv)
		}
	}
	return &flowCLI{t: t, dir: dir, env: append(append(base, "WARD_CONFIG_DIR="+t.TempDir(), "KUBECONFIG="+filepath.Join(t.TempDir(), "none")), env...)}
}

func (f *flowCLI) exec(args ...string) (stdout, stderr string, code int) {
	f.t.Helper()
	cmd := exec.Command(wardBin, args...)
	cmd.Dir, cmd.Env = f.dir, f.env
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		f.t.Fatalf("run ward %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// ok runs a command that must succeed and returns its trimmed stdout.
func (f *flowCLI) ok(args ...string) string {
	f.t.Helper()
	out, errOut, code := f.exec(args...)
	if code != 0 {
		f.t.Fatalf("ward %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return strings.TrimSpace(out)
}

// fails runs a command that must fail and returns its stderr.
func (f *flowCLI) fails(args ...string) string {
	f.t.Helper()
	out, errOut, code := f.exec(args...)
	if code == 0 {
		f.t.Fatalf("ward %s succeeded, want a failure:\n%s", strings.Join(args, " "), out)
	}
	return errOut
}

func (f *flowCLI) json(args ...string) map[string]any {
	f.t.Helper()
	var m map[string]any
	if out := f.ok(args...); json.Unmarshal([]byte(out), &m) != nil {
		f.t.Fatalf("ward %s printed no JSON object:\n%s", strings.Join(args, " "), out)
	}
	return m
}

// unverifiedClaims reads a JWT's payload (the tests verify signatures
// elsewhere; here only the claims matter).
func unverifiedClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(strings.TrimSpace(raw), ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.40q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func spCreds(t *testing.T, out string) (appID, password, tenant string) {
	t.Helper()
	var sp struct{ AppID, Password, Tenant string }
	if err := json.Unmarshal([]byte(out), &sp); err != nil || sp.AppID == "" {
		t.Fatalf("create-for-rbac printed %q", out)
	}
	return sp.AppID, sp.Password, sp.Tenant
}

// TestCLIReadmeFlowAfterLogin walks the README as a user at a shell: the
// quick start as the local admin, then `ward login` as a new service
// principal (the profile records a subscription; account show names the
// profile and server; a refusal says who the CLI acted as and that 'ward
// logout' goes back), then the rest of the README after `ward logout`. A
// principal with a role logs in to its subscription; one with none and no
// local server records none, and commands say so instead of requesting
// /subscriptions//....
func TestCLIReadmeFlowAfterLogin(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "a long end-to-end flow")
	w := startWard(t, "")
	f := newFlowCLI(t, filepath.Dir(w.dataDir))
	sub := w.admin.SubscriptionID

	// Quick start, as the admin.
	f.ok("group", "create", "--name", "myResourceGroup", "--location", "westeurope")
	f.ok("identity", "create", "--name", "myIdentity", "--resource-group", "myResourceGroup")
	clientID := f.ok("identity", "show", "--name", "myIdentity", "--resource-group", "myResourceGroup", "--query", "clientId", "-o", "tsv")
	acc := f.json("account", "show")
	if acc["id"] != sub || !strings.HasSuffix(acc["profile"].(string), filepath.Join("ward-data", "admin.json")) || acc["server"] != w.base ||
		!strings.Contains(acc["profileType"].(string), "local server admin") {
		t.Fatalf("account show as the local admin = %v", acc)
	}

	// Tokens: a service principal, and ward login as it.
	appID, password, tenant := spCreds(t, f.ok("ad", "sp", "create-for-rbac", "--name", "my-ci"))
	out, errOut, code := f.exec("login", "--service-principal", "-u", appID, "-p", password, "--tenant", tenant)
	if code != 0 || !strings.Contains(errOut, "ward logout") || !strings.Contains(errOut, "tenant's default subscription "+sub) {
		t.Fatalf("login: exit %d\n%s\n%s", code, out, errOut)
	}
	var subs []map[string]any
	if json.Unmarshal([]byte(out), &subs) != nil || len(subs) != 1 || subs[0]["id"] != sub || subs[0]["isDefault"] != true || subs[0]["tenantId"] != tenant {
		t.Fatalf("login printed %s", out)
	}
	acc = f.json("account", "show")
	if acc["id"] != sub || acc["server"] != w.base || acc["user"].(map[string]any)["name"] != appID ||
		!strings.HasSuffix(acc["profile"].(string), "profile.json") || !strings.Contains(acc["profileType"].(string), "ward login") {
		t.Fatalf("account show after login = %v", acc)
	}
	tok := f.ok("account", "get-access-token", "--resource", "https://vault.azure.net", "--query", "accessToken", "-o", "tsv")
	if c := verify(t, w, tok); c["appid"] != appID || c["aud"] != "https://vault.azure.net" {
		t.Fatalf("token claims %v", c)
	}
	// The README's next commands need the admin: the refusal says why.
	refused := f.fails("role", "assignment", "create", "--assignee", clientID, "--role", "Reader", "--scope", "/subscriptions/"+sub+"/resourceGroups/myResourceGroup")
	if !strings.Contains(refused, "AuthorizationFailed") || !strings.Contains(refused, "HINT: the CLI acted as "+appID) || !strings.Contains(refused, "ward logout") {
		t.Fatalf("a refusal after login:\n%s", refused)
	}
	f.ok("logout")

	// The rest of the README, as the admin again.
	if acc = f.json("account", "show"); acc["user"].(map[string]any)["name"] != w.admin.ClientID || acc["id"] != sub {
		t.Fatalf("account show after logout = %v", acc)
	}
	if got := f.ok("role", "definition", "list", "--name", "Key Vault Secrets User", "--query", "[0].name", "-o", "tsv"); got != "4633458b-17de-408a-b874-0445c86b69e6" {
		t.Fatalf("role definition list = %q", got)
	}
	vaultID := f.ok("keyvault", "create", "--name", "team-kv", "--resource-group", "myResourceGroup", "--query", "id", "-o", "tsv")
	f.ok("role", "assignment", "create", "--assignee", clientID, "--role", "Key Vault Secrets User", "--scope", vaultID)
	table := f.ok("role", "assignment", "list", "--assignee", clientID, "--all", "-o", "table")
	if lines := strings.Split(table, "\n"); len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "Principal Role Scope" || !strings.Contains(lines[2], clientID) {
		t.Fatalf("role assignment list -o table:\n%s", table)
	}

	// A principal with a role logs in to the subscription it can read.
	readerID, readerPW, _ := spCreds(t, f.ok("ad", "sp", "create-for-rbac", "-n", "ci-reader", "--role", "Reader", "--scopes", "/subscriptions/"+sub))
	out, errOut, code = f.exec("login", "--service-principal", "-u", readerID, "-p", readerPW, "--tenant", tenant)
	if code != 0 || strings.Contains(errOut, "WARNING") || !strings.Contains(out, `"name": "Ward default subscription"`) {
		t.Fatalf("login with a role: exit %d\n%s\n%s", code, out, errOut)
	}
	if got := f.ok("identity", "list", "--query", "[].name", "-o", "tsv"); got != "myIdentity" {
		t.Fatalf("identity list as the reader = %q", got)
	}
	f.ok("account", "set", "--subscription", "Ward default subscription")
	if msg := f.fails("account", "set", "--subscription", "no-such-subscription"); !strings.Contains(msg, "is not one") {
		t.Fatalf("account set to an unknown subscription: %s", msg)
	}
	if got := f.ok("account", "list", "--query", "[?isDefault].id", "-o", "tsv"); got != sub {
		t.Fatalf("account list = %q", got)
	}
	f.ok("logout")
	// Without a profile the local admin acts in its own subscription: the
	// guides' `account set --subscription <id>` of it changes nothing.
	f.ok("account", "set", "--subscription", sub)
	if msg := f.fails("account", "set", "--subscription", "no-such-subscription"); !strings.Contains(msg, "is not one") {
		t.Fatalf("account set without a profile to an unknown subscription: %s", msg)
	}

	// No role and no local server to take the tenant's default from: the
	// profile records no subscription, and commands say how to choose one.
	elsewhere := newFlowCLI(t, t.TempDir())
	lonely, lonelyPW, _ := spCreds(t, f.ok("ad", "sp", "create-for-rbac", "-n", "lonely"))
	_, errOut, code = elsewhere.exec("login", "--service-principal", "-u", lonely, "-p", lonelyPW, "--tenant", tenant,
		"--server", w.base, "--ca-file", filepath.Join(w.dataDir, "ca.pem"))
	if code != 0 || !strings.Contains(errOut, "no subscriptions found") {
		t.Fatalf("login with no subscription: exit %d\n%s", code, errOut)
	}
	if msg := elsewhere.fails("identity", "list"); !strings.Contains(msg, "no subscription is selected") || !strings.Contains(msg, "ward account set --subscription") {
		t.Fatalf("identity list with no subscription: %s", msg)
	}
	if log, _ := os.ReadFile(w.log.Name()); strings.Contains(string(log), "/subscriptions//") {
		t.Fatalf("the CLI requested an empty subscription:\n%s", log)
	}
}

// TestCLIServiceAccountSyntax: NAME --namespace NS, NS/NAME and the token
// subject name the same service account everywhere; names Kubernetes
// refuses are refused before anything is minted.
func TestCLIServiceAccountSyntax(t *testing.T) {
	skipIfShort(t, "runs the Python SDK")
	w := startWard(t, "")
	mustCLI(t, w, "group", "create", "-n", "rg", "-l", "westeurope")
	iss := strings.TrimSpace(mustCLI(t, w, "aks", "create", "-n", "c1", "-g", "rg", "--enable-oidc-issuer", "--enable-workload-identity", "--query", "oidcIssuerProfile.issuerUrl", "-o", "tsv"))
	for _, tc := range []struct {
		name    string
		args    []string
		subject string
	}{
		{"NAME", []string{"--service-account", "app"}, "system:serviceaccount:default:app"},
		{"NAME --namespace", []string{"--service-account", "app", "--namespace", "shop"}, "system:serviceaccount:shop:app"},
		{"NS/NAME", []string{"--service-account", "shop/app"}, "system:serviceaccount:shop:app"},
		{"NS/NAME with the same --namespace", []string{"--service-account", "shop/app", "--namespace", "shop"}, "system:serviceaccount:shop:app"},
		{"subject", []string{"--service-account", "system:serviceaccount:shop:app"}, "system:serviceaccount:shop:app"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := mustCLI(t, w, append([]string{"aks", "get-token", "--cluster", "c1", "-g", "rg", "--query", "token", "-o", "tsv"}, tc.args...)...)
			c := unverifiedClaims(t, raw)
			k8s, _ := c["kubernetes.io"].(map[string]any)
			if c["sub"] != tc.subject || c["iss"] != iss || k8s == nil {
				t.Fatalf("claims %v, want sub %s", c, tc.subject)
			}
		})
	}
	for _, tc := range []struct {
		name, want string
		args       []string
	}{
		{"conflicting namespaces", `names namespace "default" but --namespace is "shop"`, []string{"--service-account", "default/x", "--namespace", "shop"}},
		{"upper case", "not valid in Kubernetes", []string{"--service-account", "App"}},
		{"two slashes", "not valid in Kubernetes", []string{"--service-account", "a/b/c"}},
		{"bad namespace", "not a valid Kubernetes namespace", []string{"--service-account", "x", "--namespace", "Shop_1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := w.cli(append([]string{"aks", "get-token", "--cluster", "c1", "-g", "rg"}, tc.args...)...)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %q", code, errOut, tc.want)
			}
		})
	}

	// ward run and ward doctor take the same forms.
	mustCLI(t, w, "identity", "create", "-n", "shop-id", "-g", "rg")
	shopClient := strings.TrimSpace(mustCLI(t, w, "identity", "show", "-n", "shop-id", "-g", "rg", "--query", "clientId", "-o", "tsv"))
	mustCLI(t, w, "identity", "federated-credential", "create", "--name", "shop-app", "--identity-name", "shop-id", "-g", "rg", "--issuer", iss, "--subject", "system:serviceaccount:shop:app")
	for _, args := range [][]string{{"--service-account", "app", "--namespace", "shop"}, {"--service-account", "shop/app"}} {
		cmd := exec.Command(wardBin, append(append([]string{"run", "--data", w.dataDir, "--cluster", "c1", "-g", "rg"}, args...), "--", "sh", "-c", "echo $AZURE_CLIENT_ID")...)
		if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != shopClient {
			t.Fatalf("ward run %v: %v\n%s", args, err, out)
		}
	}
	if _, errOut, code := w.cli("run", "--cluster", "c1", "-g", "rg", "--service-account", "shop/App", "--", "true"); code == 0 || !strings.Contains(errOut, "not valid in Kubernetes") {
		t.Fatalf("ward run with an invalid name: %s", errOut)
	}
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	if out, errOut, code := w.cli("doctor", "serviceaccount", "shop/app", "--cluster", "c1", "-g", "rg"); !strings.Contains(out, `federated credential "shop-app" matches`) {
		t.Fatalf("doctor serviceaccount shop/app: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestCLIRunAbsoluteCAAndExamples: every path ward run hands its child is
// absolute, so it survives a cd; and the README's program, examples/workload
// (and its Python and JavaScript twins where the runtimes are installed),
// reads a vault secret as the service account with DefaultAzureCredential.
func TestCLIRunAbsoluteCAAndExamples(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "runs the Python SDK")
	w := startWard(t, "")
	f := newFlowCLI(t, filepath.Dir(w.dataDir))
	f.ok("group", "create", "-n", "myResourceGroup", "-l", "westeurope")
	iss := f.ok("aks", "create", "-n", "myCluster", "-g", "myResourceGroup", "--enable-oidc-issuer", "--enable-workload-identity", "--query", "oidcIssuerProfile.issuerUrl", "-o", "tsv")
	f.ok("identity", "create", "-n", "myIdentity", "-g", "myResourceGroup")
	clientID := f.ok("identity", "show", "-n", "myIdentity", "-g", "myResourceGroup", "--query", "clientId", "-o", "tsv")
	f.ok("identity", "federated-credential", "create", "--name", "myFedCred", "--identity-name", "myIdentity", "-g", "myResourceGroup",
		"--issuer", iss, "--subject", "system:serviceaccount:default:workload-sa")

	// Relative ward-data, then a cd in the child: the variables still name files.
	check := `cd / && for v in "$SSL_CERT_FILE" "$REQUESTS_CA_BUNDLE" "$NODE_EXTRA_CA_CERTS" "$AZURE_FEDERATED_TOKEN_FILE"; do
		case "$v" in /*) test -s "$v" || { echo "missing $v"; exit 1; } ;; *) echo "relative: $v"; exit 1 ;; esac; done; echo "$NODE_EXTRA_CA_CERTS"`
	got := f.ok("run", "--cluster", "myCluster", "-g", "myResourceGroup", "--service-account", "workload-sa", "--", "sh", "-c", check)
	if got != filepath.Join(w.dataDir, "ca.pem") {
		t.Fatalf("NODE_EXTRA_CA_CERTS = %q, want %s", got, filepath.Join(w.dataDir, "ca.pem"))
	}

	// The vault and secret the examples read.
	vaultID := f.ok("keyvault", "create", "-n", "team-kv", "-g", "myResourceGroup", "--query", "id", "-o", "tsv")
	vaultURL := f.ok("keyvault", "show", "-n", "team-kv", "--query", "properties.vaultUri", "-o", "tsv")
	f.ok("keyvault", "secret", "set", "--vault-name", "team-kv", "--name", "db-password", "--value", "s3cr3t")
	f.ok("role", "assignment", "create", "--assignee", clientID, "--role", "Key Vault Secrets User", "--scope", vaultID)
	if addrs, err := net.DefaultResolver.LookupHost(context.Background(), "team-kv.vault.localhost"); err != nil || len(addrs) == 0 {
		t.Skipf("team-kv.vault.localhost does not resolve on this machine (%v): see the README's vault host names", err)
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	prog := filepath.Join(t.TempDir(), "workload")
	if out, err := exec.Command("go", "build", "-o", prog, "github.com/ward-id/ward/examples/workload").CombinedOutput(); err != nil {
		t.Fatalf("build examples/workload: %v\n%s", err, out)
	}
	runs := map[string][]string{"go": {prog}}
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if p, err := exec.LookPath(py); err == nil && exec.Command(p, "-c", "import azure.identity, azure.keyvault.secrets").Run() == nil {
			runs["python"] = []string{p, filepath.Join(root, "examples", "workload-python", "main.py")}
			break
		}
	}
	if node, err := exec.LookPath("node"); err == nil {
		if mods := filepath.Join(root, "test", "js", "node_modules"); fileExists(filepath.Join(mods, "@azure", "identity")) && fileExists(filepath.Join(mods, "@azure", "keyvault-secrets")) {
			dir := t.TempDir()
			src, _ := os.ReadFile(filepath.Join(root, "examples", "workload-js", "main.mjs"))
			if os.WriteFile(filepath.Join(dir, "main.mjs"), src, 0o600) == nil && os.Symlink(mods, filepath.Join(dir, "node_modules")) == nil {
				runs["javascript"] = []string{node, filepath.Join(dir, "main.mjs")}
			}
		}
	}
	for lang, argv := range runs {
		t.Run(lang, func(t *testing.T) {
			g := newFlowCLI(t, filepath.Dir(w.dataDir), "KEYVAULT_URL="+vaultURL, "SECRET_NAME=db-password")
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, wardBin, append([]string{"run", "--cluster", "myCluster", "-g", "myResourceGroup", "--service-account", "default/workload-sa", "--"}, argv...)...)
			cmd.Dir, cmd.Env = g.dir, g.env
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil || strings.TrimSpace(stdout.String()) != "s3cr3t" {
				t.Fatalf("%s example: %v\nstdout %q\nstderr %s", lang, err, stdout.String(), stderr.String())
			}
		})
	}
	t.Logf("examples run: %d of go, python, javascript", len(runs))
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestCLIKeyVaultAndRoleDefinitions: the commands the README used curl for.
func TestCLIKeyVaultAndRoleDefinitions(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "a long end-to-end flow")
	w := startWard(t, "")
	f := newFlowCLI(t, filepath.Dir(w.dataDir))
	sub := w.admin.SubscriptionID
	f.ok("group", "create", "-n", "rg", "-l", "westeurope")

	// Vaults through ARM.
	v := f.json("keyvault", "create", "--name", "team-kv", "--resource-group", "rg", "--tags", "env=dev")
	props := v["properties"].(map[string]any)
	_, port, _ := net.SplitHostPort(w.addr)
	if v["location"] != "westeurope" || v["resourceGroup"] != "rg" || props["enableRbacAuthorization"] != true ||
		props["vaultUri"] != "https://team-kv.vault.localhost:"+port+"/" || v["tags"].(map[string]any)["env"] != "dev" {
		t.Fatalf("keyvault create = %v", v)
	}
	f.ok("keyvault", "create", "-n", "other-kv", "-g", "rg", "-l", "northeurope", "--sku", "premium")
	if got := f.ok("keyvault", "show", "-n", "team-kv", "--query", "id", "-o", "tsv"); got != v["id"] {
		t.Fatalf("keyvault show without -g = %q", got)
	}
	if got := f.ok("keyvault", "list", "-g", "rg", "--query", "[].name", "-o", "tsv"); got != "other-kv\nteam-kv" && got != "team-kv\nother-kv" {
		t.Fatalf("keyvault list = %q", got)
	}
	f.ok("keyvault", "delete", "-n", "other-kv")
	if msg := f.fails("keyvault", "show", "-n", "other-kv", "-g", "rg"); !strings.Contains(msg, "ResourceNotFound") && !strings.Contains(msg, "NotFound") {
		t.Fatalf("show a deleted vault: %s", msg)
	}

	// Secrets through the vault's data plane.
	s := f.json("keyvault", "secret", "set", "--vault-name", "team-kv", "--name", "db-password", "--value", "s3cr3t", "--content-type", "text/plain")
	if s["value"] != "s3cr3t" || s["name"] != "db-password" || s["contentType"] != "text/plain" || !strings.HasPrefix(s["id"].(string), props["vaultUri"].(string)+"secrets/db-password/") {
		t.Fatalf("secret set = %v", s)
	}
	file := filepath.Join(t.TempDir(), "cert.bin")
	os.WriteFile(file, []byte{0, 1, 2, 255}, 0o600)
	if got := f.ok("keyvault", "secret", "set", "--vault-name", "team-kv", "-n", "blob", "--file", file, "--encoding", "base64", "--query", "[value, tags.\"file-encoding\"]", "-o", "tsv"); got != "AAEC/w==\nbase64" {
		t.Fatalf("secret set --file --encoding base64 = %q", got)
	}
	if got := f.ok("keyvault", "secret", "show", "--vault-name", "team-kv", "--name", "db-password", "--query", "value", "-o", "tsv"); got != "s3cr3t" {
		t.Fatalf("secret show = %q", got)
	}
	if got := f.ok("keyvault", "secret", "show", "--id", s["id"].(string), "--query", "value", "-o", "tsv"); got != "s3cr3t" {
		t.Fatalf("secret show --id = %q", got)
	}
	if got := f.ok("keyvault", "secret", "list", "--vault-name", "team-kv", "--query", "sort([].name)", "-o", "tsv"); got != "blob\ndb-password" {
		t.Fatalf("secret list = %q", got)
	}
	f.ok("keyvault", "secret", "delete", "--vault-name", "team-kv", "--name", "blob")
	if msg := f.fails("keyvault", "secret", "show", "--vault-name", "team-kv", "--name", "blob"); !strings.Contains(msg, "SecretNotFound") {
		t.Fatalf("show a deleted secret: %s", msg)
	}

	// A principal with data-plane rights only reads through the vault's
	// host (it cannot read the vault's ARM resource), and cannot write.
	appID, password, tenant := spCreds(t, f.ok("ad", "sp", "create-for-rbac", "-n", "reader", "--role", "Key Vault Secrets User", "--scopes", v["id"].(string)))
	reader := newFlowCLI(t, filepath.Dir(w.dataDir))
	reader.ok("login", "--service-principal", "-u", appID, "-p", password, "--tenant", tenant)
	if got := reader.ok("keyvault", "secret", "show", "--vault-name", "team-kv", "-n", "db-password", "--query", "value", "-o", "tsv"); got != "s3cr3t" {
		t.Fatalf("secret show as Key Vault Secrets User = %q", got)
	}
	if msg := reader.fails("keyvault", "secret", "set", "--vault-name", "team-kv", "-n", "db-password", "--value", "x"); !strings.Contains(msg, "Forbidden") {
		t.Fatalf("secret set as Key Vault Secrets User: %s", msg)
	}

	// Custom roles, in az's JSON shape.
	role := filepath.Join(t.TempDir(), "role.json")
	os.WriteFile(role, []byte(`{
  "Name": "Vault Secret Reader",
  "Description": "Reads secrets of the team's vaults.",
  "Actions": ["Microsoft.KeyVault/vaults/read"],
  "NotActions": [],
  "DataActions": ["Microsoft.KeyVault/vaults/secrets/getSecret/action"],
  "NotDataActions": [],
  "AssignableScopes": ["/subscriptions/`+sub+`"]
}`), 0o600)
	r := f.json("role", "definition", "create", "--role-definition", "@"+role)
	if r["roleName"] != "Vault Secret Reader" || r["roleType"] != "CustomRole" || !guidRE.MatchString(r["name"].(string)) {
		t.Fatalf("role definition create = %v", r)
	}
	f.ok("role", "definition", "create", "--role-definition", `{"Name": "Inline Role", "Actions": ["*/read"], "AssignableScopes": ["/subscriptions/`+sub+`/resourceGroups/rg"]}`)
	if got := f.ok("role", "definition", "update", "--role-definition", `{"Name": "Vault Secret Reader", "Description": "Changed."}`, "--query", "[description, permissions[0].dataActions[0]]", "-o", "tsv"); got != "Changed.\nMicrosoft.KeyVault/vaults/secrets/getSecret/action" {
		t.Fatalf("role definition update = %q", got)
	}
	listed := f.ok("role", "definition", "list", "--name", "Vault Secret Reader", "--query", "[0]")
	if got := f.ok("role", "definition", "update", "--role-definition", strings.Replace(listed, "Changed.", "From the listed shape.", 1), "--query", "description", "-o", "tsv"); got != "From the listed shape." {
		t.Fatalf("role definition update with list's output = %q", got)
	}
	f.ok("role", "assignment", "create", "--assignee", appID, "--role", "Vault Secret Reader", "--scope", v["id"].(string))
	if msg := f.fails("role", "definition", "delete", "--name", "Owner"); !strings.Contains(msg, "built-in") {
		t.Fatalf("delete a built-in role: %s", msg)
	}
	if msg := f.fails("role", "definition", "delete", "--name", "Vault Secret Reader"); !strings.Contains(msg, "RoleDefinitionHasAssignments") && !strings.Contains(msg, "assign") {
		t.Fatalf("delete a role in use: %s", msg)
	}
	f.ok("role", "definition", "delete", "--name", "Inline Role")
	if got := f.ok("role", "definition", "list", "--custom-role-only", "true", "--query", "[].roleName", "-o", "tsv"); got != "Vault Secret Reader" {
		t.Fatalf("custom roles after delete = %q", got)
	}

	// 'create --help' is each command's own help; a command that does not
	// exist is an error, with or without --help.
	for _, path := range [][]string{{"keyvault", "create"}, {"keyvault", "secret", "set"}, {"role", "definition", "create"}, {"group", "create"}, {"aks", "create"}} {
		out := f.ok(append(path, "--help")...)
		if !strings.Contains(out, "Usage:\n  ward "+strings.Join(path, " ")) {
			t.Fatalf("ward %s --help:\n%s", strings.Join(path, " "), out)
		}
	}
	if msg := f.fails("keyvault", "secret", "create", "--help"); !strings.Contains(msg, `"create" is not a command of "ward keyvault secret"`) {
		t.Fatalf("an unknown command with --help: %s", msg)
	}
}

// TestCLIPublicURLMoved: a restart on another port without --public-url
// warns at start with the old and new URL and the fix; ward aks show and
// ward doctor name the cluster's old issuer URL and the credentials that
// still name it.
func TestCLIPublicURLMoved(t *testing.T) {
	skipIfShort(t, "a long end-to-end flow")
	w := startWard(t, "")
	mustCLI(t, w, "group", "create", "-n", "rg", "-l", "westeurope")
	oldIss := strings.TrimSpace(mustCLI(t, w, "aks", "create", "-n", "c1", "-g", "rg", "--enable-oidc-issuer", "--enable-workload-identity", "--query", "oidcIssuerProfile.issuerUrl", "-o", "tsv"))
	mustCLI(t, w, "identity", "create", "-n", "app-id", "-g", "rg")
	mustCLI(t, w, "identity", "federated-credential", "create", "--name", "app-fic", "--identity-name", "app-id", "-g", "rg", "--issuer", oldIss, "--subject", "system:serviceaccount:default:app")
	if b, _ := os.ReadFile(w.log.Name()); strings.Contains(string(b), "public URL changed") {
		t.Fatalf("a first start warned:\n%s", b)
	}
	w.stop()

	moved := startWard(t, w.dataDir)
	log, _ := os.ReadFile(moved.log.Name())
	if !strings.Contains(string(log), "level=WARN") || !strings.Contains(string(log), "old="+w.base) || !strings.Contains(string(log), "new="+moved.base) ||
		!strings.Contains(string(log), "--public-url "+w.base) {
		t.Fatalf("restart on another port logged:\n%s", log)
	}
	newIss := strings.Replace(oldIss, w.base, moved.base, 1)
	out, errOut, code := moved.cli("aks", "show", "-n", "c1", "-g", "rg", "--query", "oidcIssuerProfile.issuerUrl", "-o", "tsv")
	if code != 0 || strings.TrimSpace(out) != newIss || !strings.Contains(errOut, "the cluster's issuer was "+oldIss) ||
		!strings.Contains(errOut, `federated credential "app-fic" of identity app-id names issuer `+oldIss) || !strings.Contains(errOut, "only by host:port") ||
		!strings.Contains(errOut, "--public-url "+w.base) {
		t.Fatalf("aks show after the move: exit %d\n%s\n%s", code, out, errOut)
	}
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	out, _, code = moved.cli("doctor", "serviceaccount", "app", "--cluster", "c1", "-g", "rg")
	if code == 0 || !strings.Contains(out, "NOTE  the cluster's issuer was "+oldIss) || !strings.Contains(out, "FAIL  federated credential \"app-fic\" of identity app-id names issuer "+oldIss) {
		t.Fatalf("doctor after the move: exit %d\n%s", code, out)
	}
	moved.stop()

	// Back on the old URL, through --public-url: no warning, and the
	// credential matches again.
	back := startWard(t, w.dataDir, "--public-url", w.base)
	if b, _ := os.ReadFile(back.log.Name()); strings.Contains(string(b), "public URL changed") {
		t.Fatalf("a start at the recorded URL warned:\n%s", b)
	}
}

// TestCLIDoctorWithoutKubeconfig: with --cluster and -g, doctor checks
// Ward's side of a service account and says what it skipped.
func TestCLIDoctorWithoutKubeconfig(t *testing.T) {
	skipIfShort(t, "a long end-to-end flow")
	w := startWard(t, "")
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	mustCLI(t, w, "group", "create", "-n", "rg", "-l", "westeurope")
	iss := strings.TrimSpace(mustCLI(t, w, "aks", "create", "-n", "c1", "-g", "rg", "--enable-oidc-issuer", "--enable-workload-identity", "--query", "oidcIssuerProfile.issuerUrl", "-o", "tsv"))
	mustCLI(t, w, "identity", "create", "-n", "app-id", "-g", "rg")
	clientID := strings.TrimSpace(mustCLI(t, w, "identity", "show", "-n", "app-id", "-g", "rg", "--query", "clientId", "-o", "tsv"))
	mustCLI(t, w, "identity", "federated-credential", "create", "--name", "app-fic", "--identity-name", "app-id", "-g", "rg", "--issuer", iss, "--subject", "system:serviceaccount:shop:app")

	// No role yet: everything else passes, the roles check fails.
	out, _, code := w.cli("doctor", "serviceaccount", "app", "--namespace", "shop", "--cluster", "c1", "-g", "rg")
	for _, want := range []string{"OK    cluster c1 has the hosted OIDC issuer " + iss, "OK    the issuer's discovery document and JWKS", "OK    managed identity app-id",
		`OK    federated credential "app-fic" matches`, "OK    dev token from the cluster's issuer", "OK    token exchange at ", "FAIL  app-id has no role assignments",
		"SKIP  the service account object and its azure.workload.identity/client-id annotation"} {
		if !strings.Contains(out, want) {
			t.Fatalf("doctor (no role): exit %d, output lacks %q:\n%s", code, want, out)
		}
	}
	if code == 0 {
		t.Fatalf("doctor with a failed check exited 0:\n%s", out)
	}
	mustCLI(t, w, "role", "assignment", "create", "--assignee", clientID, "--role", "Reader", "--scope", "/subscriptions/"+w.admin.SubscriptionID+"/resourceGroups/rg")
	out, errOut, code := w.cli("doctor", "sa", "shop/app", "--cluster", "c1", "-g", "rg")
	if code != 0 || !strings.Contains(out, `OK    role "Reader" at`) || !strings.Contains(out, "All of Ward's checks passed") {
		t.Fatalf("doctor (all good): exit %d\n%s\n%s", code, out, errOut)
	}

	// Another service account: the credential's subject is explained and
	// the real exchange is refused with Entra's code.
	out, _, _ = w.cli("doctor", "sa", "shop/web", "--cluster", "c1", "-g", "rg")
	if !strings.Contains(out, `FAIL  federated credential "app-fic" has subject system:serviceaccount:shop:app, the pod runs as system:serviceaccount:shop:web`) ||
		!strings.Contains(out, "FAIL  token exchange refused: AADSTS700213") {
		t.Fatalf("doctor for another service account:\n%s", out)
	}
	// A cluster without the issuer, and one that does not exist.
	mustCLI(t, w, "aks", "create", "-n", "plain", "-g", "rg")
	if out, _, code := w.cli("doctor", "sa", "app", "--cluster", "plain", "-g", "rg"); code == 0 || !strings.Contains(out, "--enable-oidc-issuer") {
		t.Fatalf("doctor on a cluster without an issuer: %s", out)
	}
	if out, _, code := w.cli("doctor", "sa", "app", "--cluster", "nope", "-g", "rg"); code == 0 || !strings.Contains(out, "does not exist") {
		t.Fatalf("doctor on a missing cluster: %s", out)
	}
	// Without a kubeconfig and without --cluster: the way to check Ward's side.
	if _, errOut, code := w.cli("doctor", "sa", "app"); code == 0 || !strings.Contains(errOut, "--cluster CLUSTER -g GROUP") {
		t.Fatalf("doctor without a kubeconfig or --cluster: %s", errOut)
	}
	if _, errOut, code := w.cli("doctor", "sa", "app", "--cluster", "c1"); code == 0 || !strings.Contains(errOut, "--resource-group") {
		t.Fatalf("doctor --cluster without -g: %s", errOut)
	}
}

// TestCLISmallOnes: issue 11's item 10.
func TestCLISmallOnes(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "a long end-to-end flow")
	w := startWard(t, "")

	// The README's health check.
	if out, err := exec.Command("curl", "-sS", "--cacert", filepath.Join(w.dataDir, "ca.pem"), w.base+"/healthz").CombinedOutput(); err == nil {
		if strings.TrimSpace(string(out)) != "ok" {
			t.Fatalf("curl /healthz = %q", out)
		}
	}

	// A port in use says what to do.
	cmd := exec.Command(wardBin, "serve", "--addr", w.addr, "--data", filepath.Join(t.TempDir(), "d"))
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "address already in use") || !strings.Contains(string(out), "--addr") {
		t.Fatalf("serve on a port in use: %v\n%s", err, out)
	}

	// serve --help lists only serve's flags.
	help, _ := exec.Command(wardBin, "serve", "--help").CombinedOutput()
	for _, flag := range []string{"--output", "--query", "--subscription"} {
		if strings.Contains(string(help), flag) {
			t.Errorf("serve --help lists %s:\n%s", flag, help)
		}
	}
	if !strings.Contains(string(help), "--data") || !strings.Contains(string(help), "--public-url") {
		t.Errorf("serve --help lacks its own flags:\n%s", help)
	}

	// show-install on a loopback server warns, on stderr and in the manifests.
	mustCLI(t, w, "group", "create", "-n", "rg", "-l", "westeurope")
	mustCLI(t, w, "aks", "create", "-n", "c1", "-g", "rg", "--enable-oidc-issuer", "--enable-workload-identity")
	manifests, errOut, code := w.cli("aks", "show-install", "-n", "c1", "-g", "rg")
	if code != 0 || !strings.Contains(errOut, "WARNING: AZURE_AUTHORITY_HOST would be "+w.base+"/, a loopback address") ||
		!strings.Contains(manifests, "# WARNING: AZURE_AUTHORITY_HOST would be") {
		t.Fatalf("show-install on a loopback server: exit %d\n%s\n%.400s", code, errOut, manifests)
	}

	// -o table of federated credentials and role assignments prints a
	// hosted cluster issuer and a vault scope whole, as az does.
	hostedIssuer := strings.TrimSpace(mustCLI(t, w, "aks", "show", "-n", "c1", "-g", "rg", "--query", "oidcIssuerProfile.issuerUrl", "-o", "tsv"))
	mustCLI(t, w, "identity", "create", "-n", "myIdentity", "-g", "rg")
	mustCLI(t, w, "identity", "federated-credential", "create", "--name", "myFedCred", "--identity-name", "myIdentity", "-g", "rg",
		"--issuer", "https://oidc.example.com/my-cluster/", "--subject", "system:serviceaccount:default:workload-sa", "--audiences", "api://AzureADTokenExchange")
	mustCLI(t, w, "identity", "federated-credential", "create", "--name", "hostedFedCred", "--identity-name", "myIdentity", "-g", "rg",
		"--issuer", hostedIssuer, "--subject", "system:serviceaccount:default:workload-sa", "--audiences", "api://AzureADTokenExchange")
	clientID := strings.TrimSpace(mustCLI(t, w, "identity", "show", "-n", "myIdentity", "-g", "rg", "--query", "clientId", "-o", "tsv"))
	mustCLI(t, w, "role", "assignment", "create", "--assignee", clientID, "--role", "Reader", "--scope", "/subscriptions/"+w.admin.SubscriptionID)
	mustCLI(t, w, "keyvault", "create", "-n", "my-team-vault", "-g", "rg")
	vaultID := strings.TrimSpace(mustCLI(t, w, "keyvault", "show", "-n", "my-team-vault", "--query", "id", "-o", "tsv"))
	mustCLI(t, w, "role", "assignment", "create", "--assignee", clientID, "--role", "Key Vault Secrets User", "--scope", vaultID)
	for _, tc := range []struct {
		args    []string
		columns string
		whole   string // a long value the table prints whole
	}{
		{[]string{"identity", "federated-credential", "list", "--identity-name", "myIdentity", "-g", "rg", "-o", "table"}, "Issuer Name ResourceGroup Subject", hostedIssuer},
		{[]string{"role", "assignment", "list", "--all", "-o", "table"}, "Principal Role Scope", vaultID},
		{[]string{"role", "assignment", "list", "-o", "table"}, "Principal Role Scope", "/subscriptions/" + w.admin.SubscriptionID},
	} {
		table := mustCLI(t, w, tc.args...)
		lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
		if got := strings.Join(strings.Fields(lines[0]), " "); got != tc.columns || len(lines) < 3 {
			t.Errorf("ward %s: columns %q, want %q:\n%s", strings.Join(tc.args, " "), got, tc.columns, table)
		}
		// az never elides a value: IDs stay whole and copyable, even
		// with a narrow $COLUMNS.
		if strings.Contains(table, "...") || !strings.Contains(table, tc.whole) {
			t.Errorf("ward %s: the table does not print %q whole:\n%s", strings.Join(tc.args, " "), tc.whole, table)
		}
	}
}
