package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
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
	"github.com/ward-id/ward/internal/msi"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/storage"
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

// Config is what the console is built from: the services the server has
// already constructed.
type Config struct {
	Store      storage.Storage
	Access     *authz.Service
	Identities *msi.Service
	Clusters   *clusters.Service
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
	return &Handler{cfg: cfg, sessions: newSessions(cfg.Now), policy: directory.Policy{Access: cfg.Access}, static: sub}
}

// maxBody caps a console request's body (the mux applies it): the console
// reads only small JSON requests.
const maxBody = 64 << 10

// Mount puts the console's routes on mux.
func (h *Handler) Mount(mux *router.Mux) {
	mux.Authenticate(protocol.Name, h.authenticator())
	add := func(method, pattern string, a router.Access, fn http.HandlerFunc) {
		mux.Handle(router.Route{Method: method, Pattern: pattern, Access: a, Handler: h.secured(fn), Protocol: protocol, MaxBody: maxBody})
	}
	page := router.Public("the console's page and its embedded assets hold no data: every view's data comes from the /console/api routes, authorized per principal")
	add("GET", "/console", page, h.index)
	add("GET", "/console/assets/{file}", page, h.asset)
	add("GET", PathLogin, router.Public("redeems a one-time, two-minute link that `ward console` obtained with the principal's own token; an unknown or used code gets 401 and nothing else"), h.login)

	anyCaller := "any signed-in caller (console session cookie, CSRF token on writes; or a management bearer token)"
	add("POST", PathLinks, router.Handler(anyCaller+"; the link signs a browser in as the caller itself, with no more rights than its token"), h.newLink)
	add("GET", "/console/api/me", router.Handler(anyCaller+"; answers who the caller is"), h.me)
	add("POST", "/console/api/logout", router.Handler(anyCaller+"; ends the caller's own session"), h.logout)
	add("GET", "/console/api/explorer", router.Handler(anyCaller+"; lists only the objects the caller may read through ARM and the directory API (each object's read action at its scope)"), h.explorer)
	add("GET", "/console/api/graph", router.Handler(anyCaller+"; the graph holds only objects the caller may read (each object's read action at its scope)"), h.graph)
	add("GET", "/console/api/activity", router.Handler(anyCaller+"; events of the subscriptions where the caller holds "+actionActivityRead), h.activity)
	signIns := router.ActionAt(directory.ActionAuditLogsRead, "'/'", router.Root)
	add("GET", "/console/api/signins", signIns, h.signIns)
	add("GET", "/console/api/signins/stream", signIns, h.signInStream)
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
}

// errCSRF refuses a write through a session without the session's CSRF
// token or from another origin.
var errCSRF = errors.New("csrf")

// identify finds the caller: the session cookie, else a bearer token.
// Writes through a session need the CSRF header and a same-origin Origin.
func (h *Handler) identify(r *http.Request) (caller, error) {
	if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
		if s, ok := h.sessions.get(c.Value); ok {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				if !csrfOK(s, r.Header.Get(HeaderCSRF)) || !h.sameOrigin(r) {
					return caller{}, errCSRF
				}
			}
			return caller{Who: s.who, sid: c.Value, sess: &s}, nil
		}
	}
	if h.cfg.Auth != nil {
		p, err := h.cfg.Auth.Authenticate(r.Context(), r)
		if err == nil {
			return caller{Who: Who{ObjectID: p.ObjectID, AppID: p.AppID}}, nil
		}
		if !errors.Is(err, authn.ErrNoCredentials) {
			return caller{}, err
		}
	}
	return caller{}, authn.ErrNoCredentials
}

// unauthorized answers a caller identify refused.
func unauthorized(w http.ResponseWriter, _ *http.Request, err error) {
	switch {
	case errors.Is(err, errCSRF):
		writeErr(w, http.StatusForbidden, "CSRFTokenInvalid", "This write needs the session's CSRF token in "+HeaderCSRF+" and a same-origin request.")
	case errors.Is(err, authn.ErrNoCredentials):
		writeErr(w, http.StatusUnauthorized, "Unauthenticated", "Sign in with 'ward console', which prints a one-time link, or send a management bearer token.")
	default:
		writeErr(w, http.StatusUnauthorized, "InvalidAuthenticationToken", err.Error())
	}
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
		Unauthorized: unauthorized,
		Forbidden: func(w http.ResponseWriter, _ *http.Request, d router.Denial) {
			what := "This request"
			if d.Action == directory.ActionAuditLogsRead {
				what = "The sign-in log"
			}
			writeErr(w, http.StatusForbidden, "AuthorizationFailed", fmt.Sprintf("%s needs '%s' at '%s', which the principal '%s' does not hold.", what, d.Action, d.Scope, d.Caller.ObjectID))
		},
	}
}

// authenticate is the caller the mux authenticated (authenticator); a
// request that did not come through the mux's check is refused.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (caller, bool) {
	rc, ok := router.CallerFrom(r.Context())
	c, isCaller := rc.Principal.(caller)
	if !ok || !isCaller {
		unauthorized(w, r, authn.ErrNoCredentials)
		return caller{}, false
	}
	return c, true
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
	name := p["file"]
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
	sid, sess, ok := "", session{}, false
	if code != "" && len(code) < 100 {
		sid, sess, ok = h.sessions.redeem(code)
	}
	if !ok {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(signInPage("This sign-in link is unknown, used or expired. Links work once, for two minutes: run <code>ward console</code> again.")))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: sid, Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
		MaxAge: int(AbsoluteTimeout / time.Second)})
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
}

func (h *Handler) newLink(w http.ResponseWriter, r *http.Request) {
	c, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	code, exp := h.sessions.newLink(c.Who)
	writeJSON(w, http.StatusCreated, linkJSON{URL: h.cfg.PublicURL + PathLogin + "?code=" + code, ExpiresOn: exp.UTC().Format(time.RFC3339)})
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
		out.ExpiresOn = c.sess.created.Add(AbsoluteTimeout).UTC().Format(time.RFC3339)
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
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}
