package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/ward-id/ward/internal/agentserver"
	"github.com/ward-id/ward/internal/arm"
	"github.com/ward-id/ward/internal/audience"
	"github.com/ward-id/ward/internal/audit"
	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/authz"
	"github.com/ward-id/ward/internal/blob"
	"github.com/ward-id/ward/internal/changefeed"
	"github.com/ward-id/ward/internal/clusters"
	"github.com/ward-id/ward/internal/console"
	"github.com/ward-id/ward/internal/directory"
	"github.com/ward-id/ward/internal/federation"
	"github.com/ward-id/ward/internal/issuer"
	"github.com/ward-id/ward/internal/machines"
	"github.com/ward-id/ward/internal/msi"
	"github.com/ward-id/ward/internal/pki"
	"github.com/ward-id/ward/internal/policy"
	"github.com/ward-id/ward/internal/registry"
	"github.com/ward-id/ward/internal/resources"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/signer"
	"github.com/ward-id/ward/internal/signer/rotation"
	"github.com/ward-id/ward/internal/slowtrace"
	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/sts"
	"github.com/ward-id/ward/internal/vault"
)

// graph is the server's parts as New builds them, one step at a time in
// dependency order: each step reads only what the steps before it built,
// and registers on the Server what must be closed or run.
type graph struct {
	s   *Server
	cfg Config

	// stores
	store     storage.Storage
	kek       []byte
	publicURL string
	admin     Admin
	regHosts  registry.Hosts

	// signers, and the change feed's head read right after them
	keys         *signer.Manager
	regTokens    *registry.Tokens
	tokenIssuers []string // the iss values of Ward's own tokens
	head         int64
	met          *metrics

	// data planes' services and backends
	vaults     *vault.Service
	blobs      *blob.Service
	registries *registry.Service
	regBackend registry.Backend

	// services
	signIns    *audit.SignInLog
	issuers    *issuer.Service
	tokens     *sts.Service
	groups     *resources.Service
	identities *msi.Service
	directory  *directory.Service
	access     *authz.Service
	policies   *policy.Service
	clusters   *clusters.Service
	machines   *machines.Service
}

// build runs the steps in order; the first error stops it.
func (g *graph) build(ctx context.Context) error {
	for _, step := range []func(context.Context) error{
		g.listen, g.openStores, g.buildSigners, g.buildMetrics, g.buildDataPlanes, g.buildServices, g.follow, g.mountRoutes,
	} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	g.s.tasks = append(g.s.tasks,
		func(ctx context.Context) { g.keys.Run(ctx, time.Minute) },
		func(ctx context.Context) { sweepBlobs(ctx, g.blobs, g.cfg.Logger) },
		func(ctx context.Context) {
			audit.Retention{Store: g.store, Age: g.cfg.LogRetention, Logger: g.cfg.Logger}.Run(ctx, audit.RetentionInterval)
		})
	return nil
}

// closeLater registers fn to run when the server closes (or New fails).
func (g *graph) closeLater(fn func()) { g.s.closers = append(g.s.closers, fn) }

// listen creates the data directory, binds the address and derives the
// public URL from it when none was given.
func (g *graph) listen(context.Context) error {
	if err := os.MkdirAll(g.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	ln, err := net.Listen("tcp", g.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", g.cfg.Addr, err)
	}
	g.s.ln = ln
	g.closeLater(func() { ln.Close() })
	g.publicURL = g.cfg.PublicURL
	if g.publicURL == "" {
		g.publicURL = "https://" + publicHost(ln.Addr().(*net.TCPAddr))
	}
	g.s.publicURL = g.publicURL
	return nil
}

// openStores opens the database (unless the caller gave one), loads the
// KEK, bootstraps the data directory through the database and loads the
// serving certificate.
func (g *graph) openStores(ctx context.Context) error {
	g.store = g.cfg.Store
	if g.store == nil {
		store, err := openStore(ctx, g.cfg)
		if err != nil {
			return err
		}
		g.store = store
		g.closeLater(func() { store.Close() })
		if err := store.Warm(ctx); err != nil {
			return err
		}
	}
	var err error
	if g.kek, err = loadKEK(g.cfg); err != nil {
		return err
	}
	if g.admin, err = bootstrapShared(ctx, g.store, g.kek, g.cfg.DataDir, g.publicURL, time.Now().UTC()); err != nil {
		return err
	}
	g.s.admin = g.admin
	u, _ := url.Parse(g.publicURL)
	g.regHosts = registry.NewHosts(g.publicURL)
	certHosts := []string{u.Hostname()}
	if bare, _, _ := strings.Cut(g.regHosts.Suffix, ":"); bare != registry.HostLabel+".localhost" {
		certHosts = append(certHosts, "*."+bare)
	}
	if g.s.cert, err = pki.Load(g.cfg.DataDir, certHosts, time.Now); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	return nil
}

// buildSigners builds the token signing keys and the registry's token
// signer, then reads the change feed's head.
func (g *graph) buildSigners(ctx context.Context) error {
	var err error
	g.keys, err = signer.New(ctx, signer.Config{Store: g.store, KEK: g.kek, Alg: jose.SignatureAlgorithm(g.cfg.SigningAlg), Logger: g.cfg.Logger})
	if err != nil {
		return err
	}
	g.tokenIssuers = []string{sts.IssuerV1(g.publicURL, g.admin.TenantID), sts.IssuerV2(g.publicURL, g.admin.TenantID)}
	if g.regTokens, err = registry.NewTokens(registry.TokensConfig{KEK: g.kek, Issuer: registry.Issuer(g.publicURL), Now: time.Now}); err != nil {
		return err
	}
	// The change feed's head before any view is loaded: a change committed
	// while they load is applied again by the follower (idempotently).
	if g.head, err = g.store.ChangeHead(ctx); err != nil {
		return fmt.Errorf("read the change feed: %w", err)
	}
	return nil
}

// buildMetrics builds the Prometheus registry and, when asked, the slow
// request tracer.
func (g *graph) buildMetrics(context.Context) error {
	g.met = newMetrics()
	if g.cfg.TraceSlow <= 0 {
		return nil
	}
	dir := g.cfg.TraceDir
	if dir == "" {
		dir = filepath.Join(g.cfg.DataDir, "traces")
	}
	var err error
	if g.met.slow, err = slowtrace.Start(slowtrace.Config{Threshold: g.cfg.TraceSlow, Dir: dir, Logger: g.cfg.Logger}); err != nil {
		return err
	}
	g.closeLater(g.met.slow.Stop)
	g.cfg.Logger.Info("tracing slow requests", "threshold", g.cfg.TraceSlow, "dir", dir)
	return nil
}

// buildDataPlanes builds the data planes' services and backends: vaults,
// blob accounts and registries (in-process, or an upstream registry).
func (g *graph) buildDataPlanes(context.Context) error {
	var err error
	if g.vaults, err = vault.New(vault.Config{Store: g.store, KEK: g.kek, Hosts: vault.NewHosts(g.publicURL), Now: time.Now}); err != nil {
		return err
	}
	blobDir := g.cfg.BlobDir
	if blobDir == "" {
		blobDir = filepath.Join(g.cfg.DataDir, "blobs")
	}
	blobFiles, err := blob.NewFiles(blobDir)
	if err != nil {
		return err
	}
	g.blobs = blob.New(blob.Config{Store: g.store, Files: blobFiles, Hosts: blob.NewHosts(g.publicURL),
		MaxPutBytes: g.cfg.BlobMaxPutBytes, MaxBlockBytes: g.cfg.BlobMaxPutBytes, MaxBlobBytes: g.cfg.BlobMaxBytes})

	regDir := g.cfg.RegistryDir
	if regDir == "" {
		regDir = filepath.Join(g.cfg.DataDir, "registries")
	}
	// The registries' background work (upload purging) stops with Close.
	regCtx, stopRegistries := context.WithCancel(context.Background())
	g.closeLater(stopRegistries)
	apps, err := registry.NewApps(regCtx, registry.AppsConfig{Dir: regDir, Hosts: g.regHosts, Tokens: g.regTokens, KEK: g.kek, Logger: g.cfg.Logger})
	if err != nil {
		return err
	}
	regCfg := registry.ServiceConfig{Store: g.store, Hosts: g.regHosts, Now: time.Now}
	g.regBackend = apps
	if g.cfg.RegistryUpstream != "" {
		if g.regBackend, err = registry.Upstream(g.cfg.RegistryUpstream); err != nil {
			return err
		}
	} else {
		// A deleted registry's in-process storage goes with it.
		regCfg.Deleted = apps.Forget
	}
	g.registries = registry.NewService(regCfg)
	return nil
}

// buildServices builds the services the management API, the token
// service and the console share, and loads the RBAC index.
func (g *graph) buildServices(ctx context.Context) error {
	var (
		log      = g.cfg.Logger
		tenantID = g.admin.TenantID
		err      error
	)
	roots, err := issuerRoots(g.cfg.IssuerCAFile)
	if err != nil {
		return err
	}
	g.signIns = audit.New(audit.Config{Store: g.store, Logger: log})
	g.closeLater(g.signIns.Close)
	// Hosted issuers resolve in-process; every other issuer over HTTPS.
	g.issuers = issuer.New(issuer.Config{Store: g.store, KEK: g.kek, PublicURL: g.publicURL, TenantID: tenantID,
		Remote: federation.NewFetcher(federation.FetcherConfig{RootCAs: roots, AllowLoopback: g.cfg.AllowLoopbackIssuers})})
	g.tokens = sts.New(sts.Config{
		Store: g.store, Keys: g.keys, Issuers: g.issuers,
		SignIns: signInCounter{next: g.signIns, m: g.met}, TenantID: tenantID, PublicURL: g.publicURL, Logger: log,
		AppTokenLifetime: g.cfg.AppTokenLifetime, ManagedIdentityTokenLifetime: g.cfg.ManagedIdentityTokenLifetime,
		TokenReuseMaxAge: g.cfg.TokenReuseMaxAge,
	})
	// What a write invalidates (the token service's caches, the vault
	// cache) is the change feed's business (follow), not the services'.
	g.groups = resources.New(resources.Config{Store: g.store})
	g.identities = msi.New(msi.Config{Store: g.store, Resources: g.groups, MaxFederatedCredentials: g.cfg.MaxFederatedCredentials})
	g.directory = directory.New(directory.Config{Store: g.store, TenantID: tenantID, Now: time.Now})
	// RBAC writes reach the index through the change feed, as every
	// replica's do: the follower exists once follow has run, before any
	// request or task can write.
	if g.access, err = authz.New(ctx, authz.Config{Store: g.store, Now: time.Now, CatchUp: g.catchUp}); err != nil {
		return fmt.Errorf("load role assignments: %w", err)
	}
	if g.policies, err = policy.NewService(ctx, policy.ServiceConfig{Store: g.store, Now: time.Now}); err != nil {
		return err
	}
	checkAdmin(ctx, g.store, g.admin, filepath.Join(g.cfg.DataDir, AdminFile), log)
	g.clusters = clusters.New(clusters.Config{Store: g.store, Groups: g.groups, Identities: g.identities, Directory: g.directory,
		Issuers: g.issuers, TenantID: tenantID, Now: time.Now, PrincipalDeleted: g.access.DeletePrincipalAssignments})
	g.machines = machines.New(machines.Config{Store: g.store, Groups: g.groups, Identities: g.identities, Directory: g.directory,
		Clusters: g.clusters, Issuers: g.issuers, TenantID: tenantID, PublicURL: g.publicURL, PrincipalDeleted: g.access.DeletePrincipalAssignments})
	return nil
}

// follow builds the change feed follower: every in-memory view (RBAC
// index, token caches, signing and issuer keys, vault cache, policies)
// follows the database through it, from the head read before the views
// loaded. Its handler map is the one list of what a table's change
// invalidates, for this replica's own writes as for the others': a request
// that wrote catches the follower up before it answers (localWrites), and
// other replicas read the same change from the feed. A row deleted by a
// cascade (a resource group's identities, credentials and vaults) is a
// change of its own table, recorded by that table's trigger.
func (g *graph) follow(context.Context) error {
	invalidateTokens := func(context.Context, string) error { g.tokens.Invalidate(); return nil }
	g.s.follower = changefeed.New(changefeed.Config{
		Feed: g.store,
		Handlers: map[string]changefeed.Handler{
			"role_assignments":      g.access.ReloadAssignment,
			"role_definitions":      g.access.ReloadRole,
			"identities":            invalidateTokens,
			"federated_credentials": invalidateTokens,
			"service_principals":    invalidateTokens,
			"client_secrets":        invalidateTokens,
			"sp_certificates":       invalidateTokens,
			"signing_keys": func(ctx context.Context, _ string) error {
				g.issuers.Forget()
				return g.keys.Refresh(ctx)
			},
			"clusters": func(_ context.Context, id string) error { g.issuers.Forget(id); return nil },
			"vaults":   func(_ context.Context, name string) error { g.vaults.Forget(name); return nil },
			// Policy views are small: any change reloads them whole.
			"policy_definitions": func(ctx context.Context, _ string) error { return g.policies.Reload(ctx) },
			"policy_assignments": func(ctx context.Context, _ string) error { return g.policies.Reload(ctx) },
		},
		Resync: func(ctx context.Context) error {
			g.forgetCaches()
			if err := g.keys.Refresh(ctx); err != nil {
				return err
			}
			if err := g.policies.Reload(ctx); err != nil {
				return err
			}
			return g.access.Reload(ctx)
		},
		Check:  g.access.Consistent,
		Synced: g.access.Synced,
		Poll:   g.cfg.FeedPoll,
		Logger: g.cfg.Logger,
	}, g.head)
	g.s.tasks = append(g.s.tasks, g.s.follower.Run)
	return nil
}

// catchUp applies this replica's own writes to its views: the change feed
// follower's catch-up, the one path for a request's writes (the router's
// Settle) and for RBAC writes made outside a request.
func (g *graph) catchUp(ctx context.Context) error {
	if g.s.follower == nil {
		return errors.New("the change feed follower is not built yet")
	}
	return g.s.follower.CatchUp(ctx)
}

// forgetCaches drops every view that is a cache of the database and needs
// no read to drop (token caches, vault cache, hosted issuers' keys) and
// marks the RBAC index stale until the follower catches up (Synced): the
// feed's resync does it first, and a request whose write could not be
// applied to this replica's views does it instead, so that nothing the
// write revoked is served or honoured meanwhile.
func (g *graph) forgetCaches() {
	g.access.Stale()
	g.tokens.Invalidate()
	g.vaults.Forget("")
	g.issuers.Forget()
}

// verifier is a bearer-token verifier for Ward's own tokens with one of
// the given audiences.
func (g *graph) verifier(audiences ...string) *authn.JWT {
	return &authn.JWT{Keys: g.keys, Issuers: g.tokenIssuers, Audiences: audiences, Now: time.Now}
}

// mountRoutes builds every part's handler and mounts it on one routing
// table, each route with who may call it; anything else is a 404 before
// any handler runs.
func (g *graph) mountRoutes(context.Context) error {
	var (
		log       = g.cfg.Logger
		publicURL = g.publicURL
		tenantID  = g.admin.TenantID
		authority = publicURL + "/" + tenantID
		self      = []string{publicURL, publicURL + "/"}
	)
	mux := router.New()
	mux.Wrap = g.met.instrument
	// One authorizer decides every route's declared action; each part
	// registers its protocol's authenticator when it mounts.
	mux.Authorizer = g.access
	mux.Inner = g.cfg.RouteHook
	// The mux writes the access log, sets each protocol's request IDs, caps
	// every body and its read time (router.DefaultMaxBody and
	// DefaultReadTimeout; a route may declare a smaller cap) and recovers
	// panics into the route's protocol's 500, once for every part.
	mux.Logger = log
	mux.AccessLog = g.cfg.AccessLog
	mux.Settle = localWrites(g.catchUp, g.forgetCaches, log)

	vault.NewHandler(vault.HandlerConfig{Svc: g.vaults, Authority: authority, Logger: log,
		Auth: g.verifier(append([]string{g.vaults.Hosts.Resource(), g.vaults.Hosts.Resource() + "/"}, audience.VaultAliases()...)...)}).Mount(mux)
	registry.NewHandler(registry.HandlerConfig{Svc: g.registries, Tokens: g.regTokens, Access: g.access, TenantID: tenantID, Registry: g.regBackend, Logger: log,
		Verifier: g.verifier(append(append([]string{}, self...), audience.RegistryAliases()...)...)}).Mount(mux)
	blob.NewHandler(blob.HandlerConfig{Svc: g.blobs, Access: g.access, Authority: authority, Logger: log,
		Auth: g.verifier(blob.Audience, blob.Audience+"/")}).Mount(mux)
	g.mountProbes(mux)
	mgmt := arm.New(arm.Config{
		Resources:  g.groups,
		Service:    g.identities,
		Clusters:   g.clusters,
		Machines:   g.machines,
		Auth:       g.verifier(append(self, audience.ManagementAliases()...)...),
		Authz:      g.access,
		RBAC:       g.access,
		Vaults:     g.vaults,
		Registries: g.registries,
		Blobs:      g.blobs,
		Policy:     g.policies,
		// wardIssuerCluster() in policy rules: a hosted issuer's cluster.
		IssuerCluster: func(ctx context.Context, iss string) (storage.Cluster, bool) {
			id, ok := g.issuers.IDFromURL(iss)
			if !ok {
				return storage.Cluster{}, false
			}
			c, err := g.store.GetClusterByID(ctx, id)
			return c, err == nil
		},
		Activity:  g.store,
		PublicURL: publicURL,
		TenantID:  tenantID,
		Logger:    log,
	})
	mgmt.Mount(mux)
	graphAuth := g.verifier(append(self, audience.GraphAliases()...)...)
	directory.NewHandler(directory.HandlerConfig{Svc: g.directory, Auth: graphAuth, Policy: directory.Policy{Access: g.access}, Logger: log, Base: publicURL}).Mount(mux)
	rotation.New(rotation.Config{Keys: g.keys, Logger: log, Base: publicURL, Auth: graphAuth}).Mount(mux)
	console.New(console.Config{Groups: g.groups, Identities: g.identities, Clusters: g.clusters, Vaults: g.vaults, Directory: g.directory,
		Access: g.access, Store: g.store, Compliance: compliance{mgmt}, PublicURL: publicURL, Logger: log,
		Auth: g.verifier(append(self, audience.ManagementAliases()...)...)}).Mount(mux)
	issuer.NewHandler(issuer.HandlerConfig{Issuers: g.issuers, Logger: log}).Mount(mux)
	sts.NewHandler(sts.HandlerConfig{Svc: g.tokens}).Mount(mux)
	agentserver.New(agentserver.Config{Machines: g.machines, Tokens: g.tokens, TenantID: tenantID, PublicURL: publicURL, Logger: log}).Mount(mux)
	g.s.mux = mux
	g.s.handler = canonicalPaths(mux)
	return nil
}

// mountProbes mounts the health, readiness and metrics endpoints.
func (g *graph) mountProbes(mux *router.Mux) {
	mux.Handle(router.Route{Method: http.MethodGet, Pattern: "/healthz", Access: router.Public("liveness for load balancers and probes; says only ok"),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte("ok\n"))
		})})
	mux.Handle(router.Route{Method: http.MethodGet, Pattern: "/readyz", Access: router.Public("readiness for load balancers: 503 while this replica's views lag the database by more than a second"),
		Handler: http.HandlerFunc(g.s.readyz)})
	g.met.watch(g.s.follower, g.tokens, g.signIns, g.store, g.cfg.AccessLogDropped)
	mux.Handle(router.Route{Method: http.MethodGet, Pattern: "/metrics", Access: router.Public("Prometheus metrics labelled by route pattern, status and AADSTS code only: no principal, client ID or resource name"),
		Handler: g.met.handler()})
}

// compliance is the console's policy view on the management API's
// policyStates scan: the same scan, authorization and answer, keeping the
// non-compliant states.
type compliance struct{ arm *arm.Handler }

var _ console.Compliance = compliance{}

func (c compliance) NonCompliant(ctx context.Context, p authn.Principal, scope string) ([]console.NonCompliance, error) {
	states, err := c.arm.PolicyStates(ctx, p, scope)
	if err != nil {
		return nil, fmt.Errorf("policy states of %s: %w", scope, err)
	}
	var out []console.NonCompliance
	for _, s := range states {
		if s.Compliant {
			continue
		}
		out = append(out, console.NonCompliance{ResourceID: s.ResourceID, ResourceType: s.ResourceType, AssignmentID: s.AssignmentID,
			AssignmentName: s.AssignmentName, DefinitionID: s.DefinitionID, DefinitionName: s.DefinitionName,
			DefinitionDisplayName: s.DefinitionDisplayName, Effect: s.Effect})
	}
	return out, nil
}
