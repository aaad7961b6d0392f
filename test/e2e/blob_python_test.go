package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/rbac"
)

// connectProxy is an HTTPS proxy that sends every CONNECT to addr, as an
// /etc/hosts entry "127.0.0.1 <account>.blob.localhost" would: clients that
// honour HTTPS_PROXY (Python's requests) reach account hosts on machines
// whose resolver does not answer *.localhost.
func connectProxy(t *testing.T, addr string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		up, err := net.Dial("tcp", addr)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() { _, _ = io.Copy(up, buf); up.Close() }()
		_, _ = io.Copy(conn, up)
		conn.Close()
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

// TestBlobGuidePythonUnderWardRun runs the guides' Python program
// (BlobServiceClient + DefaultAzureCredential, Debian's python3-azure)
// under `ward run` as a workload identity that holds Storage Blob Data
// Reader on the account; without the role it fails with
// AuthorizationPermissionMismatch.
func TestBlobGuidePythonUnderWardRun(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "runs the Python SDK")
	py := ""
	for _, c := range []string{"python3", "/usr/bin/python3"} {
		if p, err := exec.LookPath(c); err == nil && exec.Command(p, "-c", "import azure.identity, azure.storage.blob").Run() == nil {
			py = p
			break
		}
	}
	needOrSkip(t, py != "", "no python3 imports azure.identity and azure.storage.blob", "apt-get install python3-azure")
	w := startWard(t, "")
	ctx := context.Background()
	f := newFlowCLI(t, filepath.Dir(w.dataDir))
	f.ok("group", "create", "-n", "myResourceGroup", "-l", "westeurope")
	iss := f.ok("aks", "create", "-n", "myCluster", "-g", "myResourceGroup", "--enable-oidc-issuer", "--enable-workload-identity", "--query", "oidcIssuerProfile.issuerUrl", "-o", "tsv")
	f.ok("identity", "create", "-n", "myIdentity", "-g", "myResourceGroup")
	clientID := f.ok("identity", "show", "-n", "myIdentity", "-g", "myResourceGroup", "--query", "clientId", "-o", "tsv")
	f.ok("identity", "federated-credential", "create", "--name", "myFedCred", "--identity-name", "myIdentity", "-g", "myResourceGroup",
		"--issuer", iss, "--subject", "system:serviceaccount:default:workload-sa")

	acctID, endpoint := blobAccount(t, w, "myResourceGroup", "mystorage")
	writer := w.newPrincipal(t, "uploader")
	w.assign(t, writer.ObjectID, acctID, rbac.StorageBlobDataContributorID)
	wc := w.blobClient(t, endpoint, writer)
	if _, err := wc.CreateContainer(ctx, "mycontainer", nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"reports/q1.csv", "hello.txt"} {
		if _, err := wc.UploadBuffer(ctx, "mycontainer", n, []byte("data"), nil); err != nil {
			t.Fatal(err)
		}
	}
	prog := filepath.Join(repoRoot(t), "test", "python", "blob_guide.py")
	run := func() (string, string, error) {
		g := newFlowCLI(t, filepath.Dir(w.dataDir), "STORAGE_ACCOUNT_URL="+endpoint, "HTTPS_PROXY="+connectProxy(t, w.addr), "NO_PROXY=", "no_proxy=")
		cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(cctx, wardBin, "run", "--cluster", "myCluster", "-g", "myResourceGroup", "--service-account", "default/workload-sa", "--", py, prog)
		cmd.Dir, cmd.Env = g.dir, g.env
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	out, errOut, err := run()
	if err == nil || !strings.Contains(errOut, "AuthorizationPermissionMismatch") {
		t.Fatalf("without a role: %v\nstdout %q\nstderr %s", err, out, errOut)
	}
	f.ok("role", "assignment", "create", "--assignee", clientID, "--role", "Storage Blob Data Reader", "--scope", acctID)
	out, errOut, err = run()
	if err != nil || out != "hello.txt\nreports/q1.csv\n" {
		t.Fatalf("guide program: %v\nstdout %q\nstderr %s", err, out, errOut)
	}
}
