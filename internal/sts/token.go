package sts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/clientsecret"
	"github.com/ward-id/ward/internal/federation"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/shellquote"
	"github.com/ward-id/ward/internal/signer"
	"github.com/ward-id/ward/internal/storage"
)

// SignInRecorder receives one record per token request. Records come
// without an ID: the recorder names the rows it writes (most repeats of a
// sign-in are counted in an earlier row and need none).
type SignInRecorder interface {
	Record(s storage.SignIn)
}

// Config configures the token service.
type Config struct {
	Store     storage.Storage
	Keys      *signer.Manager
	Issuers   federation.KeySource
	SignIns   SignInRecorder
	TenantID  string
	PublicURL string // no trailing slash
	// AppTokenLifetime is the lifetime of service principal tokens (default
	// 1 h, as Entra); ManagedIdentityTokenLifetime that of managed identity
	// tokens (default 24 h, as Entra's managed identity tokens).
	AppTokenLifetime             time.Duration
	ManagedIdentityTokenLifetime time.Duration
	// TokenReuseMaxAge bounds how long a minted token is handed out again
	// (see reuseCache); 0 means DefaultTokenReuseMaxAge, negative turns
	// reuse off.
	TokenReuseMaxAge time.Duration
	Now              func() time.Time
	Logger           *slog.Logger
}

// credentialTTL bounds how long a cached identity and its federated
// credentials are trusted without a word from the database. The change
// feed clears the cache (Invalidate): for a change made through this
// replica before the writing request answers, for one made by another
// replica as soon as the feed reports it (well under a second); the TTL is
// only the safety net behind the feed.
const credentialTTL = 30 * time.Second

// maxCachedIdentities bounds the identity cache (see evict).
const maxCachedIdentities = 100_000

type cachedIdentity struct {
	identity storage.Identity
	// resourceID is the identity's ARM resource ID (the sign-in log and
	// the token's xms_mirid), built once.
	resourceID string
	fics       *ficIndex
	at         time.Time
	// absent: no managed identity has this client ID, so it is a service
	// principal's (or nobody's). Remembering it spares every client-secret
	// grant a database read that finds nothing; an identity created later
	// clears the cache like any other identity write.
	absent bool
}

// Service is the token service: it authenticates clients and mints tokens.
type Service struct {
	cacheMu sync.Mutex
	cache   map[string]*cachedIdentity // lower client ID -> identity and credentials
	// cacheGen counts Invalidate calls: a load that raced one is not cached.
	cacheGen uint64

	store                storage.Storage
	keys                 *signer.Manager
	issuers              federation.KeySource
	signIns              SignInRecorder
	tenantID, publicURL  string
	appLife, miLife      time.Duration
	now                  func() time.Time
	log                  *slog.Logger
	federatedAlgorithms  []jose.SignatureAlgorithm
	certificateAlgorithm []jose.SignatureAlgorithm
	reuse                *reuseCache
	verified             federation.Verified // assertions already verified, by hash
	headers              headerCache         // each signing key's encoded JWS headers
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.AppTokenLifetime <= 0 {
		cfg.AppTokenLifetime = time.Hour
	}
	if cfg.ManagedIdentityTokenLifetime <= 0 {
		cfg.ManagedIdentityTokenLifetime = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.TokenReuseMaxAge == 0 {
		cfg.TokenReuseMaxAge = DefaultTokenReuseMaxAge
	}
	return &Service{
		cache: map[string]*cachedIdentity{},
		store: cfg.Store, keys: cfg.Keys, issuers: cfg.Issuers, signIns: cfg.SignIns,
		tenantID: strings.ToLower(cfg.TenantID), publicURL: strings.TrimSuffix(cfg.PublicURL, "/"),
		appLife: cfg.AppTokenLifetime, miLife: cfg.ManagedIdentityTokenLifetime, now: cfg.Now, log: cfg.Logger,
		federatedAlgorithms:  []jose.SignatureAlgorithm{jose.RS256, jose.ES256},
		certificateAlgorithm: []jose.SignatureAlgorithm{jose.PS256, jose.RS256},
		reuse:                newReuseCache(cfg.TokenReuseMaxAge),
	}
}

// TenantID returns the tenant Ward serves.
func (s *Service) TenantID() string { return s.tenantID }

// ResolveTenant maps a tenant path segment to the tenant, with Entra's
// errors for unknown and malformed ones. allowAliases accepts common and
// organizations (discovery); the token endpoint accepts them too, since
// Ward has one tenant.
func (s *Service) ResolveTenant(seg string) (string, *Error) {
	l := strings.ToLower(seg)
	switch {
	case l == s.tenantID:
		return s.tenantID, nil
	case l == TenantCommon || l == TenantOrganizations:
		return s.tenantID, nil
	case guidRE.MatchString(seg) || strings.Contains(seg, "."):
		return "", newErr(http.StatusBadRequest, errInvalidRequest, CodeTenantNotFound, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. This Ward server serves tenant '%s'.", seg, s.tenantID)
	}
	return "", newErr(http.StatusBadRequest, errInvalidRequest, CodeMalformedTenant, "Specified tenant identifier '%s' is neither a valid DNS name, nor a valid external domain.", seg)
}

// TokenRequest is a parsed token request.
type TokenRequest struct {
	Tenant string // path segment
	V1     bool   // /oauth2/token (resource=) rather than /oauth2/v2.0/token (scope=)
	Form   Form
	// Basic holds HTTP Basic client credentials, when sent.
	BasicID, BasicSecret string
	HasBasic             bool
	// Source is the caller's IP address: the sign-in log records it and
	// aggregates repeated refusals by it.
	Source string
}

// TokenResponse is a successful token response.
type TokenResponse struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	RefreshIn    int64  `json:"refresh_in,omitempty"`
	ExpiresOn    string `json:"expires_on,omitempty"`
	NotBefore    string `json:"not_before,omitempty"`
	Resource     string `json:"resource,omitempty"`
	AccessToken  string `json:"access_token"`
	// plainToken: AccessToken needs no escaping in JSON (reusable.plain),
	// so appendJSON copies it as it is.
	plainToken bool
}

// Token authenticates the client and mints a token, recording the attempt
// in the sign-in log whatever the outcome (the log caps what it stores and
// aggregates repeated refusals).
func (s *Service) Token(ctx context.Context, req TokenRequest) (TokenResponse, error) {
	rec := storage.SignIn{Time: s.now().UTC(), TenantID: s.tenantID, Source: req.Source, Result: "failure"}
	resp, err := s.token(ctx, req, &rec)
	if err == nil {
		rec.Result = "success"
	} else {
		rec.ErrorCode, rec.Reason = signInError(err)
	}
	if s.signIns != nil {
		s.signIns.Record(rec)
	}
	return resp, err
}

// signInError is the code and reason a refused request's sign-in record
// carries. It is its own function so that only a refusal pays for the
// errors.As target, which escapes to the heap: declared in Token, it cost
// every successful request an allocation.
func signInError(err error) (code int, reason string) {
	var e *Error
	if errors.As(err, &e) {
		return e.Code, e.Message
	}
	return CodeInternalError, err.Error()
}

// token runs a token request's steps: read what the request asks for,
// authenticate the client, hand out a token (reused or minted) and build
// the answer. Each step notes what it learnt in rec, the sign-in record.
func (s *Service) token(ctx context.Context, req TokenRequest, rec *storage.SignIn) (TokenResponse, error) {
	g, err := s.grant(req, rec)
	if err != nil {
		return TokenResponse{}, err
	}
	p, err := s.authenticate(ctx, g, rec)
	if err != nil {
		return TokenResponse{}, err
	}
	life := s.appLife
	if p.ManagedKind {
		life = s.miLife
	}
	t, err := s.issue(ctx, p, g, life, rec)
	if err != nil {
		return TokenResponse{}, err
	}
	return s.response(t, life, g), nil
}

// clientGrant is what a client credentials request asks for, checked for
// form but not yet authenticated.
type clientGrant struct {
	tenant, clientID  string
	secret, assertion string // one of them is set
	resource          string
	v1                bool
}

// grant reads and checks the request's parameters: the tenant, the grant
// type, the client's ID and credential (form or HTTP Basic) and the one
// resource it asks for.
func (s *Service) grant(req TokenRequest, rec *storage.SignIn) (clientGrant, error) {
	tenant, terr := s.ResolveTenant(req.Tenant)
	if terr != nil {
		return clientGrant{}, terr
	}
	rec.TenantID = tenant
	f := &req.Form
	grant := f.Get(ParamGrantType)
	if grant == "" {
		return clientGrant{}, errMissing(ParamGrantType)
	}
	if grant != GrantClientCredentials {
		return clientGrant{}, newErr(http.StatusBadRequest, errUnsupportedGrantType, CodeUnsupportedGrantType,
			"The app requested an unsupported grant type '%s'. Ward issues app-only tokens: use grant_type=client_credentials.", grant)
	}
	clientID, secret := f.Get(ParamClientID), f.Get(ParamClientSecret)
	if req.HasBasic {
		if clientID == "" {
			clientID = req.BasicID
		}
		if secret == "" {
			secret = req.BasicSecret
		}
	}
	if clientID == "" {
		return clientGrant{}, errMissing(ParamClientID)
	}
	rec.ClientID = clientID
	if !guidRE.MatchString(clientID) {
		return clientGrant{}, unknownClient(clientID, tenant)
	}
	resource, err := requestedResource(req)
	if err != nil {
		return clientGrant{}, err
	}
	rec.Resource = resource
	assertion := f.Get(ParamClientAssertion)
	if assertion != "" && f.Get(ParamClientAssertionType) != AssertionTypeJWTBearer {
		return clientGrant{}, newErr(http.StatusBadRequest, errInvalidRequest, CodeInvalidJWT,
			"client_assertion_type must be '%s' when client_assertion is sent.", AssertionTypeJWTBearer)
	}
	if assertion == "" && secret == "" {
		return clientGrant{}, newErr(http.StatusUnauthorized, errInvalidClient, CodeNoCredential,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
	return clientGrant{tenant: tenant, clientID: clientID, secret: secret, assertion: assertion, resource: resource, v1: req.V1}, nil
}

// authenticate verifies the client's credential: a managed identity's
// federated assertion, else a service principal's certificate assertion
// or secret.
func (s *Service) authenticate(ctx context.Context, g clientGrant, rec *storage.SignIn) (principal, error) {
	c, err := s.identity(ctx, g.clientID)
	if err == nil {
		return s.managedIdentity(ctx, c, g, rec)
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return principal{}, err
	}
	return s.servicePrincipal(ctx, g, rec)
}

// managedIdentity authenticates a managed identity: by a federated
// assertion one of its credentials trusts, never a secret.
func (s *Service) managedIdentity(ctx context.Context, c *cachedIdentity, g clientGrant, rec *storage.SignIn) (principal, error) {
	id, fics := c.identity, c.fics
	if g.assertion == "" {
		rec.Credential = "clientSecret"
		return principal{}, newErr(http.StatusUnauthorized, errInvalidClient, CodeNoCredential,
			"Client '%s' is a managed identity: it has no client secrets. Present a federated token as client_assertion (workload identity), or use the managed identity endpoint.", g.clientID)
	}
	rec.Credential, rec.PrincipalID = "federated", id.PrincipalID
	rec.IdentityID = c.resourceID
	cred, err := s.federated(ctx, fics, g.assertion, rec)
	if err != nil {
		return principal{}, err
	}
	return principal{TenantID: g.tenant, AppID: id.ClientID, ObjectID: id.PrincipalID, MIResource: rec.IdentityID, AuthMethod: "2", ManagedKind: true, CredentialID: cred}, nil
}

// servicePrincipal authenticates a service principal by a certificate
// assertion or a secret; a managed identity's service principal has
// neither.
func (s *Service) servicePrincipal(ctx context.Context, g clientGrant, rec *storage.SignIn) (principal, error) {
	sp, err := s.store.GetServicePrincipalByAppID(ctx, g.clientID)
	if errors.Is(err, storage.ErrNotFound) {
		return principal{}, unknownClient(g.clientID, g.tenant)
	}
	if err != nil {
		return principal{}, err
	}
	rec.PrincipalID = sp.ObjectID
	p := principal{TenantID: g.tenant, AppID: sp.AppID, ObjectID: sp.ObjectID}
	if sp.ManagedResourceID != "" {
		// A managed identity has no credentials of its own (the
		// directory refuses them); one stored before that rule
		// does not sign it in either.
		return principal{}, newErr(http.StatusUnauthorized, errInvalidClient, CodeInvalidSecret,
			"Application '%s' is the managed identity of '%s'; a managed identity signs in only through its resource's managed identity endpoint, not with a client secret or certificate.", sp.AppID, sp.ManagedResourceID)
	}
	if g.assertion != "" {
		rec.Credential, p.AuthMethod = "certificate", "2"
		if p.CredentialID, err = s.certificate(ctx, sp, g.assertion, g.tenant); err != nil {
			return principal{}, err
		}
	} else {
		rec.Credential, p.AuthMethod = "clientSecret", "1"
		if p.CredentialID, err = s.secret(ctx, sp, g.secret); err != nil {
			return principal{}, err
		}
	}
	return p, nil
}

// issue hands out a token for the authenticated principal: one minted
// earlier for the same principal, resource and credential (the very
// credential: the token names it, see authn.ClaimCredential), else a new
// one.
func (s *Service) issue(ctx context.Context, p principal, g clientGrant, life time.Duration, rec *storage.SignIn) (reusable, error) {
	rk := reuseKey{principal: p.ObjectID, resource: g.resource, kind: rec.Credential, issuer: rec.Issuer, subject: rec.Subject, credential: p.CredentialID, v1: g.v1,
		kid: s.keys.Signing().ID}
	now := s.now()
	if cached, ok := s.reuse.get(rk, now); ok {
		return cached, nil
	}
	signing := trace.StartRegion(ctx, "sign token")
	tok, exp, err := s.mint(p, g.resource, life)
	signing.End()
	if err != nil {
		return reusable{}, err
	}
	t := reusable{token: tok, issued: now, expires: exp, plain: jsonPlainString(tok)}
	rk.resource = strings.Clone(rk.resource) // not the request body's memory
	s.reuse.put(rk, t)
	return t, nil
}

// response is the answer carrying t's token: its lifetime from now, when
// to refresh it, and v1's expires_on, not_before and resource.
func (s *Service) response(t reusable, life time.Duration, g clientGrant) TokenResponse {
	exp := t.expires
	secs := int64(exp.Sub(s.now()).Seconds())
	out := TokenResponse{TokenType: "Bearer", ExpiresIn: secs, ExtExpiresIn: secs, AccessToken: t.token, plainToken: t.plain}
	if life > 2*time.Hour {
		out.RefreshIn = secs / 2 // as Entra: refresh long-lived tokens at half-life
	}
	if g.v1 {
		out.ExpiresOn = strconv.FormatInt(exp.Unix(), 10)
		out.NotBefore = strconv.FormatInt(s.now().Unix(), 10)
		out.Resource = g.resource
	}
	return out
}

// requestedResource finds the one resource a request asks for: v2 scope
// "<resource>/.default" (ignoring MSAL's openid offline_access profile), or
// v1 resource=.
func requestedResource(req TokenRequest) (string, error) {
	f := &req.Form
	if req.V1 && f.Get(ParamResource) != "" {
		return f.Get(ParamResource), nil
	}
	scope := f.Get(ParamScope)
	if scope == "" {
		if req.V1 {
			return "", errMissing(ParamResource)
		}
		return "", errMissing(ParamScope)
	}
	// The scopes other than MSAL's OIDC ones: first, and how many.
	var first string
	n := 0
	for sc := range strings.FieldsSeq(scope) {
		if !isOIDCScope(sc) {
			if n == 0 {
				first = sc
			}
			n++
		}
	}
	switch {
	case n == 0:
		return "", newErr(http.StatusBadRequest, errInvalidScope, CodeInvalidScope, "The provided value for the input parameter 'scope' isn't valid. The scope %s isn't valid: name one resource as '<resource>/.default'.", scope)
	case n > 1:
		return "", newErr(http.StatusBadRequest, errInvalidScope, CodeInvalidScope, "The provided value for the input parameter 'scope' isn't valid. The scope %s isn't valid: a client credentials request names exactly one resource.", scope)
	case !strings.HasSuffix(first, DefaultScopeSuffix):
		return "", newErr(http.StatusBadRequest, errInvalidScope, CodeScopeWithoutDefault, "The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope)
	}
	res := strings.TrimSuffix(first, DefaultScopeSuffix)
	if res == "" {
		return "", newErr(http.StatusBadRequest, errInvalidScope, CodeInvalidScope, "The provided value for the input parameter 'scope' isn't valid. The scope %s names no resource.", scope)
	}
	return res, nil
}

// identity returns the managed identity with this client ID and its
// federated credentials, from the cache when fresh.
func (s *Service) identity(ctx context.Context, clientID string) (*cachedIdentity, error) {
	defer trace.StartRegion(ctx, "identity lookup").End()
	key := strings.ToLower(clientID)
	now := s.now()
	s.cacheMu.Lock()
	c, ok := s.cache[key]
	gen := s.cacheGen
	s.cacheMu.Unlock()
	if ok && now.Sub(c.at) < credentialTTL && !now.Before(c.at) {
		if c.absent {
			return nil, storage.ErrNotFound
		}
		return c, nil
	}
	remember := func(c *cachedIdentity) {
		s.cacheMu.Lock()
		if _, ok := s.cache[key]; !ok {
			evict(s.cache, maxCachedIdentities) // bound memory under a flood of client IDs
		}
		if gen == s.cacheGen {
			s.cache[strings.Clone(key)] = c // not the request body's memory
		}
		s.cacheMu.Unlock()
	}
	id, err := s.store.GetIdentityByClientID(ctx, clientID)
	if errors.Is(err, storage.ErrNotFound) {
		remember(&cachedIdentity{absent: true, at: now})
	}
	if err != nil {
		return nil, err
	}
	// Every page: the cap per identity is configurable beyond a page.
	all, err := storage.All(func(p storage.Page) ([]storage.FederatedCredential, string, error) {
		p.Limit = 1000
		return s.store.ListFederatedCredentials(ctx, id.Ref(), p)
	})
	if err != nil {
		return nil, err
	}
	c = &cachedIdentity{identity: id, resourceID: resourceid.IdentityID(id.SubscriptionID, id.ResourceGroup, id.Name), fics: newFICIndex(all), at: now}
	remember(c)
	return c, nil
}

// Invalidate forgets every cached identity; call it after any write to
// identities or federated credentials so this process sees it at once.
func (s *Service) Invalidate() {
	s.cacheMu.Lock()
	clear(s.cache)
	s.cacheGen++
	s.cacheMu.Unlock()
	s.reuse.clear()
}

// secret verifies a client secret and returns the credential it is (see
// authn.ClaimCredential).
func (s *Service) secret(ctx context.Context, sp storage.ServicePrincipal, secret string) (string, error) {
	secrets, err := storage.All(func(p storage.Page) ([]storage.ClientSecret, string, error) {
		return s.store.ListClientSecrets(ctx, sp.AppID, p)
	})
	if err != nil {
		return "", err
	}
	m, ok := clientsecret.Match(secrets, secret)
	if !ok {
		return "", newErr(http.StatusUnauthorized, errInvalidClient, CodeInvalidSecret,
			"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", sp.AppID)
	}
	if !m.ExpiresAt.IsZero() && s.now().After(m.ExpiresAt) {
		return "", newErr(http.StatusUnauthorized, errInvalidClient, CodeExpiredSecret,
			"The provided client secret keys for app '%s' are expired (secret '%s...' expired %s). Create a new secret with: %s", sp.AppID, m.Hint, m.ExpiresAt.Format(time.RFC3339),
			shellquote.Join("ward", "ad", "sp", "credential", "reset", "--id", sp.AppID))
	}
	return authn.SecretCredential(m.KeyID), nil
}

// certificate verifies a certificate-signed client assertion (MSAL's
// ClientCertificateCredential): x5t#S256 (standard or url base64) or x5t
// names a registered certificate; iss = sub = client ID; aud = this
// tenant's token endpoint; exp at most 10 minutes ahead.
func (s *Service) certificate(ctx context.Context, sp storage.ServicePrincipal, raw, tenant string) (string, error) {
	a, err := federation.Parse(raw, s.certificateAlgorithm...)
	if err != nil {
		return "", assertionParseError(err)
	}
	certs, err := storage.All(func(p storage.Page) ([]storage.Certificate, string, error) {
		return s.store.ListCertificates(ctx, sp.AppID, p)
	})
	if err != nil {
		return "", err
	}
	thumb256, _ := a.Header["x5t#S256"].(string)
	thumb1, _ := a.Header["x5t"].(string)
	ders := make([][]byte, len(certs))
	for i, c := range certs {
		ders[i] = c.CertDER
	}
	cert, err := a.CertificateFor(ders)
	if err != nil {
		return "", err
	}
	if cert == nil {
		return "", newErr(http.StatusUnauthorized, errInvalidClient, CodeInvalidSignature,
			"Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '%s%s'] App '%s' has %d registered certificate(s); register this one with: %s",
			thumb256, thumb1, sp.AppID, len(certs), shellquote.Join("ward", "ad", "sp", "credential", "reset", "--id", sp.AppID, "--cert", "@cert.pem"))
	}
	if now := s.now(); now.After(cert.NotAfter) || now.Before(cert.NotBefore) {
		return "", newErr(http.StatusUnauthorized, errInvalidClient, CodeInvalidSignature, "The certificate used to sign the client assertion is outside its validity period (%s to %s).", cert.NotBefore.Format(time.RFC3339), cert.NotAfter.Format(time.RFC3339))
	}
	if err := a.Verify(cert.PublicKey); err != nil {
		return "", newErr(http.StatusUnauthorized, errInvalidClient, CodeInvalidSignature, "Client assertion failed signature validation: %v.", err)
	}
	if !strings.EqualFold(a.Claims.Issuer, sp.AppID) || !strings.EqualFold(a.Claims.Subject, sp.AppID) {
		return "", newErr(http.StatusUnauthorized, errInvalidClient, CodeInvalidJWT, "Invalid JWT token: the client assertion's iss and sub must both be the client ID '%s' (got iss '%s', sub '%s').", sp.AppID, a.Claims.Issuer, a.Claims.Subject)
	}
	endpoints := []string{s.publicURL + "/" + tenant + "/oauth2/v2.0/token", s.publicURL + "/" + tenant + "/oauth2/token"}
	okAud := false
	for _, aud := range a.Claims.Audience {
		for _, e := range endpoints {
			okAud = okAud || strings.EqualFold(strings.TrimSuffix(aud, "/"), e)
		}
	}
	if !okAud {
		return "", newErr(http.StatusUnauthorized, errInvalidClient, CodeInvalidJWT, "Invalid JWT token: the client assertion's audience %v is not this tenant's token endpoint '%s'.", []string(a.Claims.Audience), endpoints[0])
	}
	if err := a.CheckTime(s.now(), assertionLeeway*time.Second, 10*time.Minute); err != nil {
		return "", newErr(http.StatusUnauthorized, errInvalidClient, CodeAssertionTimeRange, "%v Certificate assertions may be valid for at most 10 minutes.", err)
	}
	for _, c := range certs {
		if bytes.Equal(c.CertDER, cert.Raw) {
			return authn.CertificateCredential(c.KeyID), nil
		}
	}
	return "", nil
}

func assertionParseError(err error) *Error {
	var ba *federation.BadAlgorithm
	if errors.As(err, &ba) {
		return newErr(http.StatusUnauthorized, errInvalidClient, CodeInvalidSignature, "Client assertion failed signature validation: %v.", err)
	}
	return newErr(http.StatusBadRequest, errInvalidRequest, CodeInvalidJWT, "JWT token is invalid or malformed: %v.", err)
}

// federated verifies a workload identity assertion against the identity's
// federated credentials: exact issuer, subject and audience, or exact
// issuer and audience with a claims matching expression that holds; then
// time, then the issuer's signature. A miss says what would have matched in the
// sign-in log always, and to the caller only when the assertion is a valid
// token of an issuer the identity trusts: knowing a client ID is not
// enough to learn the identity's issuers and subjects.
func (s *Service) federated(ctx context.Context, fics *ficIndex, raw string, rec *storage.SignIn) (string, error) {
	defer trace.StartRegion(ctx, "check client assertion").End()
	a, verifiedWith, err := s.verified.Parse(raw, s.now(), s.federatedAlgorithms...)
	if err != nil {
		return "", assertionParseError(err)
	}
	// The sign-in log keeps the claims as the assertion states them, signed
	// or not (they explain a refusal); Verified says whether a trusted
	// issuer's key vouched for them, and only then may a fix trust them.
	iss, sub := a.Claims.Issuer, a.Claims.Subject
	rec.Issuer, rec.Subject = iss, sub
	matched, miss := fics.match(iss, sub, a.StringClaim, a.Claims.Audience)
	if miss != nil {
		if s.provesTrustedIssuer(ctx, fics, a) {
			miss.Public = ""
			rec.Verified = true
		}
		return "", miss
	}
	if err := a.CheckTime(s.now(), assertionLeeway*time.Second, 0); err != nil {
		return "", newErr(http.StatusUnauthorized, errInvalidClient, CodeAssertionTimeRange, "%v", err)
	}
	key, err := s.issuers.Key(ctx, iss, a.KeyID)
	if err != nil {
		return "", issuerKeyError(err, iss, a.KeyID)
	}
	if err := s.verified.Verify(a, key, verifiedWith); err != nil {
		return "", newErr(http.StatusUnauthorized, errInvalidClient, CodeInvalidSignature, "Client assertion failed signature validation: %v.", err)
	}
	rec.Verified = true
	return fics.credential(matched), nil
}

// provesTrustedIssuer reports whether a is a currently valid token of an
// issuer that one of fics names exactly: its signature verifies with that
// issuer's keys. Only then may the caller see what would have matched.
func (s *Service) provesTrustedIssuer(ctx context.Context, fics *ficIndex, a *federation.Assertion) bool {
	if !fics.trusts(a.Claims.Issuer) {
		return false
	}
	if a.CheckTime(s.now(), assertionLeeway*time.Second, 0) != nil {
		return false
	}
	key, err := s.issuers.Key(ctx, a.Claims.Issuer, a.KeyID)
	return err == nil && a.Verify(key) == nil
}

// issuerKeyError turns a failure to find the issuer's key into Entra's
// error. The caller gets the classified reason (timed out, TLS
// verification failed, not reachable, ...); the sign-in log also gets the
// underlying error.
func issuerKeyError(err error, iss, kid string) *Error {
	var fe *federation.FetchError
	switch {
	case errors.Is(err, federation.ErrKeyNotFound):
		return newErr(http.StatusUnauthorized, errInvalidClient, CodeInvalidSignature,
			"Client assertion contains an invalid signature. [Reason - The key was not found., Key ID: '%s'] The issuer '%s' publishes no key with this kid; if the issuer rotated its keys, retry in 30 seconds.", kid, iss)
	case errors.As(err, &fe):
		e := newErr(http.StatusUnauthorized, errInvalidClient, CodeExternalOIDCFailed, "Request to External OIDC endpoint failed: %s.", fe.Error())
		if d := fe.Detail(); d != "" {
			e.Public, e.Message = e.Message, e.Message+" Cause: "+d
		}
		return e
	}
	e := newErr(http.StatusUnauthorized, errInvalidClient, CodeExternalOIDCFailed, "Request to External OIDC endpoint failed: %v.", err)
	e.Public = "Request to External OIDC endpoint failed."
	return e
}

const (
	ficDocs = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
	// ficDocsLegacy is the link in Entra's AADSTS70021 text.
	ficDocsLegacy = "https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation"
)

// matchFederated finds a credential of fics that accepts a token with
// only these claims (see ficIndex.match).
func matchFederated(fics []storage.FederatedCredential, iss, sub string, aud []string) (storage.FederatedCredential, *Error) {
	f, err := newFICIndex(fics).match(iss, sub, subjectClaims(sub), aud)
	if f == nil {
		return storage.FederatedCredential{}, err
	}
	return *f, err
}

func nearestIssuer(fics []storage.FederatedCredential, iss string) string {
	norm := func(s string) string { return strings.ToLower(strings.TrimRight(s, "/")) }
	var issuers []string
	for _, f := range fics {
		if norm(f.Issuer) == norm(iss) {
			what := "differs only in letter case"
			if strings.TrimRight(f.Issuer, "/") == strings.TrimRight(iss, "/") {
				what = "differs only by a trailing slash"
			}
			return fmt.Sprintf("Ward: the identity has a credential (%s) for issuer '%s', which %s from the assertion's issuer '%s'; issuers must match exactly.", f.Name, f.Issuer, what, iss)
		}
		if !slices.Contains(issuers, f.Issuer) {
			issuers = append(issuers, f.Issuer)
		}
	}
	return fmt.Sprintf("Ward: the identity trusts these issuers: '%s'.", strings.Join(issuers, "', '"))
}

func subjectsFor(fics []storage.FederatedCredential, sub string) string {
	best, bestD := "", -1
	var all []string
	for _, f := range fics {
		all = append(all, f.Subject)
		if d := distance(f.Subject, sub); bestD < 0 || d < bestD {
			best, bestD = f.Subject, d
		}
	}
	if bestD >= 0 && bestD <= 3 {
		return fmt.Sprintf("Ward: the identity has a credential for subject '%s'; the assertion's subject is '%s' (%d character(s) apart).", best, sub, bestD)
	}
	return fmt.Sprintf("Ward: for this issuer the identity has credentials for subject(s) '%s'; the assertion's subject is '%s'.", strings.Join(all, "', '"), sub)
}

// distance is the Levenshtein distance, bounded to short strings.
func distance(a, b string) int {
	if len(a) > 600 || len(b) > 600 {
		return 1 << 30
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
