package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/ward-id/ward/internal/agentproto"
)

// Attestor proves to Ward which machine (or node pool) the agent serves.
type Attestor interface {
	// Attestation returns the JWT to send as the bearer credential.
	Attestation(ctx context.Context) (string, error)
}

// Machine is what join records about the machine in the state directory.
type Machine struct {
	MachineID  string `json:"machineId"`
	ResourceID string `json:"resourceId"`
	TenantID   string `json:"tenantId"`
	Server     string `json:"server"`
	Audience   string `json:"audience"`
}

// KeyAttestor signs short assertions with the machine's key pair, the way
// a service principal signs certificate assertions: header x5t#S256 of the
// registered certificate, iss = sub = the machine ID. An assertion is
// reused until half its lifetime has passed. It reloads the key when
// `ward agent join` replaced it.
type KeyAttestor struct {
	Dir string
	Now func() time.Time

	mu       sync.Mutex
	loadedAt time.Time // key file's modification time when loaded
	signer   jose.Signer
	machine  Machine
	cached   string
	expires  time.Time
}

// assertionLifetime is how long each assertion is valid.
const assertionLifetime = agentproto.MaxAssertionLifetime

func (k *KeyAttestor) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

// Machine returns the machine the key belongs to.
func (k *KeyAttestor) Machine() (Machine, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.load(); err != nil {
		return Machine{}, err
	}
	return k.machine, nil
}

// load (re)reads the key when its file changed.
func (k *KeyAttestor) load() error {
	fi, err := os.Stat(filepath.Join(k.Dir, FileKey))
	if err != nil {
		return fmt.Errorf("no machine key in %s: run 'ward agent join' first: %w", k.Dir, err)
	}
	if k.signer != nil && fi.ModTime().Equal(k.loadedAt) {
		return nil
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s is readable by others (mode %o): it must be 0600", filepath.Join(k.Dir, FileKey), fi.Mode().Perm())
	}
	m, err := ReadMachine(k.Dir)
	if err != nil {
		return err
	}
	keyPEM, err := os.ReadFile(filepath.Join(k.Dir, FileKey))
	if err != nil {
		return err
	}
	certPEM, err := os.ReadFile(filepath.Join(k.Dir, FileCert))
	if err != nil {
		return err
	}
	kb, _ := pem.Decode(keyPEM)
	cb, _ := pem.Decode(certPEM)
	if kb == nil || cb == nil {
		return fmt.Errorf("%s or %s is not PEM", FileKey, FileCert)
	}
	priv, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return fmt.Errorf("%s: %w", FileKey, err)
	}
	ec, ok := priv.(*ecdsa.PrivateKey)
	if !ok {
		return fmt.Errorf("%s: not an ECDSA key", FileKey)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: ec},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("x5t#S256", Thumbprint(cb.Bytes)))
	if err != nil {
		return err
	}
	k.signer, k.machine, k.loadedAt, k.cached = sig, m, fi.ModTime(), ""
	return nil
}

// Attestation returns a signed assertion, reused until half its life.
func (k *KeyAttestor) Attestation(context.Context) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.load(); err != nil {
		return "", err
	}
	now := k.now()
	if k.cached != "" && now.Before(k.expires.Add(-assertionLifetime/2)) {
		return k.cached, nil
	}
	id := k.machine.MachineID
	exp := now.Add(assertionLifetime)
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	tok, err := jwt.Signed(k.signer).Claims(jwt.Claims{Issuer: id, Subject: id, Audience: jwt.Audience{k.machine.Audience},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)), Expiry: jwt.NewNumericDate(exp),
		ID: base64.RawURLEncoding.EncodeToString(b)}).Serialize()
	if err != nil {
		return "", err
	}
	k.cached, k.expires = tok, exp
	return tok, nil
}

// Thumbprint is the base64url SHA-256 of a DER certificate (x5t#S256).
func Thumbprint(der []byte) string {
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// TokenFileAttestor presents a projected service-account token, re-read
// from its file (kubelet rotates it) at most every ten seconds.
type TokenFileAttestor struct {
	Path string

	mu     sync.Mutex
	token  string
	readAt time.Time
}

// Attestation returns the token file's contents.
func (t *TokenFileAttestor) Attestation(context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && time.Since(t.readAt) < 10*time.Second {
		return t.token, nil
	}
	b, err := os.ReadFile(t.Path)
	if err != nil {
		return "", fmt.Errorf("read the node agent's service-account token: %w", err)
	}
	t.token, t.readAt = strings.TrimSpace(string(b)), time.Now()
	return t.token, nil
}

// ReadMachine reads machine.json from a state directory.
func ReadMachine(dir string) (Machine, error) {
	var m Machine
	b, err := os.ReadFile(filepath.Join(dir, FileMachine))
	if err != nil {
		return m, fmt.Errorf("no %s in %s: run 'ward agent join' first: %w", FileMachine, dir, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%s: %w", FileMachine, err)
	}
	if m.MachineID == "" || m.Audience == "" {
		return m, fmt.Errorf("%s names no machine", FileMachine)
	}
	return m, nil
}

// JoinConfig is what `ward agent join` is given.
type JoinConfig struct {
	Server string // Ward's URL as this machine reaches it
	Token  string // the one-time join token
	Dir    string // state directory, created 0700
	// CAPEM is Ward's CA, copied into the state directory; nil trusts the
	// system's roots.
	CAPEM []byte
	Ward  *WardClient
}

// Join generates the machine's key pair (the private key never leaves the
// state directory), registers its certificate with the join token and
// writes the state directory. A previous key is replaced only once Ward
// accepted the new one.
func Join(ctx context.Context, cfg JoinConfig) (Machine, error) {
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return Machine{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Machine{}, err
	}
	host, _ := os.Hostname()
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "ward-agent " + host},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(100 * 365 * 24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return Machine{}, err
	}
	resp, err := cfg.Ward.Join(ctx, agentproto.JoinRequest{JoinToken: cfg.Token, Certificate: base64.StdEncoding.EncodeToString(der)})
	if err != nil {
		return Machine{}, err
	}
	m := Machine{MachineID: resp.MachineID, ResourceID: resp.ResourceID, TenantID: resp.TenantID, Server: strings.TrimSuffix(cfg.Server, "/"), Audience: resp.Audience}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Machine{}, err
	}
	mj, _ := json.MarshalIndent(m, "", "  ")
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{FileCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644},
		{FileMachine, append(mj, '\n'), 0o644},
	}
	if cfg.CAPEM != nil {
		files = append(files, struct {
			name string
			data []byte
			mode os.FileMode
		}{FileCA, cfg.CAPEM, 0o644})
	}
	// The key last: the agent reloads when the key file changes.
	files = append(files, struct {
		name string
		data []byte
		mode os.FileMode
	}{FileKey, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600})
	for _, f := range files {
		if err := writeAtomic(filepath.Join(cfg.Dir, f.name), f.data, f.mode); err != nil {
			return Machine{}, err
		}
	}
	return m, nil
}

// writeAtomic writes a file by renaming a temporary one over it, with mode
// set before any byte is written.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
