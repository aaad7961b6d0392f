package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/rbac"
)

// The steps test/js/blob.mjs prints in its flow mode, in order.
var blobJSSteps = []string{"container-create", "upload-blocks", "upload-single", "download-range", "properties-metadata", "list-paged", "delete"}

// nodeWithStorageBlob is the node binary and test/js, or skips (fails in
// CI) when either is missing.
func nodeWithStorageBlob(t *testing.T) (node, dir string) {
	t.Helper()
	node, err := exec.LookPath("node")
	needOrSkip(t, err == nil, "node is not installed", "apt-get install nodejs npm")
	dir = filepath.Join(repoRoot(t), "test", "js")
	_, err = os.Stat(filepath.Join(dir, "node_modules", "@azure", "storage-blob", "package.json"))
	needOrSkip(t, err == nil, "test/js/node_modules has no @azure/storage-blob", "npm ci in test/js")
	return node, dir
}

// TestBlobJavaScriptSDKUnderWardRun runs test/js/blob.mjs (the unmodified
// @azure/storage-blob and DefaultAzureCredential from test/js's lockfile)
// under `ward run` as a workload identity: with no data role every call is
// the SDK's RestError 403 AuthorizationPermissionMismatch; with Storage Blob
// Data Contributor on the account the program creates a container, uploads
// in blocks (Put Block + Put Block List, counted on the wire), downloads a
// range, lists in pages of two with metadata and deletes.
func TestBlobJavaScriptSDKUnderWardRun(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "runs the JavaScript SDK")
	node, dir := nodeWithStorageBlob(t)
	w := startWard(t, "")
	f := newFlowCLI(t, filepath.Dir(w.dataDir))
	f.ok("group", "create", "-n", "jsGroup", "-l", "westeurope")
	iss := f.ok("aks", "create", "-n", "jsCluster", "-g", "jsGroup", "--enable-oidc-issuer", "--enable-workload-identity", "--query", "oidcIssuerProfile.issuerUrl", "-o", "tsv")
	f.ok("identity", "create", "-n", "jsIdentity", "-g", "jsGroup")
	clientID := f.ok("identity", "show", "-n", "jsIdentity", "-g", "jsGroup", "--query", "clientId", "-o", "tsv")
	f.ok("identity", "federated-credential", "create", "--name", "jsFedCred", "--identity-name", "jsIdentity", "-g", "jsGroup",
		"--issuer", iss, "--subject", "system:serviceaccount:default:js-sa")
	acctID, endpoint := blobAccount(t, w, "jsGroup", "jsstorage")
	// A blob the denied and reader cases read, written with the Go SDK by
	// another principal.
	writer := w.newPrincipal(t, "js-uploader")
	w.assign(t, writer.ObjectID, acctID, rbac.StorageBlobDataContributorID)
	wc := w.blobClient(t, endpoint, writer)
	if _, err := wc.CreateContainer(context.Background(), "data", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := wc.UploadBuffer(context.Background(), "data", "hello.txt", []byte("hello from Go"), nil); err != nil {
		t.Fatal(err)
	}

	run := func(args ...string) (string, error) {
		// The CONNECT proxy stands in for an /etc/hosts entry: the test
		// does not depend on the resolver answering *.blob.localhost.
		g := newFlowCLI(t, filepath.Dir(w.dataDir), "STORAGE_ACCOUNT_URL="+endpoint, "HTTPS_PROXY="+connectProxy(t, w.addr), "NO_PROXY=", "no_proxy=")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, wardBin, append([]string{"run", "--cluster", "jsCluster", "-g", "jsGroup", "--service-account", "default/js-sa", "--",
			node, filepath.Join(dir, "blob.mjs")}, args...)...)
		cmd.Dir, cmd.Env = g.dir, g.env
		out, err := cmd.CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("blob.mjs %v did not finish in 3 minutes:\n%s", args, out)
		}
		return string(out), err
	}

	out, err := run("denied", "data", "hello.txt")
	if err != nil || !strings.Contains(out, "ok denied 403 AuthorizationPermissionMismatch\n") {
		logs, _ := os.ReadFile(w.log.Name())
		t.Fatalf("without a role: %v\n%s\nward's log (last 4 KiB):\n%s", err, out, tail(logs, 4096))
	}
	f.ok("role", "assignment", "create", "--assignee", clientID, "--role", "Storage Blob Data Contributor", "--scope", acctID)
	out, err = run("flow")
	if err != nil {
		logs, _ := os.ReadFile(w.log.Name())
		t.Fatalf("blob.mjs flow: %v\n%s\nward's log (last 4 KiB):\n%s", err, out, tail(logs, 4096))
	}
	next := 0
	for _, l := range strings.Split(out, "\n") {
		if next < len(blobJSSteps) && (l == "ok "+blobJSSteps[next] || strings.HasPrefix(l, "ok "+blobJSSteps[next]+" ")) {
			next++
		}
	}
	if next != len(blobJSSteps) || !strings.Contains(out, "\nBLOB FLOW OK\n") {
		t.Fatalf("blob.mjs printed the steps up to %v only; want all of %v:\n%s", blobJSSteps[:next], blobJSSteps, out)
	}
	t.Logf("blob.mjs flow:\n%s", out)

	// A Reader reads, and cannot write or delete.
	f.ok("role", "assignment", "delete", "--assignee", clientID, "--role", "Storage Blob Data Contributor", "--scope", acctID)
	f.ok("role", "assignment", "create", "--assignee", clientID, "--role", "Storage Blob Data Reader", "--scope", acctID)
	if out, err := run("reader", "data", "hello.txt"); err != nil || !strings.Contains(out, "ok reader read 13 bytes; write 403 AuthorizationPermissionMismatch\n") {
		t.Fatalf("as Reader: %v\n%s", err, out)
	}
}
