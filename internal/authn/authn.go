// Package authn authenticates callers of Ward's management API.
//
// The Authenticator interface is the seam where the token service's JWT
// verification drops in. Until then, SecretBearer accepts a service
// principal's client secret presented as a bearer token, checked against the
// salted hashes in storage.
package authn

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/clientsecret"
	"github.com/ward-id/ward/internal/storage"
)

// Principal is an authenticated caller.
type Principal struct {
	ObjectID string
	AppID    string
	TenantID string
}

// ErrNoCredentials means the request carried no bearer token at all.
var ErrNoCredentials = errors.New("authentication failed: the Authorization header is missing or not a Bearer token")

// ErrInvalidCredentials means a bearer token was present but not accepted.
var ErrInvalidCredentials = errors.New("the access token is invalid or expired")

// SecretBearer authenticates "Authorization: Bearer <client secret>" for one
// service principal (the bootstrap admin).
type SecretBearer struct {
	Store storage.Storage
	AppID string
	Now   func() time.Time
}

// Authenticate returns the principal whose secret the request presents.
func (a *SecretBearer) Authenticate(ctx context.Context, r *http.Request) (Principal, error) {
	tok, ok := BearerToken(r)
	if !ok {
		return Principal{}, ErrNoCredentials
	}
	secrets, err := a.Store.ListClientSecrets(ctx, a.AppID)
	if err != nil {
		return Principal{}, err
	}
	s, ok := clientsecret.Match(secrets, tok)
	if !ok || (!s.ExpiresAt.IsZero() && a.Now().After(s.ExpiresAt)) {
		return Principal{}, ErrInvalidCredentials
	}
	sp, err := a.Store.GetServicePrincipalByAppID(ctx, a.AppID)
	if err != nil {
		return Principal{}, err
	}
	return Principal{ObjectID: sp.ObjectID, AppID: sp.AppID, TenantID: sp.TenantID}, nil
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
