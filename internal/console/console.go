package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/authz"
	"github.com/ward-id/ward/internal/clusters"
	"github.com/ward-id/ward/internal/directory"
	"github.com/ward-id/ward/internal/httpbody"
	"github.com/ward-id/ward/internal/msi"
	"github.com/ward-id/ward/internal/resources"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/vault"
)

// Wire names of the console.
const (
	// CookieName is the session cookie; the __Host- prefix makes browsers
	// require Secure, Path=/ and no Domain.
	CookieName = "__Host-ward-console"
	// HeaderCSRF carries the session's CSRF token on every write.
	HeaderCSRF = "X-Ward-CSRF"
	// PathLogin redeems a one-time link: /console/login?code=...
	PathLogin = "/console/login"
	// PathLinks is where `ward console` asks for a link (POST, bearer token).
	PathLinks = "/console/api/links"
)

//go:embed static
var staticFiles embed.FS

// Authenticator verifies a management bearer token.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (authn.Principal, error)
}

// Store is what the console reads that no service serves: the sign-in and
// activity logs, and the point reads that resolve a principal (who a
// session is, whose access "can X do Y?" asks about, whether a session's
// credential still exists). Every object the views list is read through
// the services instead, as the API reads it.
type Store interface {
	GetServicePrincipal(ctx context.Context, objectID string) (storage.ServicePrincipal, error)
	GetServicePrincipalByAppID(ctx context.Context, appID string) (storage.ServicePrincipal, error)
	ListClientSecrets(ctx context.Context, appID string, p storage.Page) ([]storage.ClientSecret, string, error)
	ListCertificates(ctx context.Context, appID string, p storage.Page) ([]storage.Certificate, string, error)
	GetIdentity(ctx context.Context, ref storage.IdentityRef) (storage.Identity, error)
	GetIdentityByClientID(ctx context.Context, clientID string) (storage.Identity, error)
	GetIdentityByPrincipalID(ctx context.Context, principalID string) (storage.Identity, error)
	GetFederatedCredential(ctx context.Context, ref storage.IdentityRef, name string) (storage.FederatedCredential, error)
	ListSignIns(ctx context.Context, since time.Time, limit int) ([]storage.SignIn, error)
	ListActivity(ctx context.Context, sub string, since time.Time, limit int) ([]storage.ActivityEvent, error)
	RecordActivity(ctx context.Context, e storage.ActivityEvent) error
}

// Config is what the console is built from: the services the server has
// already constructed for the management and directory APIs. The console
// reads and writes through them, with each object's read action checked
// by Access at the object's own scope, so it shows no more than the caller
// could read through the API.
type Config struct {
	Groups     *resources.Service
	Identities *msi.Service
	Clusters   *clusters.Service // nil: no clusters
	Vaults     *vault.Service    // nil: no vaults
	// Compliance scans for non-compliant resources (the policy view); nil
	// lists none.
	Compliance Compliance
	Directory  *directory.Service
	Access     *authz.Service
	Store      Store
	// Auth verifies management tokens (the link endpoint, and scripts).
	Auth      Authenticator
	PublicURL string
	Now       func() time.Time
	Logger    *slog.Logger
}

// Handler serves the console.
type Handler struct {
	cfg      Config
	sessions *sessions
	policy   directory.Policy
	static   fs.FS
	tokens   graphTokens
}

// New returns the console handler.
func New(cfg Config) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	sub, _ := fs.Sub(staticFiles, "static")
	return &Handler{cfg: cfg, sessions: newSessions(cfg.Now), policy: directory.Policy{Access: cfg.Access}, static: sub, tokens: newGraphTokens()}
}

// maxBody caps a console request's body (the mux applies it): the console
// reads only small JSON requests.
const maxBody = 64 << 10

// Mount puts the console's routes on mux.
func (h *Handler) Mount(mux *router.Mux) {
	mux.Authenticate(protocol.Name, h.authenticator())
	mux.Authenticate(linkProtocol.Name, h.linkAuthenticator())
	add := func(method, pattern string, a router.Access, fn http.HandlerFunc) {
		mux.Handle(router.Route{Method: method, Pattern: pattern, Access: a, Handler: h.secured(fn), Protocol: protocol, MaxBody: maxBody})
	}
	page := router.Public("the console's page and its embedded assets hold no data: every view's data comes from the /console/api routes, authorized per principal")
	add("GET", "/console", page, h.index)
	add("GET", "/console/assets/{file}", page, h.asset)
	add("GET", PathLogin, router.Public("redeems a one-time, two-minute link that `ward console` obtained with the principal's own token; an unknown or used code gets 401 and nothing else"), h.login)

	anyCaller := "any signed-in caller (console session cookie, CSRF token on writes; or a management bearer token)"
	mux.Handle(router.Route{Method: "POST", Pattern: PathLinks, Protocol: linkProtocol, MaxBody: maxBody, Handler: h.secured(h.newLink),
		Access: router.Handler("a management bearer token only (a session cookie cannot renew itself); the link signs a browser in as the caller itself, with no more rights than its token and no longer than it lives")})
	add("GET", "/console/api/me", router.Handler(anyCaller+"; answers who the caller is"), h.me)
	add("POST", "/console/api/logout", router.Handler(anyCaller+"; ends the caller's own session"), h.logout)
	add("GET", "/console/api/explorer", router.Handler(anyCaller+"; lists only the objects the caller may read through ARM and the directory API (each object's read action at its scope)"), h.explorer)
	add("GET", "/console/api/graph", router.Handler(anyCaller+"; the graph holds only objects the caller may read (each object's read action at its scope)"), h.graph)
	add("GET", "/console/api/activity", router.Handler(anyCaller+"; events of the subscriptions where the caller holds "+actionActivityRead), h.activity)
	add("GET", "/console/api/policy", router.Handler(anyCaller+"; scans only the subscriptions and groups where the caller holds "+actionPolicyStatesRead+", as the policyStates queryResults route"), h.policyStates)
	signIns := router.ActionAt(directory.ActionAuditLogsRead, "'/'", router.Root)
	add("GET", "/console/api/signins", signIns, h.signIns)
	add("GET", "/console/api/signins/stream", signIns.Then("the stream re-checks the session (or token) and the action every 2 s and stops when either ends"), h.signInStream)
	add("GET", "/console/api/check", router.Handler(anyCaller+"; a principal may check its own access; another's needs Microsoft.Authorization/roleAssignments/read at the scope, as checkAccess"), h.check)
	add("POST", "/console/api/fix/federated-credential", router.Handler(anyCaller+"; "+actionFICWrite+" at the identity, as PUT of the credential through ARM; recorded in the activity log"), h.fixFederatedCredential)
	mux.NotFound("", "/console/", func(w http.ResponseWriter, r *http.Request, status int, _ []string) {
		writeErr(w, status, "NotFound", "No console route is "+r.Method+" "+r.URL.Path+".")
	})
}

// protocol is the console on the wire for the mux: a recovered panic is the
// console's JSON 500.
var protocol = &router.Protocol{Name: "console", Internal: func(w http.ResponseWriter, _ *http.Request) {
	writeErr(w, http.StatusInternalServerError, "InternalServerError", "internal error")
}}

// linkProtocol is the sign-in link route: the console on the wire, with
// its own authenticator (a bearer token only).
var linkProtocol = &router.Protocol{Name: "console-link", Internal: protocol.Internal}

// secured sets the headers every console answer carries (the mux recovers
// panics).
func (h *Handler) secured(fn http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		fn(w, r)
	})
}

// caller is who a console API request acts as.
type caller struct {
	Who
	sid  string
	sess *session
	// until is when the caller's authentication ends: the session's end,
	// or the bearer token's expiry.
	until time.Time
}

// errCSRF refuses a write through a session without the session's CSRF
// token or from another origin.
var errCSRF = errors.New("csrf")

// sessionEnded is a session that was revoked (its principal or credential
// removed) and no bearer token beside it.
type sessionEnded struct{ why string }

func (e *sessionEnded) Error() string { return "This console session has ended: " + e.why + ". " }

// storeError is a store failure while checking a session: a 500, not a 401.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }

// identify finds the caller: the session cookie, else a bearer token.
// Writes through a session need the CSRF header and a same-origin Origin.
// A session is good only while its principal and the credential it signed
// in with exist in the store, read on every request: a deletion on any
// replica ends it on every replica at its next request.
func (h *Handler) identify(r *http.Request) (caller, error) {
	var ended error
	if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
		if s, ok := h.sessions.get(c.Value); ok {
			why, err := h.revoked(r.Context(), s)
			if err != nil {
				return caller{}, &storeError{err}
			}
			if why == "" {
				if r.Method != http.MethodGet && r.Method != http.MethodHead {
					if !csrfOK(s, r.Header.Get(HeaderCSRF)) || !h.sameOrigin(r) {
						return caller{}, errCSRF
					}
				}
				return caller{Who: s.who, sid: c.Value, sess: &s, until: s.ends}, nil
			}
			h.sessions.end(c.Value)
			h.cfg.Logger.Info("console session ended", "principal", s.who.ObjectID, "reason", why)
			ended = &sessionEnded{why}
		}
	}
	p, err := h.bearer(r)
	switch {
	case err == nil:
		return caller{Who: Who{ObjectID: p.ObjectID, AppID: p.AppID}, until: p.Expires}, nil
	case !errors.Is(err, authn.ErrNoCredentials):
		return caller{}, err
	case ended != nil:
		return caller{}, ended
	}
	return caller{}, authn.ErrNoCredentials
}

// unauthorized answers a caller identify refused.
func (h *Handler) unauthorized(w http.ResponseWriter, _ *http.Request, err error) {
	var se *storeError
	var ended *sessionEnded
	switch {
	case errors.As(err, &se):
		h.fail(w, se.err)
	case errors.Is(err, errCSRF):
		writeErr(w, http.StatusForbidden, "CSRFTokenInvalid", "This write needs the session's CSRF token in "+HeaderCSRF+" and a same-origin request.")
	case errors.As(err, &ended):
		writeErr(w, http.StatusUnauthorized, "SessionEnded", ended.Error()+"Sign in again with 'ward console'.")
	case errors.Is(err, authn.ErrNoCredentials):
		writeErr(w, http.StatusUnauthorized, "Unauthenticated", "Sign in with 'ward console', which prints a one-time link, or send a management bearer token.")
	default:
		writeErr(w, http.StatusUnauthorized, "InvalidAuthenticationToken", err.Error())
	}
}

// forbidden is the console's 403 for an action the caller does not hold.
func forbidden(w http.ResponseWriter, _ *http.Request, d router.Denial) {
	what := "This request"
	if d.Action == directory.ActionAuditLogsRead {
		what = "The sign-in log"
	}
	writeErr(w, http.StatusForbidden, "AuthorizationFailed", fmt.Sprintf("%s needs '%s' at '%s', which the principal '%s' does not hold.", what, d.Action, d.Scope, d.Caller.ObjectID))
}

// authenticator is the console's on the mux: the session cookie (with its
// CSRF token on writes) or a management bearer token; a refused action is
// the console's 403.
func (h *Handler) authenticator() router.Authenticator {
	return router.Authenticator{
		Name: "console session cookie (CSRF token on writes) or ARM bearer token",
		Authenticate: func(r *http.Request) (router.Caller, error) {
			c, err := h.identify(r)
			if err != nil {
				return router.Caller{}, err
			}
			return router.Caller{ObjectID: c.ObjectID, AppID: c.AppID, Principal: c}, nil
		},
		Unauthorized: h.unauthorized,
		Forbidden:    forbidden,
	}
}

// linkAuthenticator authenticates the sign-in link route: a management
// bearer token only, since a session that could make links could renew
// itself forever, past the token and the credential it came from.
func (h *Handler) linkAuthenticator() router.Authenticator {
	return router.Authenticator{
		Name: "ARM bearer token only (no session)",
		Authenticate: func(r *http.Request) (router.Caller, error) {
			p, err := h.bearer(r)
			if err != nil {
				return router.Caller{}, err
			}
			return router.Caller{ObjectID: p.ObjectID, AppID: p.AppID, Principal: p}, nil
		},
		Unauthorized: func(w http.ResponseWriter, _ *http.Request, err error) {
			if errors.Is(err, authn.ErrNoCredentials) {
				writeErr(w, http.StatusUnauthorized, "BearerTokenRequired", "A sign-in link is made with a management bearer token ('ward console' sends the CLI's); a console session cannot make links.")
				return
			}
			writeErr(w, http.StatusUnauthorized, "InvalidAuthenticationToken", err.Error())
		},
		Forbidden: forbidden,
	}
}

// authenticate is the caller the mux authenticated (authenticator); a
// request that did not come through the mux's check is refused.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (caller, bool) {
	rc, ok := router.CallerFrom(r.Context())
	c, isCaller := rc.Principal.(caller)
	if !ok || !isCaller {
		h.unauthorized(w, r, authn.ErrNoCredentials)
		return caller{}, false
	}
	return c, true
}

// stillSignedIn reports whether a caller authenticated at the start of a
// long request (the sign-in stream) may still act: its session is live and
// not revoked, its token not expired. A store error counts as no.
func (h *Handler) stillSignedIn(ctx context.Context, c caller) bool {
	if !h.cfg.Now().Before(c.until) {
		return false
	}
	if c.sid == "" {
		return true
	}
	s, ok := h.sessions.peek(c.sid)
	if !ok {
		return false
	}
	why, err := h.revoked(ctx, s)
	return err == nil && why == ""
}

// bearer authenticates the request's management bearer token;
// authn.ErrNoCredentials when there is none.
func (h *Handler) bearer(r *http.Request) (authn.Principal, error) {
	if h.cfg.Auth == nil {
		return authn.Principal{}, authn.ErrNoCredentials
	}
	return h.cfg.Auth.Authenticate(r.Context(), r)
}

// sameOrigin accepts a request without Origin (not a browser write) or
// one from the console's own origin.
func (h *Handler) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return r.Header.Get("Sec-Fetch-Site") == "" || r.Header.Get("Sec-Fetch-Site") == "same-origin"
	}
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	if pu, err := url.Parse(h.cfg.PublicURL); err == nil && strings.EqualFold(u.Host, pu.Host) && u.Scheme == pu.Scheme {
		return true
	}
	return u.Scheme == "https" && strings.EqualFold(u.Host, r.Host)
}

// ---- pages ----

func (h *Handler) index(w http.ResponseWriter, r *http.Request) {
	b, err := fs.ReadFile(h.static, "index.html")
	if err != nil {
		writeErr(w, http.StatusInternalServerError, "InternalServerError", "the console's page is missing from the build")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

var assetTypes = map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}

func (h *Handler) asset(w http.ResponseWriter, r *http.Request) {
	_, p, _ := router.FromContext(r.Context())
	name := p.Get("file")
	dot := strings.LastIndex(name, ".")
	ct, ok := "", false
	if dot > 0 {
		ct, ok = assetTypes[name[dot:]]
	}
	b, err := fs.ReadFile(h.static, name)
	if !ok || err != nil || name == "index.html" {
		writeErr(w, http.StatusNotFound, "NotFound", "No console asset is named '"+name+"'.")
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}

// login redeems a link and sets the session cookie. It answers with a
// page that continues to /console/ (a same-site navigation, so the
// SameSite=Strict cookie is sent with it).
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("code")
	w.Header().Set("Cache-Control", "no-store")
	sid, sess, err := "", session{}, errNoLink
	if code != "" && len(code) < 100 {
		sid, sess, err = h.sessions.redeem(code)
	}
	if err == nil {
		why, rerr := h.revoked(r.Context(), sess)
		switch {
		case rerr != nil:
			h.sessions.end(sid)
			h.fail(w, rerr)
			return
		case why != "":
			h.sessions.end(sid)
			err = errors.New(why)
		}
	}
	if err != nil {
		status, msg := http.StatusUnauthorized, "This sign-in link is unknown, used or expired. Links work once, for two minutes: run <code>ward console</code> again."
		switch {
		case errors.Is(err, errFull):
			status, msg = http.StatusServiceUnavailable, "The console has as many open sessions as it holds; try again when some have ended (the link stays good for its two minutes)."
			w.Header().Set("Retry-After", "30")
		case !errors.Is(err, errNoLink):
			msg = "This sign-in link can no longer be used: " + html.EscapeString(err.Error()) + ". Run <code>ward console</code> again."
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(signInPage(msg)))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: sid, Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
		MaxAge: max(1, int(sess.ends.Sub(h.cfg.Now())/time.Second))})
	h.cfg.Logger.Info("console sign-in", "principal", sess.who.ObjectID, "app", sess.who.AppID)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(`<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=/console/"><title>Ward console</title><link rel="stylesheet" href="/console/assets/app.css"></head><body class="signin"><main><h1>Signed in</h1><p><a href="/console/">Continue to the console</a></p></main></body></html>`))
}

func signInPage(msg string) string {
	return `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Ward console — sign in</title><link rel="stylesheet" href="/console/assets/app.css"></head><body class="signin"><main><h1>Ward console</h1><p>` + msg + `</p></main></body></html>`
}

// ---- session API ----

type linkJSON struct {
	URL       string `json:"url"`
	ExpiresOn string `json:"expiresOn"`
	// SessionExpiresOn is when a session opened with the link ends at the
	// latest: when the token the link was made with expires, or after
	// AbsoluteTimeout.
	SessionExpiresOn string `json:"sessionExpiresOn"`
}

// newLink makes a sign-in link for the bearer token's principal. Only a
// bearer token may: a session that could make links could renew itself
// forever, past the token and the credential it came from.
func (h *Handler) newLink(w http.ResponseWriter, r *http.Request) {
	c, _ := router.CallerFrom(r.Context())
	p, ok := c.Principal.(authn.Principal)
	if !ok {
		// Not served through the mux's link authenticator.
		writeErr(w, http.StatusUnauthorized, "BearerTokenRequired", "A sign-in link is made with a management bearer token ('ward console' sends the CLI's); a console session cannot make links.")
		return
	}
	now := h.cfg.Now()
	code, exp, err := h.sessions.newLink(Who{ObjectID: p.ObjectID, AppID: p.AppID}, origin{credential: p.Credential, tokenExpires: p.Expires})
	switch {
	case errors.Is(err, errTokenExpired):
		writeErr(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "The token has expired; a sign-in link needs a token that is still valid. Get a new token and ask again.")
		return
	case errors.Is(err, errFull):
		w.Header().Set("Retry-After", "30")
		writeErr(w, http.StatusServiceUnavailable, "TooManyLinks", "The console holds as many open sign-in links as it can; try again in a minute (links last two minutes).")
		return
	case err != nil:
		h.fail(w, err)
		return
	}
	ends := earliest(now.Add(AbsoluteTimeout), p.Expires)
	writeJSON(w, http.StatusCreated, linkJSON{URL: h.cfg.PublicURL + PathLogin + "?code=" + code, ExpiresOn: exp.UTC().Format(time.RFC3339),
		SessionExpiresOn: ends.UTC().Format(time.RFC3339)})
}

type meJSON struct {
	ObjectID    string `json:"objectId"`
	AppID       string `json:"appId"`
	DisplayName string `json:"displayName,omitempty"`
	CSRF        string `json:"csrfToken,omitempty"`
	Session     bool   `json:"session"`
	ExpiresOn   string `json:"expiresOn,omitempty"`
	// CanReadSignIns tells the page whether to offer the sign-in log.
	CanReadSignIns bool `json:"canReadSignIns"`
}

func (h *Handler) me(w http.ResponseWriter, r *http.Request) {
	c, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	out := meJSON{ObjectID: c.ObjectID, AppID: c.AppID, CanReadSignIns: h.cfg.Access.Allowed(c.ObjectID, directory.ActionAuditLogsRead, "/")}
	if sp, err := h.cfg.Store.GetServicePrincipal(r.Context(), c.ObjectID); err == nil {
		out.DisplayName = sp.DisplayName
	} else if id, err := h.cfg.Store.GetIdentityByPrincipalID(r.Context(), c.ObjectID); err == nil {
		out.DisplayName = id.Name
	}
	if c.sess != nil {
		out.Session, out.CSRF = true, c.sess.csrf
		out.ExpiresOn = c.sess.ends.UTC().Format(time.RFC3339)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	c, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	if c.sid != "" {
		h.sessions.end(c.sid)
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

// ---- helpers ----

func writeJSON(w http.ResponseWriter, status int, v any) {
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	httpbody.WriteJSON(w, status, v, []byte(`{"error":{"code":"InternalServerError","message":"The console could not encode the response; see Ward's log."}}`))
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}
