// Package pki creates and loads the local certificate authority and the
// serving certificate Ward uses for HTTPS on first start. The CA is written
// as ca.pem so that clients can trust Ward (SSL_CERT_FILE, REQUESTS_CA_BUNDLE,
// NODE_EXTRA_CA_CERTS); the serving certificate is re-issued when its host
// names change or it nears expiry.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// File names inside the data directory.
const (
	CAFile        = "ca.pem"
	CAKeyFile     = "ca-key.pem"
	serverFile    = "server.pem"
	serverKeyFile = "server-key.pem"
)

// DefaultHosts are the names every serving certificate covers: loopback, and
// the vault host names used by the Key Vault–compatible data plane, the
// container registries' login servers, and the account host names of the
// Blob data plane (<account>.blob.localhost: a wildcard covers one label only).
var DefaultHosts = []string{"127.0.0.1", "::1", "localhost", "*.localhost", "vault.localhost", "*.vault.localhost", "*.azurecr.localhost", "*.blob.localhost"}

// Load returns a TLS certificate for the given extra hosts, creating the CA
// and serving certificate in dir when they are missing, and re-issuing the
// serving certificate when it does not cover every host or expires within 30
// days. now is injected so that expiry is testable.
//
// The chain it returns is the leaf alone, with Leaf set. The CA is a root
// (self-signed, the one that signs the leaf directly): a client either has it
// in its trust store already or cannot use it, so sending it costs every new
// connection ~400 bytes and, in Go's verifier, a second signature check of the
// leaf (once against the root from the trust store, once against the same
// root offered as an intermediate), for nothing.
func Load(dir string, extraHosts []string, now func() time.Time) (tls.Certificate, error) {
	hosts := append(slices.Clone(DefaultHosts), extraHosts...)
	slices.Sort(hosts)
	hosts = slices.Compact(hosts)
	caCert, caKey, err := loadOrCreateCA(dir, now())
	if err != nil {
		return tls.Certificate{}, err
	}
	certPath, keyPath := filepath.Join(dir, serverFile), filepath.Join(dir, serverKeyFile)
	if c, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil && Covers(c.Leaf, hosts, now()) {
		return c, nil
	}
	der, key, err := IssueServing(caCert, caKey, "ward", hosts, now(), 397*24*time.Hour)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := writePEM(certPath, "CERTIFICATE", der, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeKey(keyPath, key); err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("parse serving certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// Covers reports whether leaf names every host (IP or DNS name) and stays
// valid for 30 more days: the test for re-issuing a serving certificate.
func Covers(leaf *x509.Certificate, hosts []string, now time.Time) bool {
	if leaf == nil || now.Add(30*24*time.Hour).After(leaf.NotAfter) {
		return false
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(leaf.IPAddresses, ip.Equal) {
				return false
			}
		} else if !slices.Contains(leaf.DNSNames, h) {
			return false
		}
	}
	return true
}

// EnsureCA creates the CA files in dir unless they exist.
func EnsureCA(dir string, now time.Time) error {
	_, _, err := loadOrCreateCA(dir, now)
	return err
}

func loadOrCreateCA(dir string, now time.Time) (*x509.Certificate, crypto.Signer, error) {
	certPath, keyPath := filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile)
	if pair, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil {
		signer, ok := pair.PrivateKey.(crypto.Signer)
		if !ok {
			return nil, nil, errors.New("ca key is not a signing key")
		}
		return pair.Leaf, signer, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("load CA from %s: %w (remove ca.pem and ca-key.pem to create a new CA)", dir, err)
	}
	cert, key, err := NewCA("Ward local CA", "Ward", now, 10*365*24*time.Hour)
	if err != nil {
		return nil, nil, err
	}
	der := cert.Raw
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	if err := writeKey(keyPath, key); err != nil {
		return nil, nil, err
	}
	if err := writePEM(certPath, "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// NewCA creates a self-signed P-256 certificate authority in memory, valid
// from an hour before now (clock skew) for the given duration.
func NewCA(commonName, org string, now time.Time, validity time.Duration) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{org}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

// IssueServing issues a TLS server certificate for hosts (IP addresses or
// DNS names) signed by the CA, with a new P-256 key.
func IssueServing(ca *x509.Certificate, caKey crypto.Signer, commonName string, hosts []string, now time.Time, validity time.Duration) ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("issue serving certificate: %w", err)
	}
	return der, key, nil
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

// writePEM writes atomically (temp file, fsync, rename) so a crash never
// leaves a half-written certificate or key.
func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return WriteFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

// WriteFileAtomic writes data to path through a synced temporary file.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n
}
