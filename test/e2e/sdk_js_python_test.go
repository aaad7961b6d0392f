package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

// The steps test/js/flow.mjs and test/python/flow.py print, in order.
var sdkFlowSteps = []string{
	"client-secret-token", "resource-group", "identity-crud", "federated-credential", "vault",
	"role-definition", "role-assignment", "secret-set-get", "workload-identity-exchange",
	"secret-read-as-identity", "set-secret-refused", "default-azure-credential",
}

// inCI reports whether a missing runtime must fail the run rather than skip.
func inCI() bool { return os.Getenv("CI") != "" && os.Getenv("CI") != "false" }

// needOrSkip skips the test when what is missing is a local tool, and fails
// it in CI, where .ci/run installs everything.
func needOrSkip(t *testing.T, ok bool, what, install string) {
	t.Helper()
	if ok {
		return
	}
	if inCI() {
		t.Fatalf("%s, and CI is set: .ci/run must install it (%s)", what, install)
	}
	t.Skipf("%s; install it to run this test (%s). CI runs it.", what, install)
}

// repoRoot is the module root, found from this file's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// vaultHostsResolve reports whether <name>.vault.localhost resolves to
// loopback through the system resolver, as README's "Vault host names"
// sets up (libnss-myhostname on glibc systems).
func vaultHostsResolve(name string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, name+".vault.localhost")
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip != nil && ip.IsLoopback() {
			return true
		}
	}
	return false
}

const vaultHostFix = "apt-get install libnss-myhostname; Go programs need cgo, the default where a C compiler is installed"

// TestVaultHostResolvesForGo: an unmodified azsecrets client reaches
// https://<vault>.vault.localhost:PORT/ through the system resolver, with
// challenge resource verification on and no /etc/hosts entry.
func TestVaultHostResolvesForGo(t *testing.T) {
	t.Parallel()
	needOrSkip(t, vaultHostsResolve("go-kv"), "go-kv.vault.localhost does not resolve to loopback", vaultHostFix)
	w := startWard(t, "")
	status, body, _ := w.request("PUT", "/subscriptions/"+w.admin.SubscriptionID+"/resourceGroups/go-rg?api-version=2025-04-01", `{"location":"westeurope"}`)
	if status != 201 {
		t.Fatalf("create group: %d %v", status, body)
	}
	// The api-version @azure/arm-keyvault 5.0 sends.
	status, body, _ = w.request("PUT", "/subscriptions/"+w.admin.SubscriptionID+"/resourceGroups/go-rg/providers/Microsoft.KeyVault/vaults/go-kv?api-version=2026-02-01",
		`{"location":"westeurope","properties":{"tenantId":"`+w.admin.TenantID+`","sku":{"family":"A","name":"standard"}}}`)
	if status != 201 {
		t.Fatalf("create vault: %d %v", status, body)
	}
	vaultURI := body["properties"].(map[string]any)["vaultUri"].(string)

	// A client that trusts Ward's CA and nothing else special: the default
	// dialer and the system resolver.
	pem, err := os.ReadFile(filepath.Join(w.dataDir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}, Timeout: 30 * time.Second}
	cred, err := azidentity.NewClientSecretCredential(w.admin.TenantID, w.admin.ClientID, w.admin.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: policy.ClientOptions{Cloud: w.cloudConfig(), Transport: hc}, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	kv, err := azsecrets.NewClient(vaultURI, cred, &azsecrets.ClientOptions{ClientOptions: policy.ClientOptions{Transport: hc}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := kv.SetSecret(ctx, "db-password", azsecrets.SetSecretParameters{Value: to.Ptr("s3cr3t-go")}, nil); err != nil {
		t.Fatalf("set secret at %s: %v", vaultURI, err)
	}
	got, err := kv.GetSecret(ctx, "db-password", "", nil)
	if err != nil || *got.Value != "s3cr3t-go" {
		t.Fatalf("get secret at %s: %v", vaultURI, err)
	}
}

// TestJavaScriptAndPythonSDKs runs test/js/flow.mjs (the unmodified npm
// SDKs from test/js's lockfile) and test/python/flow.py (Debian's
// python3-azure) against a real ward serve: client-secret token, identity
// CRUD, federated credential, vault, role definition by name, role
// assignment at the vault, secrets, workload identity exchange of a hosted
// cluster's service-account token, reads and a refused write as the
// identity, and DefaultAzureCredential from the webhook's environment.
func TestJavaScriptAndPythonSDKs(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "runs the JavaScript and Python SDKs")
	root := repoRoot(t)
	w := startWard(t, "")
	mustCLI(t, w, "group", "create", "-n", "clusters", "-l", "westeurope")
	mustCLI(t, w, "aks", "create", "-n", "aks1", "-g", "clusters", "--enable-managed-identity", "--enable-oidc-issuer", "--enable-workload-identity")
	issuer := strings.TrimSpace(mustCLI(t, w, "aks", "show", "-n", "aks1", "-g", "clusters", "--query", "oidcIssuerProfile.issuerUrl", "-o", "tsv"))
	if !strings.HasPrefix(issuer, "https://") {
		t.Fatalf("issuer = %q", issuer)
	}
	caFile, err := filepath.Abs(filepath.Join(w.dataDir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}

	run := func(t *testing.T, prefix string, argv ...string) {
		t.Helper()
		needOrSkip(t, vaultHostsResolve(prefix+"-kv"), prefix+"-kv.vault.localhost does not resolve to loopback", vaultHostFix)
		// A service-account token from the cluster's hosted issuer, as
		// kube-apiserver would project it into the pod.
		subject := "system:serviceaccount:" + prefix + ":workload-sa"
		raw := strings.TrimSpace(mustCLI(t, w, "aks", "get-token", "-n", "aks1", "-g", "clusters", "--namespace", prefix, "--service-account", "workload-sa", "--query", "token", "-o", "tsv"))
		tokenFile := filepath.Join(t.TempDir(), "azure-identity-token")
		if err := os.WriteFile(tokenFile, []byte(raw), 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Dir = filepath.Dir(argv[len(argv)-1])
		cmd.Env = append(cleanEnv(),
			"WARD_ARM_ENDPOINT="+w.base,
			"WARD_SUBSCRIPTION_ID="+w.admin.SubscriptionID,
			"WARD_ADMIN_CLIENT_ID="+w.admin.ClientID,
			"WARD_ADMIN_CLIENT_SECRET="+w.admin.ClientSecret,
			"WARD_ISSUER="+issuer,
			"WARD_SUBJECT="+subject,
			"WARD_PREFIX="+prefix,
			// What the webhook injects (AZURE_CLIENT_ID comes from the
			// identity the script creates).
			"AZURE_TENANT_ID="+w.admin.TenantID,
			"AZURE_FEDERATED_TOKEN_FILE="+tokenFile,
			"AZURE_AUTHORITY_HOST="+w.admin.AuthorityHost,
			// Ward's CA, as every client of it needs.
			"NODE_EXTRA_CA_CERTS="+caFile,
			"REQUESTS_CA_BUNDLE="+caFile,
			"SSL_CERT_FILE="+caFile,
			// Anything not sent to Ward (instance discovery at Microsoft's
			// hosts, say) fails at once at a closed local port instead of
			// leaving the machine or hanging.
			"HTTPS_PROXY=http://"+freeAddr(t),
			"HTTP_PROXY=http://"+freeAddr(t),
			"NO_PROXY=127.0.0.1,localhost,.localhost",
			"AZURE_CORE_COLLECT_TELEMETRY=false",
		)
		out, err := cmd.CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("%s did not finish in 4 minutes:\n%s", strings.Join(argv, " "), out)
		}
		if err != nil {
			logs, _ := os.ReadFile(w.log.Name())
			t.Fatalf("%s: %v\n%s\nward's log (last 4 KiB):\n%s", strings.Join(argv, " "), err, out, tail(logs, 4096))
		}
		lines := strings.Split(string(out), "\n")
		next := 0
		for _, l := range lines {
			if next < len(sdkFlowSteps) && (l == "ok "+sdkFlowSteps[next] || strings.HasPrefix(l, "ok "+sdkFlowSteps[next]+" ")) {
				next++
			}
		}
		if next != len(sdkFlowSteps) || !strings.Contains(string(out), "\nFLOW OK\n") {
			t.Fatalf("%s printed the steps up to %q only; want all of %v:\n%s", strings.Join(argv, " "), sdkFlowSteps[:next], sdkFlowSteps, out)
		}
		t.Logf("%s:\n%s", strings.Join(argv, " "), out)
	}

	t.Run("javascript", func(t *testing.T) {
		node, err := exec.LookPath("node")
		needOrSkip(t, err == nil, "node is not installed", "apt-get install nodejs npm")
		dir := filepath.Join(root, "test", "js")
		_, err = os.Stat(filepath.Join(dir, "node_modules", "@azure", "identity", "package.json"))
		needOrSkip(t, err == nil, "test/js/node_modules is missing", "npm ci in test/js")
		run(t, "js", node, filepath.Join(dir, "flow.mjs"))
		// @azure/arm-authorization sent "//subscriptions/..." and Ward
		// served it directly: no redirect, which would drop Authorization.
		logs, _ := os.ReadFile(w.log.Name())
		var doubled int
		for _, l := range strings.Split(string(logs), "\n") {
			if !strings.Contains(l, "msg=request ") || !strings.Contains(l, " path=//subscriptions/") {
				continue
			}
			doubled++
			if !strings.Contains(l, " status=200 ") && !strings.Contains(l, " status=201 ") {
				t.Errorf("a doubled-slash path was not served directly: %s", l)
			}
		}
		if doubled == 0 {
			t.Errorf("no request with a path starting // in ward's log; the arm-authorization case was not exercised")
		}
	})
	t.Run("python", func(t *testing.T) {
		py := pythonWithAzure()
		needOrSkip(t, py != "", "no python3 imports azure.identity and azure.mgmt", "apt-get install python3-azure")
		run(t, "py", py, filepath.Join(root, "test", "python", "flow.py"))
	})
}

// pythonWithAzure finds an interpreter that has the SDK: python3 on PATH,
// else Debian's /usr/bin/python3 (a pyenv python3 first on PATH does not
// see Debian's packages).
func pythonWithAzure() string {
	const probe = "import azure.identity, azure.keyvault.secrets, azure.mgmt.msi, azure.mgmt.keyvault, azure.mgmt.authorization, azure.mgmt.resource"
	for _, c := range []string{"python3", "/usr/bin/python3"} {
		p, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		if exec.Command(p, "-c", probe).Run() == nil {
			return p
		}
	}
	return ""
}

// cleanEnv is the test's environment without Azure, Ward and proxy
// variables, so the flows see only what the test sets.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch u := strings.ToUpper(k); {
		case strings.HasPrefix(u, "AZURE_"), strings.HasPrefix(u, "WARD_"), strings.HasSuffix(u, "_PROXY"),
			u == "NODE_EXTRA_CA_CERTS", u == "REQUESTS_CA_BUNDLE", u == "SSL_CERT_FILE", u == "MSI_ENDPOINT", u == "IDENTITY_ENDPOINT":
			continue
		}
		out = append(out, kv)
	}
	return out
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
