package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/clientsecret"
	"github.com/ward-id/ward/internal/pki"
	"github.com/ward-id/ward/internal/shellquote"
	"github.com/ward-id/ward/internal/storage"
)

// AdminFile is the bootstrap admin's credentials file in the data directory.
const AdminFile = "admin.json"

// Admin is the content of admin.json: everything a client needs to act as
// the bootstrap admin service principal. Its shape is public (the CLI and
// SDK programs read it), so it is defined in the client package.
type Admin = client.Admin

// bootstrap makes sure the store holds a tenant, a default subscription and
// the admin service principal, and that admin.json describes them. It
// creates them on first start only; later starts read admin.json.
func bootstrap(ctx context.Context, store storage.Storage, dataDir, publicURL string, now time.Time) (Admin, error) {
	path := filepath.Join(dataDir, AdminFile)
	// One subscription is enough to know that this is not the first start.
	subs, _, err := store.ListSubscriptions(ctx, storage.Page{Limit: 1})
	if err != nil {
		return Admin{}, err
	}
	if len(subs) > 0 {
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return Admin{}, fmt.Errorf("the database is already initialized but %s is missing: copy admin.json from the data directory of the server that created it", path)
		}
		if err != nil {
			return Admin{}, err
		}
		var a Admin
		if err := json.Unmarshal(b, &a); err != nil {
			return Admin{}, fmt.Errorf("%s: %w", path, err)
		}
		// Installations from before the record: the URL admin.json still
		// holds is the one issuers were published at.
		if err := recordPublicURL(dataDir, strings.TrimSuffix(a.AuthorityHost, "/"), now); err != nil {
			return Admin{}, err
		}
		// The public URL may change between starts; keep the file current.
		if a.AuthorityHost != publicURL+"/" || a.ResourceManager != publicURL+"/" {
			a.AuthorityHost, a.ResourceManager = publicURL+"/", publicURL+"/"
			if err := writeAdmin(path, a); err != nil {
				return Admin{}, err
			}
		}
		return a, nil
	}

	a := Admin{
		TenantID: uuid.NewString(), SubscriptionID: uuid.NewString(), ClientID: uuid.NewString(),
		AuthorityHost: publicURL + "/", ResourceManager: publicURL + "/",
	}
	secret, hint := clientsecret.Generate()
	a.ClientSecret = secret
	// The file is written before the database so that a crash in between
	// leaves a retryable state (no subscription yet), never a database whose
	// admin credentials are lost.
	if err := writeAdmin(path, a); err != nil {
		return Admin{}, err
	}
	if err := recordPublicURL(dataDir, publicURL, now); err != nil {
		return Admin{}, err
	}
	steps := []func() error{
		func() error {
			return store.CreateTenant(ctx, storage.Tenant{ID: a.TenantID, DisplayName: "Ward", CreatedAt: now})
		},
		func() error {
			return store.CreateServicePrincipal(ctx, storage.ServicePrincipal{ObjectID: uuid.NewString(), AppID: a.ClientID, TenantID: a.TenantID, DisplayName: "ward-bootstrap-admin", CreatedAt: now})
		},
		func() error {
			return store.AddClientSecret(ctx, clientsecret.New(uuid.NewString(), a.ClientID, "bootstrap", secret, hint, now, time.Time{}))
		},
		func() error {
			return store.CreateSubscription(ctx, storage.Subscription{ID: a.SubscriptionID, TenantID: a.TenantID, DisplayName: "Ward default subscription", State: "Enabled", CreatedAt: now})
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return Admin{}, fmt.Errorf("bootstrap: %w", err)
		}
	}
	return a, nil
}

func writeAdmin(path string, a Admin) error {
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return err
	}
	return pki.WriteFileAtomic(path, append(b, '\n'), 0o600)
}

// recordPublicURL writes the public URL that hosted issuers are published
// at into the data directory, unless a record exists.
func recordPublicURL(dataDir, publicURL string, now time.Time) error {
	path := filepath.Join(dataDir, client.PublicURLFile)
	if _, err := os.Stat(path); err == nil || publicURL == "" {
		return nil
	}
	return writePublicURL(path, publicURL, now)
}

func writePublicURL(path, publicURL string, now time.Time) error {
	b, err := json.MarshalIndent(client.PublicURLRecord{PublicURL: publicURL, RecordedAt: now}, "", "  ")
	if err != nil {
		return err
	}
	return pki.WriteFileAtomic(path, append(b, '\n'), 0o644)
}

// recordedPublicURL is the recorded public URL, or, for a data directory
// from before the record, the one admin.json holds; "" on a first start.
func recordedPublicURL(dataDir string) string {
	var rec client.PublicURLRecord
	if b, err := os.ReadFile(filepath.Join(dataDir, client.PublicURLFile)); err == nil && json.Unmarshal(b, &rec) == nil && rec.PublicURL != "" {
		return strings.TrimSuffix(rec.PublicURL, "/")
	}
	var a Admin
	if b, err := os.ReadFile(filepath.Join(dataDir, AdminFile)); err == nil && json.Unmarshal(b, &a) == nil {
		return strings.TrimSuffix(a.AuthorityHost, "/")
	}
	return ""
}

// CheckPublicURL warns, before the server starts, when it is about to serve
// at a public URL other than the recorded one. Every hosted cluster issuer
// URL is derived from the public URL, so a restart on another --addr
// without --public-url silently changes them all, and federated
// credentials naming the old issuer URLs stop matching. A move made on
// purpose, with --public-url, is warned about once and then recorded; an
// accidental one is warned about at every start.
func CheckPublicURL(cfg Config) {
	if err := cfg.defaults(); err != nil {
		return // Run reports it
	}
	current := cfg.PublicURL
	if current == "" {
		a, err := net.ResolveTCPAddr("tcp", cfg.Addr)
		if err != nil || a.Port == 0 {
			return // a random port: the URL changes at every start by design
		}
		current = "https://" + publicHost(a)
	}
	recorded := recordedPublicURL(cfg.DataDir)
	if recorded == "" || strings.EqualFold(recorded, current) {
		return
	}
	const msg = "Ward's public URL changed: every hosted cluster issuer URL changed with it, and federated credentials that name the old issuer URLs no longer match"
	if cfg.PublicURL == "" {
		cfg.Logger.Warn(msg, "old", recorded, "new", current,
			"fix", "pass --public-url "+shellquote.Quote(recorded)+" to keep the old URLs (and serve there again: its --addr, or a proxy or port forward to this one); ward aks show and ward doctor name the affected credentials")
		return
	}
	cfg.Logger.Warn(msg, "old", recorded, "new", current,
		"fix", "if the move is not intended, restart with --public-url "+shellquote.Quote(recorded)+"; otherwise update the federated credentials (ward doctor names them) and kube-apiserver's flags (ward aks show-apiserver-flags); "+current+" is recorded from now on")
	if err := writePublicURL(filepath.Join(cfg.DataDir, client.PublicURLFile), current, time.Now().UTC()); err != nil {
		cfg.Logger.Warn("cannot record the public URL", "err", err)
	}
}
