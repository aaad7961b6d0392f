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
	"strconv"
	"strings"
	"sync"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/ward-id/ward/internal/storage"

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

// AppsConfig configures Apps.
type AppsConfig struct {
	// Dir holds the registries' storage and the token root bundle.
	Dir    string
	Hosts  Hosts
	Tokens *Tokens
	// KEK derives the secret that signs upload state, the same on every
	// replica.
	KEK    []byte
	Logger *slog.Logger // default slog.Default()
}

// NewApps prepares in-process registries under cfg.Dir, writing the token
// root bundle they trust to Dir/token-root.pem. The registries' background
// work (upload purging) runs until ctx ends.
func NewApps(ctx context.Context, cfg AppsConfig) (*Apps, error) {
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("registry storage: %w", err)
	}
	bundle := filepath.Join(cfg.Dir, "token-root.pem")
	if err := os.WriteFile(bundle, cfg.Tokens.RootPEM(), 0o644); err != nil {
		return nil, fmt.Errorf("registry token root: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Apps{dir: cfg.Dir, hosts: cfg.Hosts, tokens: cfg.Tokens, secret: UploadSecret(cfg.KEK), bundle: bundle, log: cfg.Logger, ctx: ctx, apps: map[string]*handlers.App{}}, nil
}

// UploadSecret is the http.secret of a registry, derived from the KEK.
func UploadSecret(kek []byte) string {
	mac := hmac.New(sha256.New, kek)
	mac.Write([]byte("ward registry upload secret v1"))
	return hex.EncodeToString(mac.Sum(nil))
}

// ServeRegistry hands the request to reg's registry. Each incarnation of a
// name (its creation time) has its own storage, so a registry deleted with
// its group and created again starts empty.
func (a *Apps) ServeRegistry(w http.ResponseWriter, r *http.Request, reg storage.Registry) {
	app, err := a.app(reg)
	if err != nil {
		a.log.Error("in-process registry", "registry", reg.Name, "err", err)
		writeErr(w, http.StatusInternalServerError, "UNKNOWN", "the registry could not start")
		return
	}
	app.ServeHTTP(w, r)
}

// ConfigFor is the configuration of one registry's in-process instance.
func (a *Apps) ConfigFor(reg storage.Registry) string {
	return Config(ConfigOptions{LoginServer: a.hosts.LoginServer(reg.Name), Issuer: a.tokens.IssuerName(), RootCertBundle: a.bundle,
		RootDirectory: filepath.Join(a.dir, strings.ToLower(reg.Name), strconv.FormatInt(reg.CreatedAt.UnixMicro(), 10)), Secret: a.secret})
}

func (a *Apps) app(reg storage.Registry) (app *handlers.App, err error) {
	key := strings.ToLower(reg.Name) + "@" + strconv.FormatInt(reg.CreatedAt.UnixMicro(), 10)
	a.mu.Lock()
	defer a.mu.Unlock()
	if app, ok := a.apps[key]; ok {
		return app, nil
	}
	cfg, err := configuration.Parse(strings.NewReader(a.ConfigFor(reg)))
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
	a.apps[key] = app
	return app, nil
}

// Forget stops a deleted registry's instances and removes its storage.
func (a *Apps) Forget(name string) {
	name = strings.ToLower(name)
	if name == "" || strings.ContainsAny(name, `/\.`) {
		return
	}
	a.mu.Lock()
	var stop []*handlers.App
	for key, app := range a.apps {
		if strings.HasPrefix(key, name+"@") {
			stop = append(stop, app)
			delete(a.apps, key)
		}
	}
	a.mu.Unlock()
	for _, app := range stop {
		_ = app.Shutdown()
	}
	_ = os.RemoveAll(filepath.Join(a.dir, name))
}
