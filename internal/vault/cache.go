package vault

import (
	"context"
	"strings"
	"sync"

	"github.com/ward-id/ward/internal/storage"
)

// maxCachedVaults bounds the data plane's vault cache; it is emptied when
// full (vaults are few; a flood of names that exist is not a concern).
const maxCachedVaults = 10_000

// vaultCache holds the vaults the data plane served recently, so a secret
// read costs one database round trip instead of two (the vault's row, then
// the secret's). It follows writes: this server's own vault and resource
// group writes forget at once, other replicas' through the change feed
// (Forget, wired in the server), within its propagation bound. Only vaults
// that exist are cached, so a new vault is found at once.
type vaultCache struct {
	mu  sync.Mutex
	gen uint64 // bumped by every Forget: a load that raced one is not kept
	m   map[string]storage.Vault
}

// vault returns the vault named name, from the cache when present.
func (s *Service) vault(ctx context.Context, name string) (storage.Vault, error) {
	c := &s.cache
	key := strings.ToLower(name)
	c.mu.Lock()
	v, ok := c.m[key]
	gen := c.gen
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := s.store.GetVault(ctx, name)
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.gen == gen {
		if c.m == nil || len(c.m) >= maxCachedVaults {
			c.m = map[string]storage.Vault{}
		}
		c.m[key] = v
	}
	c.mu.Unlock()
	return v, nil
}

// Forget drops the cached vault named name, or every cached vault when
// name is empty (a resource group went, or the change feed resynced).
func (s *Service) Forget(name string) {
	c := &s.cache
	c.mu.Lock()
	c.gen++
	if name == "" {
		c.m = nil
	} else {
		delete(c.m, strings.ToLower(name))
	}
	c.mu.Unlock()
}
