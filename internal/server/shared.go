package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/clientsecret"
	"github.com/ward-id/ward/internal/pki"
	"github.com/ward-id/ward/internal/seal"
	"github.com/ward-id/ward/internal/storage"
)

// Settings shared through the database, sealed under the KEK.
const (
	settingAdmin = "admin"
	settingCA    = "ca"
	// settingBootstrapped records that the first start's bootstrap ran
	// (plain JSON: nothing secret).
	settingBootstrapped = "bootstrapped"
)

type sharedCA struct {
	Cert []byte `json:"cert"` // PEM
	Key  []byte `json:"key"`  // PEM
}

// bootstrapShared bootstraps the data directory from the database, so that a
// replica needs only the DSN and the KEK: under a database-wide lock (replicas
// starting together bootstrap once), the admin and the CA are read from the
// database into the data directory when another replica created them, and
// created and shared otherwise. A data directory from before sharing (its
// own admin.json and CA, a database without them) is uploaded as it is.
func bootstrapShared(ctx context.Context, store storage.Storage, kek []byte, dataDir, publicURL string, now time.Time) (Admin, error) {
	box, err := seal.New(kek, "settings")
	if err != nil {
		return Admin{}, err
	}
	var admin Admin
	err = store.WithLock(ctx, "bootstrap", func(ctx context.Context) error {
		if err := restore(ctx, store, box, settingAdmin, func(b []byte) error {
			var a Admin
			if err := json.Unmarshal(b, &a); err != nil {
				return err
			}
			a.AuthorityHost, a.ResourceManager = publicURL+"/", publicURL+"/"
			path := filepath.Join(dataDir, AdminFile)
			// The same admin with another secret: the operator rotated it
			// and put the new one here; keep it.
			var local Admin
			if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &local) == nil &&
				strings.EqualFold(local.ClientID, a.ClientID) && local.ClientSecret != "" {
				a.ClientSecret = local.ClientSecret
			}
			return writeAdmin(path, a)
		}); err != nil {
			return err
		}
		a, err := bootstrap(ctx, store, dataDir, publicURL, now)
		if err != nil {
			return err
		}
		admin = a
		if err := share(ctx, store, box, settingAdmin, a); err != nil {
			return err
		}
		if err := recordBootstrapped(ctx, store, now); err != nil {
			return err
		}
		if err := restore(ctx, store, box, settingCA, func(b []byte) error {
			var ca sharedCA
			if err := json.Unmarshal(b, &ca); err != nil {
				return err
			}
			if err := pki.WriteFileAtomic(filepath.Join(dataDir, pki.CAKeyFile), ca.Key, 0o600); err != nil {
				return err
			}
			return pki.WriteFileAtomic(filepath.Join(dataDir, pki.CAFile), ca.Cert, 0o644)
		}); err != nil {
			return err
		}
		if err := pki.EnsureCA(dataDir, now); err != nil {
			return err
		}
		var ca sharedCA
		if ca.Cert, err = os.ReadFile(filepath.Join(dataDir, pki.CAFile)); err != nil {
			return err
		}
		if ca.Key, err = os.ReadFile(filepath.Join(dataDir, pki.CAKeyFile)); err != nil {
			return err
		}
		return share(ctx, store, box, settingCA, ca)
	})
	return admin, err
}

// restore passes a shared setting to write, when the database holds one.
func restore(ctx context.Context, store storage.Storage, box *seal.Box, name string, write func([]byte) error) error {
	v, err := store.GetSetting(ctx, name)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	b, err := box.Open(name, v)
	if err != nil {
		return fmt.Errorf("shared %s: %w", name, err)
	}
	return write(b)
}

// share stores v as a setting unless the database holds it already.
func share(ctx context.Context, store storage.Storage, box *seal.Box, name string, v any) error {
	if _, err := store.GetSetting(ctx, name); err == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := store.CreateSetting(ctx, name, box.Seal(name, b)); err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
		return err
	}
	return nil
}

// ExportAdmin returns the bootstrap admin as stored in the database, for
// `ward admin export` on any replica.
func ExportAdmin(ctx context.Context, cfg Config) (Admin, error) {
	if err := cfg.defaults(); err != nil {
		return Admin{}, err
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return Admin{}, err
	}
	defer store.Close()
	kek, err := loadKEK(cfg)
	if err != nil {
		return Admin{}, err
	}
	box, err := seal.New(kek, "settings")
	if err != nil {
		return Admin{}, err
	}
	var a Admin
	found := false
	err = restore(ctx, store, box, settingAdmin, func(b []byte) error { found = true; return json.Unmarshal(b, &a) })
	if err == nil && !found {
		err = errors.New("the database holds no shared admin yet: start ward serve on it once")
	}
	return a, err
}

// CreateAdmin makes a new admin, for `ward admin create` on any replica's
// DSN and KEK when the admin was deleted, demoted or its secret lost: a new
// service principal in the tenant with a new secret, Owner and Key Vault
// Secrets Officer at "/", shared through the database as the admin (each
// replica writes it into its admin.json at its next start) and written
// into cfg.DataDir's admin.json. The former admin's principal, if any, is
// left as it is.
func CreateAdmin(ctx context.Context, cfg Config) (Admin, error) {
	if err := cfg.defaults(); err != nil {
		return Admin{}, err
	}
	store := cfg.Store
	if store == nil {
		s, err := openStore(ctx, cfg)
		if err != nil {
			return Admin{}, err
		}
		defer s.Close()
		store = s
	}
	kek, err := loadKEK(cfg)
	if err != nil {
		return Admin{}, err
	}
	box, err := seal.New(kek, "settings")
	if err != nil {
		return Admin{}, err
	}
	now := time.Now().UTC()
	var a Admin
	err = store.WithLock(ctx, "bootstrap", func(ctx context.Context) error {
		var old Admin
		found := false
		if err := restore(ctx, store, box, settingAdmin, func(b []byte) error { found = true; return json.Unmarshal(b, &old) }); err != nil {
			return err
		}
		if !found {
			return errors.New("the database holds no admin to replace: start ward serve on it once (its first start creates the admin)")
		}
		if _, err := store.GetTenant(ctx, old.TenantID); err != nil {
			return fmt.Errorf("the shared admin's tenant %s: %w", old.TenantID, err)
		}
		a = Admin{TenantID: old.TenantID, SubscriptionID: old.SubscriptionID, ClientID: uuid.NewString(),
			AuthorityHost: old.AuthorityHost, ResourceManager: old.ResourceManager}
		if u := recordedPublicURL(cfg.DataDir); u != "" {
			a.AuthorityHost, a.ResourceManager = u+"/", u+"/"
		}
		secret, hint := clientsecret.Generate()
		a.ClientSecret = secret
		objectID := uuid.NewString()
		if err := store.CreateServicePrincipal(ctx, storage.ServicePrincipal{ObjectID: objectID, AppID: a.ClientID, TenantID: a.TenantID,
			DisplayName: "ward-admin-" + now.Format("20060102-150405"), CreatedAt: now}); err != nil {
			return fmt.Errorf("create the admin's principal: %w", err)
		}
		if err := store.AddClientSecret(ctx, clientsecret.New(uuid.NewString(), a.ClientID, "ward admin create", secret, hint, now, time.Time{})); err != nil {
			return fmt.Errorf("add the admin's secret: %w", err)
		}
		if err := grantAdminRoles(ctx, store, objectID, now); err != nil {
			return err
		}
		b, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if err := store.PutSetting(ctx, settingAdmin, box.Seal(settingAdmin, b)); err != nil {
			return fmt.Errorf("share the new admin: %w", err)
		}
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return err
		}
		return writeAdmin(filepath.Join(cfg.DataDir, AdminFile), a)
	})
	return a, err
}
