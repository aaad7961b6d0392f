package registry

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"

	// The registry's token access controller and filesystem driver
	// register themselves by import.
	_ "github.com/distribution/distribution/v3/registry/auth/token"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
)

// Apps runs one unmodified CNCF distribution registry per Ward registry,
// in-process, each configured by Config (token auth against Ward,
// filesystem storage under Dir/<name>), created on its first request.
type Apps struct {
	dir    string
	hosts  Hosts
	tokens *Tokens
	secret string
	bundle string
	log    *slog.Logger
	ctx    context.Context

	mu   sync.Mutex
	apps map[string]*handlers.App
}

// NewApps prepares in-process registries under dir, writing the token
// root bundle they trust to dir/token-root.pem. kek derives the secret
// that signs upload state, the same on every replica.
func NewApps(ctx context.Context, dir string, hosts Hosts, tokens *Tokens, kek []byte, log *slog.Logger) (*Apps, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("registry storage: %w", err)
	}
	bundle := filepath.Join(dir, "token-root.pem")
	if err := os.WriteFile(bundle, tokens.RootPEM(), 0o644); err != nil {
		return nil, fmt.Errorf("registry token root: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Apps{dir: dir, hosts: hosts, tokens: tokens, secret: UploadSecret(kek), bundle: bundle, log: log, ctx: ctx, apps: map[string]*handlers.App{}}, nil
}

// UploadSecret is the http.secret of a registry, derived from the KEK.
func UploadSecret(kek []byte) string {
	mac := hmac.New(sha256.New, kek)
	mac.Write([]byte("ward registry upload secret v1"))
	return hex.EncodeToString(mac.Sum(nil))
}

// ServeHTTP hands the request to the registry of its host.
func (a *Apps) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, _ := a.hosts.RegistryFromHost(r.Host)
	app, err := a.app(name)
	if err != nil {
		a.log.Error("in-process registry", "registry", name, "err", err)
		writeErr(w, http.StatusInternalServerError, "UNKNOWN", "the registry could not start")
		return
	}
	app.ServeHTTP(w, r)
}

// ConfigFor is the configuration of one registry's in-process instance.
func (a *Apps) ConfigFor(name string) string {
	return Config(ConfigOptions{LoginServer: a.hosts.LoginServer(name), Issuer: a.tokens.IssuerName(), RootCertBundle: a.bundle,
		RootDirectory: filepath.Join(a.dir, strings.ToLower(name)), Secret: a.secret})
}

func (a *Apps) app(name string) (app *handlers.App, err error) {
	name = strings.ToLower(name)
	a.mu.Lock()
	defer a.mu.Unlock()
	if app, ok := a.apps[name]; ok {
		return app, nil
	}
	cfg, err := configuration.Parse(strings.NewReader(a.ConfigFor(name)))
	if err != nil {
		return nil, err
	}
	// NewApp panics on a configuration it cannot serve.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("start the registry: %v", p)
		}
	}()
	app = handlers.NewApp(a.ctx, cfg)
	a.apps[name] = app
	return app, nil
}

// Forget stops a deleted registry's instance and removes its storage.
func (a *Apps) Forget(name string) {
	name = strings.ToLower(name)
	a.mu.Lock()
	app := a.apps[name]
	delete(a.apps, name)
	a.mu.Unlock()
	if app != nil {
		_ = app.Shutdown()
	}
	if name != "" && !strings.ContainsAny(name, `/\.`) {
		_ = os.RemoveAll(filepath.Join(a.dir, name))
	}
}
