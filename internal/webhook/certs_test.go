package webhook

import (
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/pki"
)

func writePair(t *testing.T, dir, host string) {
	t.Helper()
	ca, caKey, err := pki.NewCA("test", "test", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	der, key, err := pki.IssueServing(ca, caKey, host, []string{host}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600)
}

func servedHost(t *testing.T, d *DirCertificate) string {
	t.Helper()
	c, err := d.GetCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.Leaf.DNSNames[0]
}

// TestDirCertificateReload: a new pair is picked up; a broken one is
// refused and the previous pair keeps serving.
func TestDirCertificateReload(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewDirCertificate(dir, slog.Default()); err == nil {
		t.Fatal("empty directory accepted")
	}
	writePair(t, dir, "one.example")
	d, err := NewDirCertificate(dir, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if h := servedHost(t, d); h != "one.example" {
		t.Fatalf("serving %s", h)
	}
	writePair(t, dir, "two.example")
	if err := d.reload(); err != nil {
		t.Fatal(err)
	}
	if h := servedHost(t, d); h != "two.example" {
		t.Fatalf("after rotation serving %s", h)
	}
	os.WriteFile(filepath.Join(dir, "tls.key"), []byte("garbage"), 0o600)
	if err := d.reload(); err == nil {
		t.Fatal("broken key accepted")
	}
	if h := servedHost(t, d); h != "two.example" {
		t.Fatalf("after a bad write serving %s", h)
	}
}

func TestTLSVersion(t *testing.T) {
	for in, ok := range map[string]bool{"": true, "1.3": true, "1.2": true, "1.1": false, "tls13": false} {
		if _, err := TLSVersion(in); (err == nil) != ok {
			t.Errorf("%q: %v", in, err)
		}
	}
}
