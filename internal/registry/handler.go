package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/httpbody"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/storage"
)

// Backend serves a registry's /v2/ once the registry is known to exist.
type Backend interface {
	ServeRegistry(w http.ResponseWriter, r *http.Request, reg storage.Registry)
}

// Verifier verifies the Entra access token an exchange presents.
type Verifier interface {
	Verify(ctx context.Context, raw string) (authn.Principal, error)
}

// Access answers RBAC's question for the registry's actions.
type Access interface {
	Allowed(principalID, action, scope string) bool
}

// HandlerConfig configures a Handler.
type HandlerConfig struct {
	Svc      *Service
	Tokens   *Tokens
	Verifier Verifier
	Access   Access
	TenantID string
	// Registry serves /v2/ (the in-process CNCF distribution registries,
	// or an upstream one); nil answers /v2/ with the challenge alone.
	Registry Backend
	Logger   *slog.Logger
}

// Handler serves the ACR token service on every login server host:
// /oauth2/exchange, /oauth2/token and, through Registry, /v2/.
type Handler struct{ cfg HandlerConfig }

// NewHandler returns the handler; a nil Logger is slog.Default().
func NewHandler(cfg HandlerConfig) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Handler{cfg: cfg}
}

// protocol is the token service on the wire: a recovered panic is the
// registry's error envelope.
var protocol = &router.Protocol{Name: "registry", Internal: func(w http.ResponseWriter, _ *http.Request) {
	writeErr(w, http.StatusInternalServerError, "UNKNOWN", "internal error")
}}

type errorsJSON struct {
	Errors []errorJSON `json:"errors"`
}

type errorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeErr answers in the registry's error envelope, which docker,
// containerd and az print.
func writeErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorsJSON{Errors: []errorJSON{{Code: code, Message: msg}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	httpbody.WriteJSON(w, status, v, []byte(`{"errors":[{"code":"UNKNOWN","message":"Ward could not encode the response; see its log."}]}`))
}

// Challenge is the Www-Authenticate header of a login server's /v2/.
func Challenge(loginServer string) string {
	return fmt.Sprintf(`Bearer realm="https://%s%s",service="%s"`, loginServer, PathToken, loginServer)
}

// Mount puts the token service and the registry on mux for login server
// hosts.
func (h *Handler) Mount(mux *router.Mux) {
	mux.HostClass(HostClass, func(host string) bool { _, ok := h.cfg.Svc.Hosts.RegistryFromHost(host); return ok })
	mux.Authenticate(protocol.Name, h.authenticator())
	form := func(method, path string, a router.Access, fn http.HandlerFunc) {
		mux.Handle(router.Route{Host: HostClass, Method: method, Pattern: path, Access: a, Handler: fn, Protocol: protocol, MaxBody: MaxFormBytes})
	}
	form(http.MethodPost, PathExchange, router.Public("the form's Entra access token (audience containerregistry.azure.net or ARM) is the credential; answers a refresh token bound to the caller and this registry"), h.exchange)
	tokenRule := router.Public("the registry refresh token (form, or Basic with the null GUID user) is the credential; the access claim is what RBAC grants the caller at the registry")
	form(http.MethodPost, PathToken, tokenRule, h.token)
	form(http.MethodGet, PathToken, tokenRule, h.token)
	v2 := router.Handler("a registry access token from " + PathToken + "; the registry grants what its access claim covers (" + ActionPull + ", " + ActionPush + ", " + ActionDelete + " at the registry), else 401 insufficient_scope")
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete} {
		for _, p := range []string{"/v2", "/v2/{path...}"} {
			if m != http.MethodGet && p == "/v2" {
				continue
			}
			mux.Handle(router.Route{Host: HostClass, Method: m, Pattern: p, Access: v2, Handler: http.HandlerFunc(h.v2), Protocol: protocol, Stream: true})
		}
	}
	mux.NotFound(HostClass, "/", func(w http.ResponseWriter, r *http.Request, status int, _ []string) {
		writeErr(w, status, "NOT_FOUND", fmt.Sprintf("Ward's registries serve /v2/ and /oauth2/ only; %s %s is not served.", r.Method, r.URL.Path))
	})
}

// errNoBearer is a /v2/ request without a bearer token: the challenge
// tells the client where to get one.
var errNoBearer = errors.New("authentication required")

// authenticator is how the router authenticates /v2/: an access token this
// token service issued for the host's login server (the form and Basic
// credentials of /oauth2/ are public routes that check their own). The
// registry then grants what the token's access claim covers, and answers
// 401 insufficient_scope for the rest.
func (h *Handler) authenticator() router.Authenticator {
	return router.Authenticator{
		Name: "registry access token (from " + PathToken + ") for the login server",
		Authenticate: func(r *http.Request) (router.Caller, error) {
			v := r.Header.Get("Authorization")
			if len(v) <= 7 || !strings.EqualFold(v[:7], "Bearer ") {
				return router.Caller{}, errNoBearer
			}
			name, _ := h.cfg.Svc.Hosts.RegistryFromHost(r.Host)
			c, err := h.cfg.Tokens.VerifyAccess(strings.TrimSpace(v[7:]), h.cfg.Svc.Hosts.LoginServer(name))
			if err != nil {
				return router.Caller{}, err
			}
			return router.Caller{ObjectID: c.ObjectID, Principal: c}, nil
		},
		Unauthorized: func(w http.ResponseWriter, r *http.Request, err error) {
			name, _ := h.cfg.Svc.Hosts.RegistryFromHost(r.Host)
			w.Header().Set("Www-Authenticate", Challenge(h.cfg.Svc.Hosts.LoginServer(name)))
			writeErr(w, http.StatusUnauthorized, "UNAUTHORIZED", err.Error())
		},
		Forbidden: func(w http.ResponseWriter, _ *http.Request, _ router.Denial) {
			writeErr(w, http.StatusForbidden, "DENIED", "requested access to the resource is denied")
		},
	}
}

// registry resolves the request's host to an existing registry.
func (h *Handler) registry(w http.ResponseWriter, r *http.Request) (storage.Registry, bool) {
	name, _ := h.cfg.Svc.Hosts.RegistryFromHost(r.Host)
	reg, err := h.cfg.Svc.ByName(r.Context(), name)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		writeErr(w, http.StatusNotFound, "NAME_UNKNOWN", fmt.Sprintf("The registry '%s' does not exist on this Ward server.", name))
		return reg, false
	case err != nil:
		h.internal(w, err)
		return reg, false
	}
	return reg, true
}

func (h *Handler) internal(w http.ResponseWriter, err error) {
	h.cfg.Logger.Error("registry token service", "err", err)
	writeErr(w, http.StatusInternalServerError, "UNKNOWN", "internal error")
}

// v2 hands /v2/ to the registry once the registry is known to exist.
func (h *Handler) v2(w http.ResponseWriter, r *http.Request) {
	reg, ok := h.registry(w, r)
	if !ok {
		return
	}
	if h.cfg.Registry == nil {
		w.Header().Set("Www-Authenticate", Challenge(h.cfg.Svc.Hosts.LoginServer(reg.Name)))
		writeErr(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required; this Ward serves the token service only")
		return
	}
	h.cfg.Registry.ServeRegistry(w, r, reg)
}

// service checks the form's service names this host's login server.
func (h *Handler) service(w http.ResponseWriter, r *http.Request, reg storage.Registry, service string) bool {
	want := h.cfg.Svc.Hosts.LoginServer(reg.Name)
	if service == "" {
		writeErr(w, http.StatusBadRequest, "UNSUPPORTED", "the service parameter is required: the registry's login server, "+want)
		return false
	}
	if !strings.EqualFold(service, want) {
		writeErr(w, http.StatusUnauthorized, "UNAUTHORIZED", fmt.Sprintf("the service '%s' is not this registry's login server '%s'", service, want))
		return false
	}
	return true
}

// readForm parses the query and form body of a token request; a body past
// the route's cap is 413, a bad encoding or broken read 400, in the
// registry's errors array.
func readForm(w http.ResponseWriter, r *http.Request) bool {
	err := httpbody.Form(r)
	switch {
	case err == nil:
		return true
	case httpbody.Is(err, httpbody.TooLarge):
		writeErr(w, http.StatusRequestEntityTooLarge, "UNSUPPORTED", fmt.Sprintf("the body must be a form (application/x-www-form-urlencoded) of at most %d KiB", MaxFormBytes>>10))
	default:
		writeErr(w, http.StatusBadRequest, "UNSUPPORTED", fmt.Sprintf("the body must be a form (application/x-www-form-urlencoded) of at most %d KiB: %v", MaxFormBytes>>10, err))
	}
	return false
}

// exchange answers POST /oauth2/exchange: an Entra access token for a
// registry refresh token.
func (h *Handler) exchange(w http.ResponseWriter, r *http.Request) {
	if !readForm(w, r) {
		return
	}
	reg, ok := h.registry(w, r)
	if !ok {
		return
	}
	f := r.PostForm
	grant := f.Get("grant_type")
	raw := f.Get("access_token")
	switch grant {
	case GrantAccessToken, GrantAccessTokenRefreshToken:
	case GrantRefreshToken:
		if raw == "" {
			raw = f.Get("refresh_token")
		}
	default:
		writeErr(w, http.StatusBadRequest, "UNSUPPORTED", fmt.Sprintf("grant_type '%s' is not supported; use access_token, access_token_refresh_token or refresh_token", grant))
		return
	}
	if !h.service(w, r, reg, f.Get("service")) {
		return
	}
	if raw == "" {
		writeErr(w, http.StatusBadRequest, "UNSUPPORTED", "the access_token parameter is required: an Entra access token for https://containerregistry.azure.net")
		return
	}
	p, err := h.cfg.Verifier.Verify(r.Context(), raw)
	if err != nil {
		writeErr(w, http.StatusUnauthorized, "UNAUTHORIZED", "the access token was refused: "+err.Error())
		return
	}
	if t := f.Get("tenant"); t != "" && p.TenantID != "" && !strings.EqualFold(t, p.TenantID) {
		writeErr(w, http.StatusUnauthorized, "UNAUTHORIZED", fmt.Sprintf("the access token is of tenant '%s', not '%s'", p.TenantID, t))
		return
	}
	rt, _, err := h.cfg.Tokens.RefreshToken(Caller{ObjectID: p.ObjectID, TenantID: p.TenantID, AppID: p.AppID, ManagedIdentity: p.ManagedIdentity},
		h.cfg.Svc.Hosts.LoginServer(reg.Name), p.Expires)
	if err != nil {
		h.internal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"refresh_token": rt})
}

// token answers /oauth2/token: a refresh token (form, containerd's
// password grant or Basic auth with the null GUID) for an access token
// whose access is what RBAC grants at the registry.
func (h *Handler) token(w http.ResponseWriter, r *http.Request) {
	if !readForm(w, r) {
		return
	}
	reg, ok := h.registry(w, r)
	if !ok {
		return
	}
	f := r.Form
	var refresh string
	switch {
	case r.Method == http.MethodGet:
		user, pass, ok := r.BasicAuth()
		if !ok {
			w.Header().Set("Www-Authenticate", `Basic realm="`+h.cfg.Svc.Hosts.LoginServer(reg.Name)+`"`)
			writeErr(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required: Basic with user "+NullUsername+" and a registry refresh token")
			return
		}
		if user != NullUsername {
			writeErr(w, http.StatusUnauthorized, "UNAUTHORIZED", "the user name must be "+NullUsername+" with a registry refresh token as the password")
			return
		}
		refresh = pass
	case f.Get("grant_type") == GrantRefreshToken:
		refresh = f.Get("refresh_token")
	case f.Get("grant_type") == GrantPassword:
		if f.Get("username") != NullUsername {
			writeErr(w, http.StatusUnauthorized, "UNAUTHORIZED", "the user name must be "+NullUsername+" with a registry refresh token as the password")
			return
		}
		refresh = f.Get("password")
	default:
		writeErr(w, http.StatusBadRequest, "UNSUPPORTED", fmt.Sprintf("grant_type '%s' is not supported; use refresh_token or password", f.Get("grant_type")))
		return
	}
	if !h.service(w, r, reg, f.Get("service")) {
		return
	}
	scopes, err := ParseScopes(f["scope"])
	if err != nil {
		writeErr(w, http.StatusBadRequest, "UNSUPPORTED", err.Error())
		return
	}
	loginServer := h.cfg.Svc.Hosts.LoginServer(reg.Name)
	caller, err := h.cfg.Tokens.VerifyRefresh(refresh, loginServer)
	if err != nil {
		writeErr(w, http.StatusUnauthorized, "UNAUTHORIZED", err.Error())
		return
	}
	access := Grant(h.cfg.Access, caller.ObjectID, ResourceID(reg), scopes)
	at, _, err := h.cfg.Tokens.AccessToken(caller, loginServer, access)
	if err != nil {
		h.internal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"access_token": at})
}
