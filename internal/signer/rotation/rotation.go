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

// Config configures a Handler.
type Config struct {
	Keys   *signer.Manager
	Auth   Authenticator
	Logger *slog.Logger
	Base   string // public URL, the authorization_uri of a 401's challenge
}

// Handler serves POST /ward/v1/keys/rotate.
type Handler struct{ cfg Config }

// New returns the handler; a nil Logger is slog.Default().
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Handler{cfg: cfg}
}

// Mount puts the rotation endpoint on mux: the mux authenticates the
// caller with the admin API's bearer token and checks Action at "/" before
// the handler runs.
func (h *Handler) Mount(mux *router.Mux) {
	mux.Authenticate(protocol.Name, router.Authenticator{
		Name: "Graph bearer token (Graph audience)",
		Authenticate: func(r *http.Request) (router.Caller, error) {
			p, err := h.cfg.Auth.Authenticate(r.Context(), r)
			if err != nil {
				return router.Caller{}, err
			}
			return router.Caller{ObjectID: p.ObjectID, AppID: p.AppID, Principal: p}, nil
		},
		Unauthorized: h.unauthorized,
		Forbidden: func(w http.ResponseWriter, _ *http.Request, d router.Denial) {
			grapherr.Write(w, http.StatusForbidden, "Authorization_RequestDenied", fmt.Sprintf(
				"Insufficient privileges to complete the operation. The client '%s' with object id '%s' needs '%s' at scope '%s' (a role such as Owner at '/' grants it).",
				d.Caller.AppID, d.Caller.ObjectID, d.Action, d.Scope))
		},
	})
	mux.Handle(router.Route{Method: http.MethodPost, Pattern: Path, Access: router.ActionAt(Action, "'/'", router.Root), Handler: h, Protocol: protocol})
}

// protocol is the endpoint on the wire: Graph-shaped errors, a recovered
// panic as Graph's 500.
var protocol = &router.Protocol{Name: "ward-signing-keys", Internal: func(w http.ResponseWriter, _ *http.Request) {
	grapherr.Write(w, http.StatusInternalServerError, "InternalServerError", "internal error")
}}

func (h *Handler) unauthorized(w http.ResponseWriter, _ *http.Request, err error) {
	w.Header().Set(challenge.Header, challenge.Graph(h.cfg.Base))
	grapherr.Write(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure: "+err.Error())
}

// Answer is the endpoint's response: the new key and every published kid.
type Answer struct {
	KID        string   `json:"kid"`
	Alg        string   `json:"alg"`
	ActiveFrom string   `json:"activeFrom"`
	Published  []string `json:"published"`
}

// ServeHTTP rotates the key for a caller the mux authorized (Mount).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, ok := router.CallerFrom(r.Context()); !ok {
		// Not served through a mux that ran the authenticator: refuse.
		h.unauthorized(w, r, authn.ErrNoCredentials)
		return
	}
	k, err := h.cfg.Keys.Rotate(r.Context())
	if err != nil {
		h.cfg.Logger.Error("signing-key rotation failed", "err", err)
		grapherr.Write(w, http.StatusInternalServerError, "InternalServerError", "The signing key could not be rotated: an internal error (see the server log).")
		return
	}
	out := Answer{KID: k.ID, Alg: string(k.Alg), ActiveFrom: k.ActiveFrom.UTC().Format(time.RFC3339), Published: []string{}}
	for _, pk := range h.cfg.Keys.JWKS().Keys {
		out.Published = append(out.Published, pk.KeyID)
	}
	grapherr.WriteJSON(w, http.StatusOK, out)
}
