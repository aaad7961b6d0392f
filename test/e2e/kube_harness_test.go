//go:build kube

package e2e

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/pki"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// kubeCluster is a real kube-apiserver backed by a real etcd, with a real
// kube-controller-manager running the Deployment and ReplicaSet
// controllers, all built from the k8s.io/kubernetes module by
// hack/kube-tools/build.sh. No scheduler or kubelet runs: pods are
// admitted and stored but never started, which is all admission and
// TokenRequest need.
type kubeCluster struct {
	URL        string
	Kubeconfig string
	Config     *rest.Config
	Client     kubernetes.Interface
}

// kubeBinaries finds kube-apiserver and etcd in $WARD_KUBE_BIN or the
// repository's .cache/kube-bin, building them there when missing (about
// ten minutes the first time, seconds with a warm Go build cache).
func kubeBinaries(t *testing.T) (apiserver, controllerManager, etcd string) {
	t.Helper()
	dir := os.Getenv("WARD_KUBE_BIN")
	root, _ := filepath.Abs("../..")
	if dir == "" {
		dir = filepath.Join(root, ".cache", "kube-bin")
	}
	apiserver, controllerManager, etcd = filepath.Join(dir, "kube-apiserver"), filepath.Join(dir, "kube-controller-manager"), filepath.Join(dir, "etcd")
	if _, err := os.Stat(controllerManager); err != nil {
		t.Logf("building kube-apiserver and etcd into %s (hack/kube-tools/build.sh; ~10 min cold)", dir)
		cmd := exec.Command(filepath.Join(root, "hack", "kube-tools", "build.sh"), dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build kube-apiserver: %v\n%s", err, out)
		}
	}
	return apiserver, controllerManager, etcd
}

func startProc(t *testing.T, name, bin string, args ...string) *exec.Cmd {
	t.Helper()
	logf, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// kube-apiserver must stop before etcd (cleanups run newest first).
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("--- %s log (tail):\n%s", name, b)
		}
	})
	return cmd
}

func waitHTTP(t *testing.T, name string, client *http.Client, url, token string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready at %s within %s", name, url, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startKube starts etcd and kube-apiserver on loopback with the given
// service-account issuer and signing key.
func startKube(t *testing.T, issuer string, saKey *rsa.PrivateKey) *kubeCluster {
	t.Helper()
	apiserverBin, controllerManagerBin, etcdBin := kubeBinaries(t)
	dir := t.TempDir()
	etcdClient, etcdPeer := "http://"+freeAddr(t), "http://"+freeAddr(t)
	startProc(t, "etcd", etcdBin, "--name", "ward-test", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdClient, "--advertise-client-urls", etcdClient,
		"--listen-peer-urls", etcdPeer, "--initial-advertise-peer-urls", etcdPeer,
		"--initial-cluster", "ward-test="+etcdPeer, "--log-level", "warn")
	waitHTTP(t, "etcd", http.DefaultClient, etcdClient+"/health", "", 30*time.Second)

	ca, caKey, err := pki.NewCA("kube-test-ca", "Ward tests", time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	der, key, err := pki.IssueServing(ca, caKey, "kube-apiserver", []string{"127.0.0.1"}, time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	saPriv, _ := x509.MarshalPKCS8PrivateKey(saKey)
	saPub, _ := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})
	token := "admin-" + fmt.Sprint(time.Now().UnixNano())
	files := map[string][]byte{
		"apiserver.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"apiserver.key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		"ca.crt":        caPEM,
		"sa.key":        pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: saPriv}),
		"sa.pub":        pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub}),
		"tokens.csv":    []byte(token + ",ward-test-admin,ward-test-admin,system:masters\n"),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	addr := freeAddr(t)
	port := addr[strings.LastIndex(addr, ":")+1:]
	startProc(t, "kube-apiserver", apiserverBin,
		"--etcd-servers="+etcdClient,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+port,
		"--endpoint-reconciler-type=none",
		"--tls-cert-file="+filepath.Join(dir, "apiserver.crt"), "--tls-private-key-file="+filepath.Join(dir, "apiserver.key"),
		"--cert-dir="+filepath.Join(dir, "certs"),
		"--token-auth-file="+filepath.Join(dir, "tokens.csv"), "--authorization-mode=RBAC",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--service-account-issuer="+issuer,
		"--service-account-jwks-uri="+issuer+"openid/v1/jwks",
		"--service-account-key-file="+filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(dir, "sa.key"),
		"--enable-priority-and-fairness=false")
	cfg := &rest.Config{Host: "https://" + addr, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: caPEM}, QPS: 100, Burst: 200}
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitHTTP(t, "kube-apiserver", httpClient, cfg.Host+"/readyz", token, 60*time.Second)
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	os.WriteFile(filepath.Join(dir, "kubeconfig"), []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: %q, certificate-authority: %q}}]
users: [{name: admin, user: {token: %q}}]
contexts: [{name: test, context: {cluster: test, user: admin}}]
current-context: test
`, cfg.Host, filepath.Join(dir, "ca.crt"), token)), 0o600)
	startProc(t, "kube-controller-manager", controllerManagerBin, "--kubeconfig="+kubeconfig,
		"--controllers=deployment,replicaset", "--leader-elect=false",
		"--bind-address=127.0.0.1", "--secure-port=0", "--use-service-account-credentials=false")
	return &kubeCluster{URL: cfg.Host, Kubeconfig: kubeconfig, Config: cfg, Client: client}
}

// raw GETs a path from the API server.
func (k *kubeCluster) raw(t *testing.T, path string) []byte {
	t.Helper()
	b, err := k.Client.CoreV1().RESTClient().Get().AbsPath(path).DoRaw(context.Background())
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return b
}
