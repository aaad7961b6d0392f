package pki

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLoadCreatesVerifiesAndReuses(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }

	first, err := Load(dir, []string{"ward.example", "10.0.0.7"}, clock)
	if err != nil {
		t.Fatal(err)
	}
	for name, mode := range map[string]os.FileMode{CAFile: 0o644, CAKeyFile: 0o600, serverFile: 0o644, serverKeyFile: 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s not written: %v", name, err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s has mode %v, want %v", name, fi.Mode().Perm(), mode)
		}
	}

	// The serving certificate chains to ca.pem for every default and extra host.
	caPEM, _ := os.ReadFile(filepath.Join(dir, CAFile))
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.pem holds no certificate")
	}
	leaf, _ := x509.ParseCertificate(first.Certificate[0])
	for _, host := range append([]string{"127.0.0.1", "::1", "localhost", "team-kv.vault.localhost", "ward.example", "10.0.0.7"}, DefaultHosts...) {
		if host[0] == '*' {
			host = "x" + host[1:]
		}
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: roots, CurrentTime: now}); err != nil {
			t.Errorf("serving certificate does not verify for %s: %v", host, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "other.example", Roots: roots, CurrentTime: now}); err == nil {
		t.Error("serving certificate verifies for a host it was not issued for")
	}

	// The same hosts later: the same certificate.
	again, err := Load(dir, []string{"10.0.0.7", "ward.example"}, clock)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Certificate[0], first.Certificate[0]) {
		t.Error("a second start with the same hosts re-issued the serving certificate")
	}

	// A new host: re-issued by the same CA.
	more, err := Load(dir, []string{"ward.example", "10.0.0.7", "new.example"}, clock)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(more.Certificate[0], first.Certificate[0]) {
		t.Error("a new host did not re-issue the serving certificate")
	}
	caAfter, _ := os.ReadFile(filepath.Join(dir, CAFile))
	if !bytes.Equal(caAfter, caPEM) {
		t.Error("re-issuing the serving certificate replaced the CA")
	}

	// Within 30 days of expiry: re-issued.
	now = leaf.NotAfter.Add(-29 * 24 * time.Hour)
	late, err := Load(dir, []string{"ward.example", "10.0.0.7", "new.example"}, clock)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(late.Certificate[0], more.Certificate[0]) {
		t.Error("a serving certificate 29 days from expiry was not re-issued")
	}

	// Every path (created, loaded as is, re-issued) serves the leaf alone,
	// parsed once: never the root, which a client must already trust.
	caBlock, _ := pem.Decode(caPEM)
	for name, c := range map[string]tls.Certificate{"created": first, "loaded": again, "re-issued for a host": more, "re-issued near expiry": late} {
		if len(c.Certificate) != 1 {
			t.Errorf("%s: chain of %d certificates, want the leaf alone", name, len(c.Certificate))
		}
		for i, der := range c.Certificate {
			if bytes.Equal(der, caBlock.Bytes) {
				t.Errorf("%s: certificate %d of the chain is the CA root", name, i)
			}
		}
		if c.Leaf == nil || !bytes.Equal(c.Leaf.Raw, c.Certificate[0]) {
			t.Errorf("%s: Leaf is not the parsed first certificate", name)
		}
	}
}

func TestLoadRefusesACorruptCA(t *testing.T) {
	dir := t.TempDir()
	if err := EnsureCA(dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, CAKeyFile), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir, nil, time.Now); err == nil {
		t.Fatal("Load accepted a corrupt CA key (it must not silently create a new CA)")
	}
}

func TestCovers(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	ca, key, err := NewCA("test", "test", now, 24*time.Hour*3650)
	if err != nil {
		t.Fatal(err)
	}
	der, _, err := IssueServing(ca, key, "ward", []string{"127.0.0.1", "localhost", "*.vault.localhost"}, now, 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	tests := []struct {
		name  string
		hosts []string
		at    time.Time
		want  bool
	}{
		{"all", []string{"127.0.0.1", "localhost", "*.vault.localhost"}, now, true},
		{"subset", []string{"localhost"}, now, true},
		{"IPv4 in IPv6 form", []string{"::ffff:127.0.0.1"}, now, true},
		{"missing IP", []string{"::1"}, now, false},
		{"missing name", []string{"ward.example"}, now, false},
		{"a wildcard is not another name", []string{"team.vault.localhost"}, now, false},
		{"expires within 30 days", []string{"localhost"}, now.Add(61 * 24 * time.Hour), false},
		{"nil leaf", nil, now, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := leaf
			if tt.hosts == nil {
				l = nil
			}
			if got := Covers(l, tt.hosts, tt.at); got != tt.want {
				t.Fatalf("Covers(%v at %v) = %v, want %v", tt.hosts, tt.at, got, tt.want)
			}
		})
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	for _, data := range []string{"one", "two, longer"} {
		if err := WriteFileAtomic(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		if string(got) != data {
			t.Fatalf("read %q, want %q", got, data)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("%d files left in the directory, want 1 (no temporary files)", len(entries))
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "f"), nil, 0o600); err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
}
