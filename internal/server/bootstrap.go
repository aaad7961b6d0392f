package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/clientsecret"
	"github.com/ward-id/ward/internal/pki"
	"github.com/ward-id/ward/internal/rbac"
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
// the admin service principal with Owner and Key Vault Secrets Officer at
// "/", and that admin.json describes them. It creates them on the first
// start only, once for the database (see initialized); later starts read
// admin.json and change nothing an operator may have changed since: the
// admin may have been demoted, given new secrets or deleted.
func bootstrap(ctx context.Context, store storage.Storage, dataDir, publicURL string, now time.Time) (Admin, error) {
	path := filepath.Join(dataDir, AdminFile)
	done, err := initialized(ctx, store)
	if err != nil {
		return Admin{}, err
	}
	if done {
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
	objectID := uuid.NewString()
	// The subscription comes last: until it exists a retry starts over.
	steps := []func() error{
		func() error {
			return store.CreateTenant(ctx, storage.Tenant{ID: a.TenantID, DisplayName: "Ward", CreatedAt: now})
		},
		func() error {
			return store.CreateServicePrincipal(ctx, storage.ServicePrincipal{ObjectID: objectID, AppID: a.ClientID, TenantID: a.TenantID, DisplayName: "ward-bootstrap-admin", CreatedAt: now})
		},
		func() error {
			return store.AddClientSecret(ctx, clientsecret.New(uuid.NewString(), a.ClientID, "bootstrap", secret, hint, now, time.Time{}))
		},
		func() error { return grantAdminRoles(ctx, store, objectID, now) },
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

// initialized answers whether the database was bootstrapped: the record
// bootstrapShared writes once it has, or, for a database of a version from
// before the record, its default subscription (the last thing a first
// start creates). Such a database is never bootstrapped again either: the
// versions before the record granted the admin its roles at every start,
// so a role it lacks now was taken away by an operator.
func initialized(ctx context.Context, store storage.Storage) (bool, error) {
	_, err := store.GetSetting(ctx, settingBootstrapped)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return false, err
	}
	subs, _, err := store.ListSubscriptions(ctx, storage.Page{Limit: 1})
	if err != nil {
		return false, err
	}
	return len(subs) > 0, nil
}

// bootstrapRecord is the setting that says the database was bootstrapped.
type bootstrapRecord struct {
	At time.Time `json:"at"`
}

// recordBootstrapped writes the record unless another replica (or an
// earlier start) did.
func recordBootstrapped(ctx context.Context, store storage.Storage, now time.Time) error {
	b, err := json.Marshal(bootstrapRecord{At: now})
	if err != nil {
		return err
	}
	if err := store.CreateSetting(ctx, settingBootstrapped, string(b)); err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
		return fmt.Errorf("record the bootstrap: %w", err)
	}
	return nil
}

// adminRoles are the roles an admin gets at "/": the first start's, and
// each one `ward admin create` makes.
var adminRoles = [...]string{rbac.OwnerID, rbac.KeyVaultSecretsOfficerID}

// grantAdminRoles gives the principal adminRoles at "/", in the store
// before any view is loaded from it (first start), or through the change
// feed to running replicas (ward admin create).
func grantAdminRoles(ctx context.Context, store storage.Storage, objectID string, now time.Time) error {
	for _, role := range adminRoles {
		if _, err := store.FindRoleAssignment(ctx, "/", objectID, role); err == nil {
			continue
		}
		err := store.CreateRoleAssignment(ctx, storage.RoleAssignment{ID: uuid.NewString(), Scope: "/", PrincipalID: strings.ToLower(objectID), PrincipalType: "ServicePrincipal",
			RoleDefinitionID: strings.ToLower(role), CreatedBy: "ward-bootstrap", CreatedAt: now, UpdatedAt: now})
		if err != nil {
			return fmt.Errorf("grant the admin role %s at /: %w", role, err)
		}
	}
	return nil
}

// checkAdmin warns when admin.json no longer signs in: its principal was
// deleted or its secret removed, as an operator may. The server serves
// regardless; `ward admin create` makes a new admin.
func checkAdmin(ctx context.Context, store storage.Storage, a Admin, path string, log *slog.Logger) {
	const fix = "if no other admin remains, stop the server and run ward admin create with its --data (or --storage postgres --dsn) and KEK"
	if _, err := store.GetServicePrincipalByAppID(ctx, a.ClientID); errors.Is(err, storage.ErrNotFound) {
		log.Warn("admin.json is stale: its service principal was deleted", "file", path, "clientId", a.ClientID, "fix", fix)
		return
	} else if err != nil {
		log.Warn("cannot check admin.json's service principal", "err", err)
		return
	}
	secrets, _, err := store.ListClientSecrets(ctx, a.ClientID, storage.Page{Limit: 1000})
	if err != nil {
		log.Warn("cannot check admin.json's secret", "err", err)
		return
	}
	if _, ok := clientsecret.Match(secrets, a.ClientSecret); !ok {
		log.Warn("admin.json is stale: its client secret was removed from the principal (or has expired)", "file", path, "clientId", a.ClientID, "fix", "use the principal's new secret; "+fix)
	}
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
