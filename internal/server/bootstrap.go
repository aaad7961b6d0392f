package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/clientsecret"
	"github.com/ward-id/ward/internal/pki"
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
	subs, err := store.ListSubscriptions(ctx)
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
