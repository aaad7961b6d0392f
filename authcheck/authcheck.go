// Package authcheck lets a team protect its own HTTP service with Ward the
// way Ward's vaults are protected: a Verifier checks the caller's access
// token against the tenant's published keys (found through OpenID
// discovery), and a Checker asks Ward's checkAccess API whether the caller
// holds an action at a resource. Middleware puts both in front of a handler.
//
// The service itself needs an identity with Reader (roleAssignments/read)
// at the resources it protects, so that it may ask about other principals.
package authcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TokenSource supplies the service's own bearer tokens for Ward's API
// (client.ClientCredentials satisfies it).
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// Claims are the verified claims of a caller's token.
type Claims struct {
	ObjectID string // oid: the principal to authorize
	AppID    string // appid or azp
	TenantID string
	Audience []string
	Expiry   time.Time
}

// Verifier validates Ward access tokens for one audience.
type Verifier struct {
	wardURL, tenant string
	audiences       []string
	http            *http.Client
	now             func() time.Time

	mu      sync.Mutex
	keys    jose.JSONWebKeySet
	issuer  []string
	fetched time.Time
}

// NewVerifier returns a Verifier for tokens issued by Ward at wardURL for
// tenant and one of audiences.
func NewVerifier(wardURL, tenant string, audiences []string, hc *http.Client) *Verifier {
	return &Verifier{wardURL: strings.TrimSuffix(wardURL, "/"), tenant: tenant, audiences: audiences, http: hc, now: time.Now}
}

func (v *Verifier) refresh(ctx context.Context) error {
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := getJSON(ctx, v.http, v.wardURL+"/"+v.tenant+"/v2.0/.well-known/openid-configuration", &doc); err != nil {
		return err
	}
	var set jose.JSONWebKeySet
	if err := getJSON(ctx, v.http, doc.JWKSURI, &set); err != nil {
		return err
	}
	v.keys, v.fetched = set, v.now()
	// Ward issues v1 tokens (…/{tenant}/) and v2 tokens (…/{tenant}/v2.0).
	v.issuer = []string{doc.Issuer, strings.TrimSuffix(doc.Issuer, "v2.0")}
	return nil
}

// Verify checks signature, issuer, audience and lifetime.
func (v *Verifier) Verify(ctx context.Context, raw string) (Claims, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil || len(tok.Headers) != 1 {
		return Claims{}, errors.New("the token is not a JWT signed with RS256 or ES256")
	}
	kid := tok.Headers[0].KeyID
	v.mu.Lock()
	keys := v.keys.Key(kid)
	// Unknown kid: the server may have rotated; refetch at most every 30 s.
	if len(keys) == 0 && v.now().Sub(v.fetched) > 30*time.Second {
		if err := v.refresh(ctx); err != nil {
			v.mu.Unlock()
			return Claims{}, fmt.Errorf("fetch Ward's signing keys: %w", err)
		}
		keys = v.keys.Key(kid)
	}
	issuers := v.issuer
	v.mu.Unlock()
	if len(keys) == 0 {
		return Claims{}, fmt.Errorf("the token's key %q is not published by Ward", kid)
	}
	var c struct {
		jwt.Claims
		AppID string `json:"appid"`
		Azp   string `json:"azp"`
		Oid   string `json:"oid"`
		Tid   string `json:"tid"`
	}
	if err := tok.Claims(keys[0].Key, &c); err != nil {
		return Claims{}, errors.New("the token's signature is invalid")
	}
	if err := c.Claims.ValidateWithLeeway(jwt.Expected{Time: v.now()}, 5*time.Minute); err != nil {
		return Claims{}, fmt.Errorf("the token is not valid now: %w", err)
	}
	if !slices.Contains(issuers, c.Issuer) {
		return Claims{}, fmt.Errorf("the token's issuer %q is not Ward's tenant %s", c.Issuer, v.tenant)
	}
	ok := false
	for _, a := range c.Audience {
		ok = ok || slices.ContainsFunc(v.audiences, func(s string) bool { return strings.EqualFold(s, a) })
	}
	if !ok {
		return Claims{}, fmt.Errorf("the token is for %v, not this service (%v)", []string(c.Audience), v.audiences)
	}
	app := c.AppID
	if app == "" {
		app = c.Azp
	}
	return Claims{ObjectID: c.Oid, AppID: app, TenantID: c.Tid, Audience: c.Audience, Expiry: c.Expiry.Time()}, nil
}

// Checker asks Ward's checkAccess API, with the service's own token.
type Checker struct {
	WardURL string
	HTTP    *http.Client
	Token   TokenSource
}

// Allowed reports whether principal holds action at resource.
func (c *Checker) Allowed(ctx context.Context, principalID, action, resource string, data bool) (bool, error) {
	body, _ := json.Marshal(map[string]any{
		"subject": map[string]string{"principalId": principalID}, "resource": map[string]string{"id": resource},
		"actions": []map[string]any{{"id": action, "isDataAction": data}},
	})
	tok, err := c.Token.Token(ctx)
	if err != nil {
		return false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.WardURL, "/")+"/providers/Microsoft.Authorization/checkAccess?api-version=2022-04-01", bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	data2, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("checkAccess answered %d: %s", resp.StatusCode, data2)
	}
	var out struct {
		Value []struct {
			AccessDecision string `json:"accessDecision"`
		} `json:"value"`
	}
	if err := json.Unmarshal(data2, &out); err != nil || len(out.Value) != 1 {
		return false, fmt.Errorf("checkAccess answered an unexpected body: %.200s", data2)
	}
	return out.Value[0].AccessDecision == "Allowed", nil
}

type claimsKey struct{}

// ClaimsFrom returns the verified caller of a request Middleware let through.
func ClaimsFrom(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(Claims)
	return c, ok
}

// Middleware lets a request through when its bearer token verifies and its
// caller holds action at resourceFor(r). Otherwise it answers 401 with a
// Bearer challenge naming Ward's authority and the audience to request, or
// 403 naming the missing action.
func Middleware(v *Verifier, c *Checker, action string, data bool, resourceFor func(*http.Request) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || raw == "" {
				challenge(w, v, "a Bearer token is required")
				return
			}
			claims, err := v.Verify(r.Context(), strings.TrimSpace(raw))
			if err != nil {
				challenge(w, v, err.Error())
				return
			}
			resource := resourceFor(r)
			allowed, err := c.Allowed(r.Context(), claims.ObjectID, action, resource, data)
			if err != nil {
				writeErr(w, http.StatusServiceUnavailable, "AuthorizationUnavailable", "Ward could not be asked: "+err.Error())
				return
			}
			if !allowed {
				writeErr(w, http.StatusForbidden, "Forbidden", fmt.Sprintf("Caller '%s' (object id '%s') does not have '%s' over '%s'. Assign a role that grants it at this scope or above.", claims.AppID, claims.ObjectID, action, resource))
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, claims)))
		})
	}
}

func challenge(w http.ResponseWriter, v *Verifier, reason string) {
	aud := ""
	if len(v.audiences) > 0 {
		aud = v.audiences[0]
	}
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization="%s/%s", resource="%s"`, v.wardURL, v.tenant, aud))
	writeErr(w, http.StatusUnauthorized, "Unauthorized", reason)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func getJSON(ctx context.Context, hc *http.Client, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}
