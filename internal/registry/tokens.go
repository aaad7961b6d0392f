package registry

import (
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Tokens signs the registry's refresh and access tokens with one Ed25519
// key derived from the KEK, so every replica signs with the same key and a
// replica needs nothing but the DSN and the KEK. Its self-signed
// certificate is the root a stock registry trusts (distribution's
// rootcertbundle, with the certificate in each token's x5c header); the
// certificate is built from fixed fields, so every replica's is the same
// bytes. Rotating the KEK rotates the key.
type Tokens struct {
	key    ed25519.PrivateKey
	cert   *x509.Certificate
	kid    string
	issuer string
	now    func() time.Time
}

// Issuer is the iss of the registry's tokens, which the registry's
// configuration names.
func Issuer(publicURL string) string { return strings.TrimSuffix(publicURL, "/") + "/acr" }

// TokensConfig configures Tokens.
type TokensConfig struct {
	// KEK derives the signing key.
	KEK []byte
	// Issuer is the tokens' iss (Issuer(publicURL)).
	Issuer string
	Now    func() time.Time // default time.Now
}

// NewTokens derives the signing key from the KEK.
func NewTokens(cfg TokensConfig) (*Tokens, error) {
	if len(cfg.KEK) == 0 {
		return nil, errors.New("registry tokens: no KEK")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	mac := hmac.New(sha256.New, cfg.KEK)
	mac.Write([]byte("ward registry token key v1"))
	key := ed25519.NewKeyFromSeed(mac.Sum(nil))
	pub := key.Public().(ed25519.PublicKey)
	sum := sha256.Sum256(pub)
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(sum[:16]),
		Subject:               pkix.Name{CommonName: "Ward registry token signer", Organization: []string{"Ward"}},
		NotBefore:             time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2125, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          sum[:20],
	}
	// Ed25519 signatures are deterministic: the same KEK gives the same
	// certificate on every replica.
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, pub, key)
	if err != nil {
		return nil, fmt.Errorf("registry token certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	jwk := jose.JSONWebKey{Key: pub}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return &Tokens{key: key, cert: cert, kid: base64.RawURLEncoding.EncodeToString(tp), issuer: cfg.Issuer, now: cfg.Now}, nil
}

// RootPEM is the certificate a registry trusts (its rootcertbundle).
func (t *Tokens) RootPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: t.cert.Raw})
}

// JWKS is the signing key as a key set (distribution's jwks option).
func (t *Tokens) JWKS() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: t.key.Public(), KeyID: t.kid, Algorithm: string(jose.EdDSA), Use: "sig",
		Certificates: []*x509.Certificate{t.cert}}}}
}

// IssuerName is the iss of the tokens.
func (t *Tokens) IssuerName() string { return t.issuer }

// ResourceActions is one entry of an access token's access claim.
type ResourceActions struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// refreshClaims are a registry refresh token's: the caller and the
// registry (aud) it may get access tokens for.
type refreshClaims struct {
	jwt.Claims
	GrantType string `json:"grant_type"`
	// TokenUse tells a refresh token from an access token, which carries
	// grant_type refresh_token too (the grant that made it), as ACR's do.
	TokenUse string `json:"token_use"`
	Tenant   string `json:"tenant,omitempty"`
	AppID    string `json:"appid,omitempty"`
	// Mirid is the managed identity's resource ID, when the caller is one.
	Mirid string `json:"xms_mirid,omitempty"`
}

type accessClaims struct {
	jwt.Claims
	GrantType string            `json:"grant_type"`
	Tenant    string            `json:"tenant,omitempty"`
	Access    []ResourceActions `json:"access"`
}

func (t *Tokens) sign(claims any) (string, error) {
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("x5c", []string{base64.StdEncoding.EncodeToString(t.cert.Raw)})
	opts = opts.WithHeader(jose.HeaderKey("kid"), t.kid)
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: t.key}, opts)
	if err != nil {
		return "", err
	}
	return jwt.Signed(sig).Claims(claims).Serialize()
}

func jti() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Caller is who a refresh token was issued to.
type Caller struct {
	ObjectID, TenantID, AppID, ManagedIdentity string
}

// RefreshToken mints a refresh token for caller at service (a login
// server), expiring at the earlier of RefreshTokenLifetime and notAfter
// (the exchanged token's expiry): it never outlives its source.
func (t *Tokens) RefreshToken(c Caller, service string, notAfter time.Time) (string, time.Time, error) {
	now := t.now()
	exp := now.Add(RefreshTokenLifetime)
	if !notAfter.IsZero() && notAfter.Before(exp) {
		exp = notAfter
	}
	cl := refreshClaims{Claims: jwt.Claims{ID: jti(), Subject: c.ObjectID, Issuer: t.issuer, Audience: jwt.Audience{service},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(exp)},
		GrantType: GrantRefreshToken, TokenUse: tokenUseRefresh, Tenant: c.TenantID, AppID: c.AppID, Mirid: c.ManagedIdentity}
	raw, err := t.sign(cl)
	return raw, exp, err
}

const tokenUseRefresh = "refresh"

// errInvalidRefresh is a refresh token this service did not issue for the
// service asked, or one that has expired.
var errInvalidRefresh = errors.New("the refresh token is invalid, expired, or was not issued for this registry")

// VerifyRefresh checks a refresh token for service and returns its caller.
func (t *Tokens) VerifyRefresh(raw, service string) (Caller, error) {
	if len(raw) > 16<<10 {
		return Caller{}, errInvalidRefresh
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil || len(tok.Headers) != 1 {
		return Caller{}, errInvalidRefresh
	}
	var cl refreshClaims
	if err := tok.Claims(t.key.Public(), &cl); err != nil {
		return Caller{}, errInvalidRefresh
	}
	if cl.GrantType != GrantRefreshToken || cl.TokenUse != tokenUseRefresh || cl.Subject == "" {
		return Caller{}, errInvalidRefresh
	}
	if err := cl.ValidateWithLeeway(jwt.Expected{Issuer: t.issuer, Time: t.now()}, 0); err != nil {
		return Caller{}, errInvalidRefresh
	}
	if !slices.ContainsFunc(cl.Audience, func(a string) bool { return strings.EqualFold(a, service) }) {
		return Caller{}, errInvalidRefresh
	}
	return Caller{ObjectID: cl.Subject, TenantID: cl.Tenant, AppID: cl.AppID, ManagedIdentity: cl.Mirid}, nil
}

// errInvalidAccess is a bearer token on /v2/ that this service did not
// issue as an access token for the registry asked, or one that expired.
var errInvalidAccess = errors.New("the access token is invalid, expired, or was not issued for this registry; get one from " + PathToken)

// VerifyAccess checks an access token for service (a login server) and
// returns its caller: what the router authenticates /v2/ requests with.
// What the token allows is the registry's to decide, from its access claim.
func (t *Tokens) VerifyAccess(raw, service string) (Caller, error) {
	if len(raw) > 64<<10 {
		return Caller{}, errInvalidAccess
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil || len(tok.Headers) != 1 {
		return Caller{}, errInvalidAccess
	}
	var cl struct {
		accessClaims
		TokenUse string `json:"token_use"`
	}
	if err := tok.Claims(t.key.Public(), &cl); err != nil {
		return Caller{}, errInvalidAccess
	}
	if cl.TokenUse != "" || cl.Subject == "" {
		return Caller{}, errInvalidAccess // a refresh token is no access token
	}
	if err := cl.ValidateWithLeeway(jwt.Expected{Issuer: t.issuer, Time: t.now()}, 0); err != nil {
		return Caller{}, errInvalidAccess
	}
	if !slices.ContainsFunc(cl.Audience, func(a string) bool { return strings.EqualFold(a, service) }) {
		return Caller{}, errInvalidAccess
	}
	return Caller{ObjectID: cl.Subject, TenantID: cl.Tenant}, nil
}

// AccessToken mints an access token for the registry at service whose
// access claim is access (already decided by RBAC).
func (t *Tokens) AccessToken(c Caller, service string, access []ResourceActions) (string, time.Time, error) {
	now := t.now()
	exp := now.Add(AccessTokenLifetime)
	if access == nil {
		access = []ResourceActions{}
	}
	cl := accessClaims{Claims: jwt.Claims{ID: jti(), Subject: c.ObjectID, Issuer: t.issuer, Audience: jwt.Audience{service},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(exp)},
		GrantType: GrantRefreshToken, Tenant: c.TenantID, Access: access}
	raw, err := t.sign(cl)
	return raw, exp, err
}
