// Package e2e holds black-box tests that build and start the real ward
// binary and drive it with real clients: the Azure SDK for Go's ARM modules,
// plain HTTPS, and ward's own CLI.
package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/ward-id/ward/client"
)

var wardBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ward-e2e-bin-")
	if err != nil {
		panic(err)
	}
	wardBin = filepath.Join(dir, "ward")
	build := exec.Command("go", "build", "-o", wardBin, "github.com/ward-id/ward/cmd/ward")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build ward:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ward is one running `ward serve` process.
type ward struct {
	t       *testing.T
	dataDir string
	addr    string
	cmd     *exec.Cmd
	log     *os.File
	admin   client.Admin
	http    *http.Client
	base    string
	token   string
	// cliEnv is added to the environment of the ward commands cli runs
	// (for example WARD_CONFIG_DIR), so a test need not t.Setenv and can
	// run in parallel.
	cliEnv []string
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startWard starts the binary on dataDir (a fresh temp dir when empty) and
// waits for /healthz. The process is stopped with SIGTERM at cleanup.
func startWard(t *testing.T, dataDir string, extraArgs ...string) *ward {
	t.Helper()
	if dataDir == "" {
		dataDir = filepath.Join(t.TempDir(), "ward-data")
	}
	w := &ward{t: t, dataDir: dataDir, addr: freeAddr(t)}
	for i, a := range extraArgs { // a caller that picks the address itself
		if a == "--addr" && i+1 < len(extraArgs) {
			w.addr = extraArgs[i+1]
		}
	}
	logf, err := os.CreateTemp(t.TempDir(), "ward-*.log")
	if err != nil {
		t.Fatal(err)
	}
	w.log = logf
	// Test issuers serve on 127.0.0.1; a test that needs the default (loopback
	// issuers refused) passes --allow-loopback-issuers=false, which wins.
	args := append([]string{"serve", "--addr", w.addr, "--data", dataDir, "--allow-loopback-issuers"}, extraArgs...)
	w.cmd = exec.Command(wardBin, args...)
	w.cmd.Stdout, w.cmd.Stderr = logf, logf
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.stop() })
	w.base = "https://" + w.addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, err := os.ReadFile(filepath.Join(dataDir, "admin.json")); err == nil && json.Unmarshal(b, &w.admin) == nil {
			if pem, err := os.ReadFile(filepath.Join(dataDir, "ca.pem")); err == nil {
				pool := x509.NewCertPool()
				pool.AppendCertsFromPEM(pem)
				tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
				w.http = &http.Client{Transport: tr, Timeout: 30 * time.Second}
				if resp, err := w.http.Get(w.base + "/healthz"); err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						// Read admin.json again: on a restart the file read above
						// may be the previous process's, with its old URLs; the
						// server rewrites it before it serves.
						b, err := os.ReadFile(filepath.Join(dataDir, "admin.json"))
						if err != nil || json.Unmarshal(b, &w.admin) != nil {
							t.Fatalf("read admin.json after start: %v", err)
						}
						return w
					}
				}
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("ward did not become healthy in 20s; log:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits; it reports a non-zero exit (an unclean
// shutdown) as a test failure.
func (w *ward) stop() {
	if w.cmd == nil || w.cmd.ProcessState != nil {
		return
	}
	if w.http != nil {
		// An idle HTTP/2 connection of ours would hold the graceful
		// shutdown for up to a second, waiting for us to answer GOAWAY.
		w.http.CloseIdleConnections()
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- w.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			b, _ := os.ReadFile(w.log.Name())
			w.t.Errorf("ward exited uncleanly after SIGTERM: %v\n%s", err, b)
		}
	case <-time.After(15 * time.Second):
		_ = w.cmd.Process.Kill()
		w.t.Error("ward did not stop within 15s of SIGTERM")
	}
}

// kill9 ends the process at once, as a crash would.
func (w *ward) kill9() {
	_ = w.cmd.Process.Kill()
	_ = w.cmd.Wait()
}

// cloudConfig is Ward as a custom cloud: authority and resource manager.
func (w *ward) cloudConfig() cloud.Configuration {
	return cloud.Configuration{
		ActiveDirectoryAuthorityHost: w.admin.AuthorityHost,
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: w.base, Audience: "https://management.azure.com"},
		},
	}
}

// adminCredential is the bootstrap admin as an unmodified azidentity
// ClientSecretCredential, configured as any custom cloud is.
func (w *ward) adminCredential() azcore.TokenCredential {
	w.t.Helper()
	cred, err := azidentity.NewClientSecretCredential(w.admin.TenantID, w.admin.ClientID, w.admin.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: policy.ClientOptions{Cloud: w.cloudConfig(), Transport: w.http}, DisableInstanceDiscovery: true})
	if err != nil {
		w.t.Fatal(err)
	}
	return cred
}

// adminToken returns a management token for the admin (cached per server).
func (w *ward) adminToken() string {
	w.t.Helper()
	if w.token == "" {
		tok, err := w.adminCredential().GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
		if err != nil {
			w.t.Fatalf("admin token: %v", err)
		}
		w.token = tok.Token
	}
	return w.token
}

// armOptions points an ARM SDK client at this server, as any custom cloud
// is configured: resource manager endpoint and audience, plus Ward's CA.
func (w *ward) armOptions() *arm.ClientOptions {
	return &arm.ClientOptions{ClientOptions: policy.ClientOptions{Cloud: w.cloudConfig(), Transport: w.http}}
}

// request sends one raw HTTPS request as the admin and returns status and body.
func (w *ward) request(method, path string, body string, hdr ...string) (int, map[string]any, http.Header) {
	w.t.Helper()
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	} else {
		rd = strings.NewReader("")
	}
	req, err := http.NewRequest(method, w.base+path, rd)
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+w.adminToken())
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := w.http.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header
}

// cli runs the ward CLI against this server's data directory.
func (w *ward) cli(args ...string) (stdout, stderr string, code int) {
	w.t.Helper()
	cmd := exec.Command(wardBin, append(args, "--data", w.dataDir)...)
	if w.cliEnv != nil {
		cmd.Env = append(os.Environ(), w.cliEnv...)
	}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatalf("run ward %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func errorMessage(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// skipIfShort keeps `hack/test.sh -short` a suite of a couple of minutes: a
// test that drives an outside client (az, the Python or JavaScript SDK,
// Chromium), starts several replicas, kills the server or runs a long flow
// runs only in the full suite. The reason shows in the test command's list of
// skips.
func skipIfShort(t *testing.T, why string) {
	t.Helper()
	if testing.Short() {
		t.Skip("slow, left to the full suite (without -short): " + why)
	}
}
