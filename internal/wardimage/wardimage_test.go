package wardimage

import (
	"archive/tar"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

func TestTagOf(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version string
		setting map[string]string
		want    string
	}{
		{"module version", "v1.4.0", nil, "v1.4.0"},
		{"pseudo-version with +dirty", "v0.0.0-20261206081440-0daa97d1a2b3+dirty", nil, "v0.0.0-20261206081440-0daa97d1a2b3-dirty"},
		{"devel with a revision", "(devel)", map[string]string{"vcs.revision": "0daa97d1a2b3c4d5e6f7", "vcs.modified": "false"}, "0daa97d1a2b3"},
		{"devel with a modified tree", "(devel)", map[string]string{"vcs.revision": "0daa97d1a2b3c4d5e6f7", "vcs.modified": "true"}, "0daa97d1a2b3-dirty"},
		{"nothing recorded", "(devel)", nil, "dev"},
		{"no version at all", "", nil, "dev"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info := &debug.BuildInfo{Main: debug.Module{Version: tc.version}}
			for k, v := range tc.setting {
				info.Settings = append(info.Settings, debug.BuildSetting{Key: k, Value: v})
			}
			if got := tagOf(info); got != tc.want {
				t.Fatalf("tagOf(%q, %v) = %q, want %q", tc.version, tc.setting, got, tc.want)
			}
		})
	}
}

// TestPlatformRefuses: what is not a static Linux ward binary is refused
// before anything is built, saying what it is.
func TestPlatformRefuses(t *testing.T) {
	text := filepath.Join(t.TempDir(), "ward")
	if err := os.WriteFile(text, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path, want string }{
		{"a script", text, "is not a Go binary"},
		{"another Go program", self, "not ward"},
		{"nothing there", filepath.Join(t.TempDir(), "absent"), "is not a Go binary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Platform(tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Platform(%s) = %v, want an error with %q", tc.path, err, tc.want)
			}
			if _, err := Build(Config{Binary: tc.path}); err == nil {
				t.Fatalf("Build(%s) succeeded", tc.path)
			}
		})
	}
}

func testCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestReadBundle(t *testing.T) {
	dir := t.TempDir()
	ca := testCA(t)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1}})
	for _, tc := range []struct {
		name string
		data []byte
		want string // "" = accepted
	}{
		{"one certificate", ca, ""},
		{"two certificates", append(append([]byte{}, ca...), ca...), ""},
		{"a private key too", append(append([]byte{}, ca...), key...), "only certificates belong in it"},
		{"no PEM", []byte("hello"), "holds no PEM certificate"},
		{"a broken certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2}}), "the CA bundle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readBundle(write(strings.ReplaceAll(tc.name, " ", "-"), tc.data))
			if tc.want == "" {
				if err != nil || !bytes.Equal(got, tc.data) {
					t.Fatalf("readBundle = %q, %v; want the file back", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("readBundle = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestLayerTar: the layer holds the binary at /ward (0755) and the bundle
// at the path Go reads (0644, under its directories), all owned by root
// with a fixed time, and is the same bytes every time it is opened (the
// layer is read once for its digest and again to be pushed).
func TestLayerTar(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "ward")
	body := bytes.Repeat([]byte("ward binary "), 10000)
	if err := os.WriteFile(bin, body, 0o700); err != nil {
		t.Fatal(err)
	}
	ca := testCA(t)
	read := func() []byte {
		rc, err := layerTar(bin, int64(len(body)), ca)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	first := read()
	if !bytes.Equal(first, read()) {
		t.Fatal("two reads of the layer differ")
	}
	tr := tar.NewReader(bytes.NewReader(first))
	type entry struct {
		mode int64
		data []byte
	}
	got := map[string]entry{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s: uid %d gid %d mtime %v, want root and the epoch", h.Name, h.Uid, h.Gid, h.ModTime)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = entry{h.Mode, b}
	}
	if e := got["ward"]; e.mode != 0o755 || !bytes.Equal(e.data, body) {
		t.Errorf("ward: mode %o, %d bytes; want 0755 and the binary", e.mode, len(e.data))
	}
	if e := got["etc/ssl/certs/ca-certificates.crt"]; e.mode != 0o644 || !bytes.Equal(e.data, ca) {
		t.Errorf("CA bundle: mode %o, %q", e.mode, e.data)
	}
	for _, d := range []string{"etc/", "etc/ssl/", "etc/ssl/certs/"} {
		if e, ok := got[d]; !ok || e.mode != 0o755 {
			t.Errorf("directory %s: %v %o", d, ok, e.mode)
		}
	}
	if len(got) != 5 {
		t.Errorf("entries: %v", len(got))
	}

	// A binary that changes size while it is read is an error, not a
	// truncated layer.
	rc, _ := layerTar(bin, int64(len(body))+1, nil)
	if _, err := io.ReadAll(rc); err == nil {
		t.Fatal("a short read of the binary was not reported")
	}
}
