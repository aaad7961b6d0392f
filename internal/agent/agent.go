// Package agent is `ward agent`: on a Kubernetes node or a plain Linux
// machine it serves the managed identity protocols the unmodified Azure
// SDKs speak (IMDS, App Service, Azure Arc) with tokens of the machine's
// identities, which it gets from Ward after proving which machine it is
// (package agentproto). It caches tokens per (identity, resource) until
// five minutes before they expire and polls Ward, cheaply, for changes: a
// deleted machine, a reset credential, or a detached or deleted identity
// stops being served within a poll interval. It knows nothing of ARM or
// of Ward's storage.
package agent

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ward-id/ward/internal/agentproto"
	"golang.org/x/sync/singleflight"
)

// Errors of Token, turned into each protocol's error bodies at the edge.
var (
	// ErrNotReady: the agent has not yet learned its machine's state.
	ErrNotReady = errors.New("the agent has not reached Ward yet")
	// ErrRevoked: Ward refused the agent's attestation (machine deleted,
	// credential reset, node pool deleted).
	ErrRevoked = errors.New("ward refused this machine's attestation")
	// ErrStale: Ward has been unreachable for longer than MaxStale.
	ErrStale = errors.New("ward has been unreachable for too long")
)

// Config configures an Agent.
type Config struct {
	Ward     *WardClient
	Attestor Attestor
	// PollInterval defaults to DefaultPollInterval; MaxStale to
	// DefaultMaxStale.
	PollInterval time.Duration
	MaxStale     time.Duration
	Now          func() time.Time
	Logger       *slog.Logger
}

// view is what the agent knows of its machine, replaced as a whole.
type view struct {
	state   agentproto.State
	etag    string
	revoked string    // Ward's reason, when it refused the attestation
	okAt    time.Time // last successful answer from Ward
	ready   bool
}

// Token is an access token with the identity it is for.
type Token struct {
	AccessToken string
	ExpiresOn   time.Time
	NotBefore   time.Time
	Resource    string
	Identity    agentproto.Identity
}

// Selector names an identity, as the protocols' client_id, object_id and
// msi_res_id/mi_res_id parameters do; all empty is the default identity.
type Selector struct {
	ClientID, ObjectID, ResourceID string
}

type cacheKey struct {
	objectID, resource string
}

// Agent serves the machine's identities.
type Agent struct {
	cfg   Config
	log   *slog.Logger
	view  atomic.Pointer[view]
	mu    sync.RWMutex
	cache map[cacheKey]*Token
	group singleflight.Group

	hits, misses atomic.Uint64
}

// maxCached bounds the token cache (identities × resources).
const maxCached = 10_000

// New returns an Agent; Run keeps its view of the machine current.
func New(cfg Config) *Agent {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.MaxStale <= 0 {
		cfg.MaxStale = DefaultMaxStale
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a := &Agent{cfg: cfg, log: cfg.Logger, cache: map[cacheKey]*Token{}}
	a.view.Store(&view{})
	return a
}

// Refresh asks Ward for the machine's state once (conditionally) and
// applies the answer: new identities, a revocation, or nothing.
func (a *Agent) Refresh(ctx context.Context) error {
	cur := a.view.Load()
	att, err := a.cfg.Attestor.Attestation(ctx)
	if err != nil {
		return err
	}
	st, etag, changed, err := a.cfg.Ward.State(ctx, att, cur.etag)
	var we *WardError
	switch {
	case errors.As(err, &we) && we.Refused():
		if cur.revoked == "" {
			a.log.Warn("ward refused this machine's attestation: serving no identity", "reason", we.Description)
		}
		a.view.Store(&view{revoked: we.Description, okAt: a.cfg.Now(), ready: true})
		a.purge(nil)
		return nil
	case err != nil:
		return err
	case !changed:
		nv := *cur
		nv.okAt = a.cfg.Now()
		a.view.Store(&nv)
		return nil
	}
	if cur.revoked != "" || !cur.ready {
		a.log.Info("serving the machine's identities", "resource", st.ResourceID, "identities", len(st.Identities))
	}
	a.view.Store(&view{state: st, etag: etag, okAt: a.cfg.Now(), ready: true})
	a.purge(st.Identities)
	return nil
}

// purge drops cached tokens of identities not in keep (all when nil).
func (a *Agent) purge(keep []agentproto.Identity) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k := range a.cache {
		found := false
		for _, id := range keep {
			found = found || strings.EqualFold(id.ObjectID, k.objectID)
		}
		if !found {
			delete(a.cache, k)
		}
	}
}

// Run polls Ward until ctx ends.
func (a *Agent) Run(ctx context.Context) {
	t := time.NewTicker(a.cfg.PollInterval)
	defer t.Stop()
	failing := false
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := a.Refresh(pctx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			a.log.Warn("cannot reach ward; serving what it said last", "err", err, "max_stale", a.cfg.MaxStale)
			failing = true
		case err == nil && failing:
			a.log.Info("ward reachable again")
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Ready reports whether the agent knows its machine's state (it may be
// revoked: then it answers every request with "identity not found").
func (a *Agent) Ready() bool { return a.view.Load().ready }

// State returns the machine's state and whether it may be served.
func (a *Agent) State() (agentproto.State, error) {
	v := a.view.Load()
	return v.state, a.usable(v)
}

func (a *Agent) usable(v *view) error {
	switch {
	case !v.ready:
		return ErrNotReady
	case v.revoked != "":
		return ErrRevoked
	case a.cfg.Now().Sub(v.okAt) > a.cfg.MaxStale:
		return ErrStale
	}
	return nil
}

// Token returns a token of the selected identity for resource: from the
// cache while it has more than RefreshBefore to live, else from Ward (one
// request per identity and resource at a time).
func (a *Agent) Token(ctx context.Context, sel Selector, resource string) (Token, error) {
	v := a.view.Load()
	if err := a.usable(v); err != nil {
		return Token{}, err
	}
	id, err := agentproto.Choose(v.state.Identities, v.state.Refused, sel.ClientID, sel.ObjectID, sel.ResourceID)
	if err != nil {
		return Token{}, err
	}
	key := cacheKey{objectID: strings.ToLower(id.ObjectID), resource: resource}
	now := a.cfg.Now()
	a.mu.RLock()
	t, ok := a.cache[key]
	a.mu.RUnlock()
	if ok && now.Before(t.ExpiresOn.Add(-RefreshBefore)) {
		a.hits.Add(1)
		return *t, nil
	}
	a.misses.Add(1)
	res, err, _ := a.group.Do(key.objectID+"\x00"+resource, func() (any, error) {
		return a.fetch(ctx, id, resource, key)
	})
	if err != nil {
		return Token{}, err
	}
	return *(res.(*Token)), nil
}

func (a *Agent) fetch(ctx context.Context, id agentproto.Identity, resource string, key cacheKey) (*Token, error) {
	att, err := a.cfg.Attestor.Attestation(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := a.cfg.Ward.Token(ctx, att, agentproto.TokenRequest{Resource: resource, ObjectID: id.ObjectID})
	var we *WardError
	switch {
	case errors.As(err, &we) && we.Refused():
		// Revoked between two polls: stop serving now.
		a.view.Store(&view{revoked: we.Description, okAt: a.cfg.Now(), ready: true})
		a.purge(nil)
		return nil, ErrRevoked
	case errors.As(err, &we) && we.Code == agentproto.CodeIdentityNotFound && we.Description != "" && we.Description != "Identity not found":
		// Refused between two polls (re-created under its name): say why.
		return nil, &agentproto.RefusedError{Identity: agentproto.Identity{Kind: id.Kind, ClientID: id.ClientID, ObjectID: id.ObjectID, ResourceID: id.ResourceID, Reason: we.Description}}
	case errors.As(err, &we) && we.Code == agentproto.CodeIdentityNotFound:
		return nil, agentproto.ErrIdentityNotFound
	case err != nil:
		return nil, err
	}
	t := &Token{AccessToken: resp.AccessToken, ExpiresOn: time.Unix(resp.ExpiresOn, 0), NotBefore: time.Unix(resp.NotBefore, 0), Resource: resource, Identity: resp.Identity}
	// Cache only if the identity is still the machine's now: a poll may
	// have removed it while the request was in flight.
	v := a.view.Load()
	if a.usable(v) == nil {
		if _, err := agentproto.Select(v.state.Identities, "", id.ObjectID, ""); err == nil {
			a.mu.Lock()
			if len(a.cache) >= maxCached {
				clear(a.cache)
			}
			a.cache[key] = t
			a.mu.Unlock()
		}
	}
	return t, nil
}

// CacheStats returns the token cache's hits and misses.
func (a *Agent) CacheStats() (hits, misses uint64) { return a.hits.Load(), a.misses.Load() }
