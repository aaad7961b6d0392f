package e2e

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/ward-id/ward/internal/rbac"
)

// TestBlobThroughAgentIMDS: on a machine whose `ward agent` serves IMDS on
// 169.254.169.254:80 (private namespaces, see inNamespaces), the unmodified
// SDKs read a blob with the machine's identity and no configuration but the
// account URL: Go's azblob with ManagedIdentityCredential and
// DefaultAzureCredential, the guides' Python program (DefaultAzureCredential,
// Debian's python3-azure) and test/js/blob.mjs (@azure/storage-blob with
// DefaultAzureCredential). Without a data role each is refused with 403
// AuthorizationPermissionMismatch; the machine's system identity with
// Storage Blob Data Reader on the account reads, and its user-assigned
// identity, which holds no role, still cannot.
func TestBlobThroughAgentIMDS(t *testing.T) {
	parallelOutsideNamespaces(t)
	skipIfShort(t, "runs the Go, Python and JavaScript SDKs through the agent in private namespaces")
	inNamespaces(t, "TestBlobThroughAgentIMDS", func(t *testing.T) {
		blobThroughAgent(t, func(w *ward, stateDir string) (*agentProc, []string) {
			return startAgent(t, []string{"169.254.169.254:80"}, "--state-dir", stateDir, "--imds-addr", "169.254.169.254:80", "--setup-imds-address",
				"--arc-addr=", "--poll-interval", "200ms"), nil
		})
	})
}

// TestBlobThroughAgentAppService is TestBlobThroughAgentIMDS with the
// agent serving App Service's protocol, which needs no root: the SDKs find
// it through IDENTITY_ENDPOINT and IDENTITY_HEADER.
func TestBlobThroughAgentAppService(t *testing.T) {
	skipIfShort(t, "runs the Go, Python and JavaScript SDKs through the agent")
	blobThroughAgent(t, func(w *ward, stateDir string) (*agentProc, []string) {
		endpoint, secret, agent := appService(t, "--state-dir", stateDir)
		return agent, []string{"IDENTITY_ENDPOINT", endpoint, "IDENTITY_HEADER", secret}
	})
}

// blobThroughAgent is the body of both: start serves the joined machine's
// identities from stateDir and returns the agent and the environment (key,
// value pairs) that points the SDKs at it.
func blobThroughAgent(t *testing.T, start func(w *ward, stateDir string) (*agentProc, []string)) {
	ctx := context.Background()
	w := startWard(t, "")
	f := w.machineFixture(t, "rgblob", "m1")
	acctID, endpoint := blobAccount(t, w, "rgblob", "machineblobs")
	writer := w.newPrincipal(t, "machine-uploader")
	w.assign(t, writer.ObjectID, acctID, rbac.StorageBlobDataContributorID)
	wc := w.blobClient(t, endpoint, writer)
	if _, err := wc.CreateContainer(ctx, "mycontainer", nil); err != nil {
		t.Fatal(err)
	}
	const content = "read with the machine's identity"
	if _, err := wc.UploadBuffer(ctx, "mycontainer", "hello.txt", []byte(content), nil); err != nil {
		t.Fatal(err)
	}

	agent, agentEnv := start(w, w.join(t, f.token))
	// Nothing else in the environment: the SDKs find the agent as on an
	// Azure VM (IMDS) or in App Service.
	useEnv(t, agentEnv...)

	// Go: the credential talks to the agent with the default transport;
	// the blob client dials Ward for <account>.blob.localhost.
	hc := w.hostsClient()
	system, err := azidentity.NewManagedIdentityCredential(nil)
	if err != nil {
		t.Fatal(err)
	}
	dac, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	userAssigned, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(f.appClient)})
	if err != nil {
		t.Fatal(err)
	}
	read := func(cred azcore.TokenCredential) (string, error) {
		c, err := azblob.NewClient(endpoint, cred, &azblob.ClientOptions{ClientOptions: policy.ClientOptions{Transport: hc}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		r, err := c.DownloadStream(ctx, "mycontainer", "hello.txt", nil)
		if err != nil {
			return "", err
		}
		defer r.Body.Close()
		b, err := io.ReadAll(r.Body)
		return string(b), err
	}
	denied := func(what string, err error) {
		t.Helper()
		if !bloberror.HasCode(err, bloberror.AuthorizationPermissionMismatch) {
			t.Fatalf("%s: got %v, want 403 AuthorizationPermissionMismatch\nagent log:\n%s", what, err, agent.logText())
		}
	}

	// Python and node, run as the machine's programs are: no AZURE_*
	// variable, the agent's variables if any, Ward's CA, and the CONNECT
	// proxy standing in for an /etc/hosts entry of the account host (the
	// agent is reached directly).
	caFile := filepath.Join(w.dataDir, "ca.pem")
	proxy := connectProxy(t, w.addr)
	program := func(argv ...string) (string, error) {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
		cmd.Env = append(cleanEnv(), "STORAGE_ACCOUNT_URL="+endpoint, "REQUESTS_CA_BUNDLE="+caFile, "NODE_EXTRA_CA_CERTS="+caFile,
			"HTTPS_PROXY="+proxy, "NO_PROXY=169.254.169.254,127.0.0.1", "no_proxy=169.254.169.254,127.0.0.1", "AZURE_CORE_COLLECT_TELEMETRY=false")
		for i := 0; i+1 < len(agentEnv); i += 2 {
			cmd.Env = append(cmd.Env, agentEnv[i]+"="+agentEnv[i+1])
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	type blobProgram struct {
		name string
		argv []string
		ok   func(out string) bool
	}
	var runs []blobProgram
	if py := pythonWithBlob(); py != "" {
		runs = append(runs, blobProgram{"python guide program", []string{py, filepath.Join(repoRoot(t), "test", "python", "blob_guide.py")},
			func(out string) bool { return out == "hello.txt\n" }})
	} else if inCI() {
		t.Fatal("no python3 imports azure.identity and azure.storage.blob, and CI is set: .ci/run must install python3-azure")
	} else {
		t.Log("no python3 imports azure.identity and azure.storage.blob: the Python case is skipped (apt-get install python3-azure)")
	}
	node, _ := exec.LookPath("node")
	jsDir := filepath.Join(repoRoot(t), "test", "js")
	if _, err := os.Stat(filepath.Join(jsDir, "node_modules", "@azure", "storage-blob", "package.json")); err == nil && node != "" {
		runs = append(runs, blobProgram{"javascript blob.mjs", []string{node, filepath.Join(jsDir, "blob.mjs"), "read", "mycontainer", "hello.txt"},
			func(out string) bool { return out == content }})
	} else if inCI() {
		t.Fatal("node or test/js/node_modules is missing, and CI is set: .ci/run must install nodejs and run npm ci in test/js")
	} else {
		t.Log("node or test/js/node_modules/@azure/storage-blob is missing: the JavaScript case is skipped (npm ci in test/js)")
	}

	// No role yet.
	_, err = read(system)
	denied("Go ManagedIdentityCredential (system) without a role", err)
	_, err = read(dac)
	denied("Go DefaultAzureCredential without a role", err)
	for _, r := range runs {
		if out, err := program(r.argv...); err == nil || !strings.Contains(out, "AuthorizationPermissionMismatch") {
			t.Fatalf("%s without a role: %v\n%s\nagent log:\n%s", r.name, err, out, agent.logText())
		}
	}

	// Storage Blob Data Reader for the machine's system identity.
	w.assign(t, f.systemPrincipal, acctID, rbac.StorageBlobDataReaderID)
	deadline := time.Now().Add(time.Second)
	for {
		got, err := read(system)
		if err == nil && got == content {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Go ManagedIdentityCredential (system) with Storage Blob Data Reader: %q %v", got, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got, err := read(dac); err != nil || got != content {
		t.Fatalf("Go DefaultAzureCredential with Storage Blob Data Reader: %q %v", got, err)
	}
	_, err = read(userAssigned)
	denied("Go ManagedIdentityCredential (the user-assigned identity, no role)", err)
	for _, r := range runs {
		out, err := program(r.argv...)
		if err != nil || !r.ok(out) {
			t.Fatalf("%s with Storage Blob Data Reader: %v\n%q\nagent log:\n%s", r.name, err, out, agent.logText())
		}
	}
	t.Logf("blob reads through the agent: Go (ManagedIdentityCredential, DefaultAzureCredential) and %d programs passed", len(runs))
}

// pythonWithBlob finds an interpreter with azure.identity and
// azure.storage.blob (Debian's python3-azure), or "".
func pythonWithBlob() string {
	for _, c := range []string{"python3", "/usr/bin/python3"} {
		if p, err := exec.LookPath(c); err == nil && exec.Command(p, "-c", "import azure.identity, azure.storage.blob").Run() == nil {
			return p
		}
	}
	return ""
}
