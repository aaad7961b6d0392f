// Package rotation serves Ward's admin endpoint for its token-signing keys,
// POST /ward/v1/keys/rotate: the signer's rotation put on HTTP, authorized
// with the RBAC action Ward/signingKeys/rotate/action at "/". It lives
// beside the signer (which knows nothing of HTTP) rather than in the
// directory, which manages service principals and has no reason to change
// when rotation does. Errors use the Graph-shaped envelope of the rest of
// Ward's admin API.
package rotation

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/challenge"
	"github.com/ward-id/ward/internal/grapherr"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/signer"
)

// Action is the RBAC action that allows rotating the signing key, checked
// at "/" (the keys sign for the whole tenant).
const Action = "Ward/signingKeys/rotate/action"

// Path is where the endpoint is mounted.
const Path = "/ward/v1/keys/rotate"

// Authenticator identifies the caller.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (authn.Principal, error)
}

// Access answers RBAC questions.
type Access interface {
	Allowed(principalID, action, scope string) bool
}

// Handler serves POST /ward/v1/keys/rotate.
type Handler struct {
	Keys   *signer.Manager
	Auth   Authenticator
	Access Access
	Log    *slog.Logger
	Base   string // public URL, the authorization_uri of a 401's challenge
}

// Mount puts the rotation endpoint on mux.
func (h *Handler) Mount(mux *router.Mux) {
	mux.Handle(router.Route{Method: http.MethodPost, Pattern: Path, Access: router.Action(Action), Handler: h})
}

// Answer is the endpoint's response: the new key and every published kid.
type Answer struct {
	KID        string   `json:"kid"`
	Alg        string   `json:"alg"`
	ActiveFrom string   `json:"activeFrom"`
	Published  []string `json:"published"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			h.Log.Error("signing-key rotation panic", "panic", v)
			grapherr.Write(w, http.StatusInternalServerError, "InternalServerError", "internal error")
		}
	}()
	p, err := h.Auth.Authenticate(r.Context(), r)
	if err != nil {
		w.Header().Set(challenge.Header, challenge.Graph(h.Base))
		grapherr.Write(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure: "+err.Error())
		return
	}
	if !h.Access.Allowed(p.ObjectID, Action, "/") {
		grapherr.Write(w, http.StatusForbidden, "Authorization_RequestDenied", fmt.Sprintf(
			"Insufficient privileges to complete the operation. The client '%s' with object id '%s' needs '%s' at scope '/' (a role such as Owner at '/' grants it).",
			p.AppID, p.ObjectID, Action))
		return
	}
	k, err := h.Keys.Rotate(r.Context())
	if err != nil {
		h.Log.Error("signing-key rotation failed", "err", err)
		grapherr.Write(w, http.StatusInternalServerError, "InternalServerError", "The signing key could not be rotated: an internal error (see the server log).")
		return
	}
	out := Answer{KID: k.ID, Alg: string(k.Alg), ActiveFrom: k.ActiveFrom.UTC().Format(time.RFC3339), Published: []string{}}
	for _, pk := range h.Keys.JWKS().Keys {
		out.Published = append(out.Published, pk.KeyID)
	}
	grapherr.WriteJSON(w, http.StatusOK, out)
}
