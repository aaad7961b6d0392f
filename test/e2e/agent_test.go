package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

const kvSecretsUserRole = "4633458b-17de-408a-b874-0445c86b69e6"

// agentProc is one running `ward agent`.
type agentProc struct {
	cmd *exec.Cmd
	log *os.File
}

// startAgent runs `ward agent args...` and waits until every address in
// wait accepts connections. It is stopped with SIGTERM at cleanup.
func startAgent(t *testing.T, wait []string, args ...string) *agentProc {
	t.Helper()
	logf, err := os.CreateTemp(t.TempDir(), "agent-*.log")
	if err != nil {
		t.Fatal(err)
	}
	p := &agentProc{cmd: exec.Command(wardBin, append([]string{"agent"}, args...)...), log: logf}
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.Env = agentEnv()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			t.Error("ward agent did not stop within 10s of SIGTERM")
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for _, addr := range wait {
		for {
			c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				b, _ := os.ReadFile(logf.Name())
				t.Fatalf("ward agent does not listen on %s after 20s; log:\n%s", addr, b)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return p
}

func (p *agentProc) logText() string {
	b, _ := os.ReadFile(p.log.Name())
	return string(b)
}

// managedIdentityEnv are the variables that choose a managed identity
// source or another credential; tests set them explicitly.
var managedIdentityEnv = []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET",
	"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_USERNAME",
	"AZURE_PASSWORD", "AZURE_TOKEN_CREDENTIALS", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "AZURE_AUTHORITY_HOST"}

// agentEnv is the environment without any of managedIdentityEnv.
func agentEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !contains(managedIdentityEnv, k) {
			out = append(out, kv)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// useEnv unsets every managed identity variable, then sets kv (key, value
// pairs), restoring the environment at cleanup. (WorkloadIdentityCredential
// counts a variable set to "" as set, so they are unset, not emptied.) It
// goes through t.Setenv, which refuses a parallel test: the environment is
// the process's, shared by every test running at the time.
func useEnv(t *testing.T, kv ...string) {
	t.Helper()
	for _, k := range managedIdentityEnv {
		t.Setenv(k, "") // records the value to restore
		os.Unsetenv(k)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		t.Setenv(kv[i], kv[i+1])
	}
}

// claims decodes a JWT's payload without verifying it.
func claims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
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

// machineFixture is a machine with a system identity and one attached
// user-assigned identity, an identity it does not have, and its join token.
type machineFixture struct {
	group, name, id    string
	token              string
	systemPrincipal    string
	appID, appClient   string
	appPrincipal       string
	otherClient, other string
}

func (w *ward) machineFixture(t *testing.T, group, name string) machineFixture {
	t.Helper()
	sub := "/subscriptions/" + w.admin.SubscriptionID
	if st, b, _ := w.request("PUT", sub+"/resourceGroups/"+group+"?api-version=2021-04-01", `{"location":"westeurope"}`); st != 201 && st != 200 {
		t.Fatalf("group: %d %v", st, b)
	}
	f := machineFixture{group: group, name: name}
	ident := func(n string) (string, string, string) {
		id := sub + "/resourceGroups/" + group + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + n
		st, b, _ := w.request("PUT", id+"?api-version=2024-11-30", `{"location":"westeurope"}`)
		if st != 201 {
			t.Fatalf("identity %s: %d %v", n, st, b)
		}
		p := b["properties"].(map[string]any)
		return b["id"].(string), p["clientId"].(string), p["principalId"].(string)
	}
	f.appID, f.appClient, f.appPrincipal = ident(name + "-app")
	f.other, f.otherClient, _ = ident(name + "-other")
	f.id = sub + "/resourceGroups/" + group + "/providers/Microsoft.HybridCompute/machines/" + name
	body := `{"location":"westeurope","identity":{"type":"SystemAssigned, UserAssigned","userAssignedIdentities":{"` + f.appID + `":{}}}}`
	st, b, _ := w.request("PUT", f.id+"?api-version=2024-07-10", body)
	if st != 201 {
		t.Fatalf("machine: %d %v", st, b)
	}
	f.systemPrincipal = b["identity"].(map[string]any)["principalId"].(string)
	f.token = b["properties"].(map[string]any)["wardJoinToken"].(string)
	return f
}

// join runs `ward agent join` and returns the state directory.
func (w *ward) join(t *testing.T, token string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "agent-state")
	out, errOut, code := w.agentJoin(dir, token)
	if code != 0 {
		t.Fatalf("ward agent join: %s %s", out, errOut)
	}
	fi, err := os.Stat(filepath.Join(dir, "agent.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("agent.key: %v %v (want mode 0600)", fi, err)
	}
	return dir
}

func (w *ward) agentJoin(dir, token string) (string, string, int) {
	cmd := exec.Command(wardBin, "agent", "join", "--server", w.base, "--ca-file", filepath.Join(w.dataDir, "ca.pem"), "--token", token, "--state-dir", dir)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
	}
	return out.String(), errOut.String(), code
}

// appService starts an agent serving only App Service on a free port and
// returns IDENTITY_ENDPOINT and IDENTITY_HEADER.
func appService(t *testing.T, extra ...string) (endpoint, secret string, p *agentProc) {
	t.Helper()
	addr := freeAddr(t)
	secretFile := filepath.Join(t.TempDir(), "identity-header")
	p = startAgent(t, []string{addr}, append([]string{"--imds-addr=", "--arc-addr=", "--app-service-addr", addr, "--app-service-secret-file", secretFile,
		"--poll-interval", "200ms"}, extra...)...)
	b, err := os.ReadFile(secretFile)
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + addr + "/msi/token", strings.TrimSpace(string(b)), p
}

func getToken(t *testing.T, cred azcore.TokenCredential, scope string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	return tok.Token, err
}

// TestAgentAppService: the unmodified ManagedIdentityCredential and
// DefaultAzureCredential, through App Service's environment variables,
// get the machine's tokens from `ward agent` (selected by client ID,
// object ID and resource ID), use them on ARM and on a vault, and cannot
// get an identity the machine does not have.
func TestAgentAppService(t *testing.T) {
	w := startWard(t, "")
	f := w.machineFixture(t, "rga", "m1")
	sub := "/subscriptions/" + w.admin.SubscriptionID
	w.assign(t, f.systemPrincipal, sub+"/resourceGroups/rga", readerRole)
	// A vault the user-assigned identity may read.
	vaultID := sub + "/resourceGroups/rga/providers/Microsoft.KeyVault/vaults/agent-kv"
	st, b, _ := w.request("PUT", vaultID+"?api-version=2023-07-01", `{"location":"westeurope","properties":{"tenantId":"`+w.admin.TenantID+`","sku":{"family":"A","name":"standard"}}}`)
	if st != 201 {
		t.Fatalf("vault: %d %v", st, b)
	}
	vaultURI := b["properties"].(map[string]any)["vaultUri"].(string)
	w.assign(t, f.appPrincipal, vaultID, kvSecretsUserRole)
	hc := w.hostsClient()
	adminCred, _ := azidentity.NewClientSecretCredential(w.admin.TenantID, w.admin.ClientID, w.admin.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: policy.ClientOptions{Cloud: w.cloudConfig(), Transport: hc}, DisableInstanceDiscovery: true})
	adminKV, _ := azsecrets.NewClient(vaultURI, adminCred, &azsecrets.ClientOptions{ClientOptions: policy.ClientOptions{Transport: hc}})
	if _, err := adminKV.SetSecret(context.Background(), "db", azsecrets.SetSecretParameters{Value: to.Ptr("from-the-vault")}, nil); err != nil {
		t.Fatal(err)
	}

	stateDir := w.join(t, f.token)
	endpoint, secret, agent := appService(t, "--state-dir", stateDir)
	useEnv(t, "IDENTITY_ENDPOINT", endpoint, "IDENTITY_HEADER", secret)

	// System-assigned: a token for ARM, used by the ARM SDK.
	mi, err := azidentity.NewManagedIdentityCredential(nil)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := armresources.NewResourceGroupsClient(w.admin.SubscriptionID, mi, w.armOptions())
	if err != nil {
		t.Fatal(err)
	}
	if g, err := groups.Get(context.Background(), "rga", nil); err != nil || *g.Name != "rga" {
		t.Fatalf("ARM with the machine's system identity (Reader on rga): %v\n%s", err, agent.logText())
	}
	tok, err := getToken(t, mi, "https://management.azure.com/.default")
	if err != nil || claims(t, tok)["oid"] != f.systemPrincipal || claims(t, tok)["xms_mirid"] != f.id {
		t.Fatalf("system token: %v %v", err, claims(t, tok))
	}

	// The user-assigned identity by each selector, on the vault.
	for name, id := range map[string]azidentity.ManagedIDKind{"client_id": azidentity.ClientID(f.appClient),
		"object_id": azidentity.ObjectID(f.appPrincipal), "mi_res_id": azidentity.ResourceID(f.appID)} {
		cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: id})
		if err != nil {
			t.Fatal(err)
		}
		kv, _ := azsecrets.NewClient(vaultURI, cred, &azsecrets.ClientOptions{ClientOptions: policy.ClientOptions{Transport: hc}})
		got, err := kv.GetSecret(context.Background(), "db", "", nil)
		if err != nil || *got.Value != "from-the-vault" {
			t.Fatalf("%s: vault read with the user-assigned identity: %v", name, err)
		}
	}

	// An identity the machine does not have: refused.
	foreign, _ := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(f.otherClient)})
	if _, err := getToken(t, foreign, "https://management.azure.com/.default"); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("foreign identity: %v", err)
	}
	// No X-IDENTITY-HEADER: refused.
	resp, err := http.Get(endpoint + "?api-version=2019-08-01&resource=https://management.azure.com/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("without X-IDENTITY-HEADER: %d", resp.StatusCode)
	}

	// DefaultAzureCredential through the same environment.
	dac, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	groups, _ = armresources.NewResourceGroupsClient(w.admin.SubscriptionID, dac, w.armOptions())
	if _, err := groups.Get(context.Background(), "rga", nil); err != nil {
		t.Fatalf("ARM with DefaultAzureCredential: %v", err)
	}
	// The system identity may not read other groups: the token is the
	// machine's, with the machine's rights only.
	mustCLI(t, w, "group", "create", "-n", "rgb", "-l", "westeurope")
	if _, err := groups.Get(context.Background(), "rgb", nil); err == nil {
		t.Fatal("the machine's identity read a group it has no role on")
	}
}

// TestAgentNodeAttestation: a node agent attests with its DaemonSet's
// service-account token from the cluster's hosted issuer and serves the
// kubelet identity and its pool's identities; another service account's
// token gets nothing.
func TestAgentNodeAttestation(t *testing.T) {
	w := startWard(t, "")
	mustCLI(t, w, "group", "create", "-n", "rgk", "-l", "westeurope")
	cluster := cliJSON(t, w, "aks", "create", "-n", "c1", "-g", "rgk", "--enable-oidc-issuer")
	kubelet := cluster["identityProfile"].(map[string]any)["kubeletidentity"].(map[string]any)
	app := cliJSON(t, w, "identity", "create", "-n", "pool-app", "-g", "rgk")
	mustCLI(t, w, "aks", "nodepool", "identity", "assign", "--cluster-name", "c1", "-g", "rgk", "-n", "nodepool1", "--identities", app["id"].(string))
	saToken := func(sa string) string {
		out := cliJSON(t, w, "aks", "get-token", "-n", "c1", "-g", "rgk", "--service-account", sa, "--audience", "api://WardAgent")
		path := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(path, []byte(out["token"].(string)), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	ca := filepath.Join(w.dataDir, "ca.pem")
	endpoint, secret, agent := appService(t, "--node-token-file", saToken("ward-system/ward-agent"), "--server", w.base, "--ca-file", ca)
	useEnv(t, "IDENTITY_ENDPOINT", endpoint, "IDENTITY_HEADER", secret)
	// MSAL caches managed identity tokens process-wide: each test asks
	// for resources no other test asks for.
	mi, _ := azidentity.NewManagedIdentityCredential(nil)
	tok, err := getToken(t, mi, "api://node-kubelet/.default")
	if err != nil || claims(t, tok)["oid"] != kubelet["objectId"] {
		t.Fatalf("kubelet identity: %v %v\n%s", err, claims(t, tok), agent.logText())
	}
	poolCred, _ := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(app["clientId"].(string))})
	if tok, err := getToken(t, poolCred, "api://node-pool/.default"); err != nil || claims(t, tok)["oid"] != app["principalId"] {
		t.Fatalf("pool identity: %v", err)
	}

	// An ordinary service account's token attests nothing.
	endpoint2, secret2, agent2 := appService(t, "--node-token-file", saToken("default/app"), "--server", w.base, "--ca-file", ca)
	req, _ := http.NewRequest("GET", endpoint2+"?api-version=2019-08-01&resource=https://management.azure.com/", nil)
	req.Header.Set("X-IDENTITY-HEADER", secret2)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "Identity not found") || !strings.Contains(agent2.logText(), "not a Ward agent's") {
		t.Fatalf("another service account: %d %s\n%s", resp.StatusCode, body, agent2.logText())
	}
}

// TestAgentJoinAndRevocation: a join token works once and not after it
// expired; deleting the machine stops its agent, cached tokens included,
// within a second.
func TestAgentJoinAndRevocation(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	f := w.machineFixture(t, "rgj", "m1")
	stateDir := w.join(t, f.token)
	if _, errOut, code := w.agentJoin(filepath.Join(t.TempDir(), "again"), f.token); code == 0 || !strings.Contains(errOut, "not valid") {
		t.Fatalf("the same join token twice: exit %d, %s", code, errOut)
	}
	// An expired token.
	reset := cliJSON(t, w, "connectedmachine", "credential", "reset", "-n", "m1", "-g", "rgj", "--join-token-lifetime", "1s")
	time.Sleep(1500 * time.Millisecond)
	if _, errOut, code := w.agentJoin(filepath.Join(t.TempDir(), "late"), reset["joinToken"].(string)); code == 0 || !strings.Contains(errOut, "expired") {
		t.Fatalf("an expired join token: exit %d, %s", code, errOut)
	}
	// The reset revoked the first key; join again and serve.
	reset = cliJSON(t, w, "connectedmachine", "credential", "reset", "-n", "m1", "-g", "rgj")
	if _, errOut, code := w.agentJoin(stateDir, reset["joinToken"].(string)); code != 0 {
		t.Fatalf("join after reset: %s", errOut)
	}
	endpoint, secret, agent := appService(t, "--state-dir", stateDir)
	ask := func() (int, string) {
		req, _ := http.NewRequest("GET", endpoint+"?api-version=2019-08-01&resource=https://management.azure.com/", nil)
		req.Header.Set("X-IDENTITY-HEADER", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, b := ask(); st != 200 {
		t.Fatalf("before deletion: %d %s\n%s", st, b, agent.logText())
	}
	if st, b := ask(); st != 200 { // now from the agent's cache
		t.Fatalf("cached: %d %s", st, b)
	}
	start := time.Now()
	if st, b, _ := w.request("DELETE", f.id+"?api-version=2024-07-10", ""); st != 200 {
		t.Fatalf("delete machine: %d %v", st, b)
	}
	for {
		st, b := ask()
		if st == 400 && strings.Contains(b, "Identity not found") {
			break
		}
		if time.Since(start) > time.Second {
			t.Fatalf("the agent still serves %.0f ms after the machine's deletion: %d %s", float64(time.Since(start).Milliseconds()), st, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("the agent stopped serving %s after the machine's deletion", time.Since(start).Round(time.Millisecond))
}

// TestAgentRateLimit: past Azure's 20 requests per second a machine's
// agent answers 429 with Retry-After, and serves again after a pause.
func TestAgentRateLimit(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	f := w.machineFixture(t, "rgr", "m1")
	endpoint, secret, _ := appService(t, "--state-dir", w.join(t, f.token))
	client := &http.Client{Timeout: 10 * time.Second}
	ask := func() int {
		req, _ := http.NewRequest("GET", endpoint+"?api-version=2019-08-01&resource=https://management.azure.com/", nil)
		req.Header.Set("X-IDENTITY-HEADER", secret)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 429 && resp.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
		return resp.StatusCode
	}
	time.Sleep(1100 * time.Millisecond) // a full bucket
	counts := map[int]int{}
	for i := 0; i < 60; i++ {
		counts[ask()]++
	}
	if counts[429] == 0 || counts[200] < 20 || counts[200] > 30 {
		t.Fatalf("60 requests at once: %v, want about 20 served and the rest 429", counts)
	}
	time.Sleep(1100 * time.Millisecond)
	if st := ask(); st != 200 {
		t.Fatalf("after a second: %d", st)
	}
}

// TestAgentInNamespaces runs the IMDS and Azure Arc flows where the SDKs
// expect them: IMDS on 169.254.169.254:80 and Arc's challenge files in
// /var/opt/azcmagent/tokens, in private namespaces (inNamespaces).
func TestAgentInNamespaces(t *testing.T) {
	parallelOutsideNamespaces(t)
	skipIfShort(t, "re-runs itself in private network and mount namespaces")
	inNamespaces(t, "TestAgentInNamespaces", agentInNamespaces)
}

// inNamespaces runs inside (the body of the test named name) in a private
// network and mount namespace: the test re-runs itself as root under
// unshare -mn, with loopback up and a tmpfs on /var/opt, so that neither
// 169.254.169.254 nor /var/opt/azcmagent touches the host.
// parallelOutsideNamespaces runs a test that uses inNamespaces in
// parallel with others; its run inside the namespaces is the only test of
// its process and sets the environment the SDKs read (useEnv), which a
// parallel test may not.
func parallelOutsideNamespaces(t *testing.T) {
	if os.Getenv("WARD_E2E_IN_NAMESPACES") == "" {
		t.Parallel()
	}
}

func inNamespaces(t *testing.T, name string, inside func(t *testing.T)) {
	t.Helper()
	if os.Getenv("WARD_E2E_IN_NAMESPACES") == name {
		if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
			t.Fatalf("ip link set lo up: %v %s", err, out)
		}
		if err := syscall.Mount("tmpfs", "/var/opt", "tmpfs", 0, "mode=0755"); err != nil {
			t.Fatalf("mount a tmpfs on /var/opt: %v", err)
		}
		inside(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: the test puts 169.254.169.254 on the loopback interface of a private network namespace and mounts a tmpfs on /var/opt in a private mount namespace (unshare -mn); CI runs as root")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare (util-linux)")
	}
	cmd := exec.Command("unshare", "--mount", "--net", "--propagation", "private", os.Args[0], "-test.run", "^"+name+"$", "-test.v", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), "WARD_E2E_IN_NAMESPACES="+name)
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+name)) {
		t.Fatalf("in namespaces: %v\n%s", err, out)
	}
	t.Logf("in namespaces:\n%s", lastLines(string(out), 12))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func agentInNamespaces(t *testing.T) {
	if err := os.MkdirAll("/var/opt/azcmagent/tokens", 0o750); err != nil {
		t.Fatal(err)
	}
	w := startWard(t, "")
	f := w.machineFixture(t, "rgn", "m1")
	stateDir := w.join(t, f.token)
	agent := startAgent(t, []string{"169.254.169.254:80", "127.0.0.1:40342"}, "--state-dir", stateDir, "--imds-addr", "169.254.169.254:80", "--setup-imds-address",
		"--arc-addr", "127.0.0.1:40342", "--arc-token-group", "", "--poll-interval", "200ms")

	// IMDS: no environment at all, as on an Azure VM.
	useEnv(t)
	check := func(what string, cred azcore.TokenCredential, scope, wantOID string) {
		t.Helper()
		tok, err := getToken(t, cred, scope)
		if err != nil {
			t.Fatalf("%s: %v\n%s", what, err, agent.logText())
		}
		if c := claims(t, tok); c["oid"] != wantOID {
			t.Fatalf("%s: token for %v, want %s", what, c["oid"], wantOID)
		}
	}
	mi, _ := azidentity.NewManagedIdentityCredential(nil)
	check("IMDS system", mi, "api://imds-system/.default", f.systemPrincipal)
	for name, id := range map[string]azidentity.ManagedIDKind{"client_id": azidentity.ClientID(f.appClient),
		"object_id": azidentity.ObjectID(f.appPrincipal), "msi_res_id": azidentity.ResourceID(f.appID)} {
		cred, _ := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: id})
		check("IMDS "+name, cred, "api://imds-"+strings.ReplaceAll(name, "_", "-")+"/.default", f.appPrincipal)
	}
	foreign, _ := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(f.otherClient)})
	if _, err := getToken(t, foreign, "api://imds-foreign/.default"); err == nil || !strings.Contains(err.Error(), "isn't assigned") {
		t.Fatalf("IMDS foreign identity: %v", err)
	}
	dac, _ := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{DisableInstanceDiscovery: true})
	check("IMDS DefaultAzureCredential", dac, "api://imds-dac/.default", f.systemPrincipal)
	for _, c := range []struct {
		name   string
		hdr    map[string]string
		status int
	}{
		{"no Metadata header", nil, 400},
		{"X-Forwarded-For", map[string]string{"Metadata": "true", "X-Forwarded-For": "203.0.113.7"}, 400},
		{"Metadata: true", map[string]string{"Metadata": "true"}, 200},
	} {
		req, _ := http.NewRequest("GET", "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource="+url.QueryEscape("https://management.azure.com/"), nil)
		for k, v := range c.hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Fatalf("IMDS %s: %d %s", c.name, resp.StatusCode, b)
		}
	}

	// Azure Arc: IDENTITY_ENDPOINT and IMDS_ENDPOINT; the SDK reads the
	// challenge file from /var/opt/azcmagent/tokens. Another resource than
	// above, so that MSAL's process-wide cache cannot answer.
	useEnv(t, "IDENTITY_ENDPOINT", "http://127.0.0.1:40342/metadata/identity/oauth2/token", "IMDS_ENDPOINT", "http://127.0.0.1:40342")
	arc, _ := azidentity.NewManagedIdentityCredential(nil)
	check("Arc system", arc, "api://arc-system/.default", f.systemPrincipal)
	for name, id := range map[string]azidentity.ManagedIDKind{"client_id": azidentity.ClientID(f.appClient),
		"object_id": azidentity.ObjectID(f.appPrincipal), "msi_res_id": azidentity.ResourceID(f.appID)} {
		cred, _ := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: id})
		check("Arc "+name, cred, "api://arc-"+strings.ReplaceAll(name, "_", "-")+"/.default", f.appPrincipal)
	}
	dac, _ = azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{DisableInstanceDiscovery: true})
	check("Arc DefaultAzureCredential", dac, "api://arc-dac/.default", f.systemPrincipal)
	if left, _ := os.ReadDir("/var/opt/azcmagent/tokens"); len(left) != 0 {
		t.Errorf("challenge files left after use: %d", len(left))
	}
	fmt.Println("IMDS on 169.254.169.254:80 and Azure Arc with /var/opt/azcmagent/tokens: every flow passed")
}
