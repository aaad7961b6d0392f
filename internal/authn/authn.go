// Package authn authenticates callers of Ward's management APIs by the
// bearer access tokens Ward's own token service issues.
package authn

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/ward-id/ward/internal/signer"
)

// Principal is an authenticated caller.
type Principal struct {
	ObjectID string
	AppID    string
	TenantID string
	// ManagedIdentity is the resource ID when the caller is a managed identity.
	ManagedIdentity string
	// Expires is when the token ends (its exp claim, without leeway):
	// anything derived from the token (a console session, a registry refresh
	// token) ends by then.
	Expires time.Time
	// Credential names the credential the token was issued for (the
	// ClaimCredential claim; see CredentialRef), "" when the token does not
	// say (a managed identity token from an agent).
	Credential string
}

// ErrNoCredentials means the request carried no bearer token at all.
var ErrNoCredentials = errors.New("the Authorization header is missing or is not a Bearer token")

// InvalidToken means a bearer token was present but not accepted.
type InvalidToken struct {
	Expired bool
	Reason  string
}

func (e *InvalidToken) Error() string { return "invalid access token: " + e.Reason }

// JWT verifies access tokens signed by Ward for one API.
type JWT struct {
	Keys      *signer.Manager
	Issuers   []string // accepted iss values (v1 and v2 forms of the tenant)
	Audiences []string // accepted aud values, compared case-insensitively
	Now       func() time.Time
}

type claims struct {
	jwt.Claims
	AppID    string `json:"appid"`
	Azp      string `json:"azp"`
	Oid      string `json:"oid"`
	Tid      string `json:"tid"`
	XmsMirid string `json:"xms_mirid"`
	Cred     string `json:"xms_ward_cred"`
}

const leeway = 5 * time.Minute

// Authenticate verifies the request's bearer token.
func (a *JWT) Authenticate(ctx context.Context, r *http.Request) (Principal, error) {
	raw, ok := BearerToken(r)
	if !ok {
		return Principal{}, ErrNoCredentials
	}
	return a.Verify(ctx, raw)
}

// Verify verifies a raw access token, as Authenticate does one from a
// header: token services that take a token in a form body (the container
// registry's exchange) ask here.
func (a *JWT) Verify(_ context.Context, raw string) (Principal, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return Principal{}, &InvalidToken{Reason: "the token is not a JWT signed with RS256 or ES256"}
	}
	if len(tok.Headers) != 1 {
		return Principal{}, &InvalidToken{Reason: "the token must have exactly one signature"}
	}
	key, ok := a.Keys.Lookup(tok.Headers[0].KeyID)
	if !ok {
		return Principal{}, &InvalidToken{Reason: fmt.Sprintf("the token's signing key '%s' is not one of this server's keys", tok.Headers[0].KeyID)}
	}
	var c claims
	if err := tok.Claims(key.Private.Public(), &c); err != nil {
		return Principal{}, &InvalidToken{Reason: "the token's signature is invalid"}
	}
	now := a.Now()
	if c.Expiry == nil || now.After(c.Expiry.Time().Add(leeway)) {
		return Principal{}, &InvalidToken{Expired: true, Reason: "the token is expired"}
	}
	if c.NotBefore != nil && now.Add(leeway).Before(c.NotBefore.Time()) {
		return Principal{}, &InvalidToken{Reason: "the token is not yet valid"}
	}
	if !slices.Contains(a.Issuers, c.Issuer) {
		return Principal{}, &InvalidToken{Reason: fmt.Sprintf("the token's issuer '%s' is not this tenant's", c.Issuer)}
	}
	audOK := false
	for _, aud := range c.Audience {
		audOK = audOK || slices.ContainsFunc(a.Audiences, func(s string) bool { return strings.EqualFold(s, aud) })
	}
	if !audOK {
		return Principal{}, &InvalidToken{Reason: fmt.Sprintf("the token's audience %v is not for this API; request a token for one of %v", []string(c.Audience), a.Audiences)}
	}
	// Ward mints xms_mirid into every managed identity's token: no lookup.
	p := Principal{ObjectID: c.Oid, AppID: c.AppID, TenantID: c.Tid, ManagedIdentity: c.XmsMirid, Expires: c.Expiry.Time(), Credential: c.Cred}
	if p.AppID == "" {
		p.AppID = c.Azp
	}
	return p, nil
}

// BearerToken extracts the token of an "Authorization: Bearer" header.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", false
	}
	return strings.TrimSpace(tok), true
}
