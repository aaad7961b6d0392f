package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewFailsCleanly: when a step of New fails, New says which and why,
// and what the steps before it opened (the listener, the database, the
// registries' background work) is closed again: the address is free.
func TestNewFailsCleanly(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(t *testing.T, cfg *Config)
		wantErr string
	}{
		{"unknown storage", func(_ *testing.T, c *Config) { c.Storage = "etcd" }, `--storage "etcd" is not known`},
		{"postgres without a DSN", func(_ *testing.T, c *Config) { c.Storage = "postgres" }, "--storage postgres needs --dsn"},
		{"short KEK file", func(t *testing.T, c *Config) {
			c.KEKFile = filepath.Join(t.TempDir(), "kek")
			if err := os.WriteFile(c.KEKFile, []byte("too short"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "must hold 32 bytes"},
		{"missing KEK file", func(t *testing.T, c *Config) { c.KEKFile = filepath.Join(t.TempDir(), "absent") }, "read key-encryption key"},
		// A step after the stores and signers: everything before it is open.
		{"issuer CA file without PEM", func(t *testing.T, c *Config) {
			c.IssuerCAFile = filepath.Join(t.TempDir(), "ca.pem")
			if err := os.WriteFile(c.IssuerCAFile, []byte("not a certificate"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "holds no PEM certificate"},
		{"blob directory is a file", func(t *testing.T, c *Config) {
			c.BlobDir = filepath.Join(t.TempDir(), "blobs")
			if err := os.WriteFile(c.BlobDir, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "blobs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("WARD_KEK", "")
			addr := freeAddr(t)
			cfg := Config{Addr: addr, DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			tc.setup(t, &cfg)
			s, err := New(context.Background(), cfg)
			if err == nil {
				s.Close()
				t.Fatalf("New succeeded, want an error containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New: %v, want an error containing %q", err, tc.wantErr)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				t.Fatalf("the failed New left %s bound: %v", addr, err)
			}
			ln.Close()
		})
	}
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
