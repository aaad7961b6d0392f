package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ward-id/ward/internal/pki"
	"github.com/ward-id/ward/internal/seal"
	"github.com/ward-id/ward/internal/storage"
)

// Settings shared through the database, sealed under the KEK.
const (
	settingAdmin = "admin"
	settingCA    = "ca"
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
			return writeAdmin(filepath.Join(dataDir, AdminFile), a)
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
