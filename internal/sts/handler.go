package sts

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/ward-id/ward/internal/router"
)

// Handler serves the authority: OpenID discovery, instance discovery, JWKS
// and the token endpoints, under /{tenant}/.... Each route has its own
// handler (Mount).
type Handler struct {
	svc *Service

	once sync.Once
	mux  *router.Mux
}

// HandlerConfig configures a Handler.
type HandlerConfig struct {
	Svc *Service
}

// NewHandler returns the authority's HTTP handler.
func NewHandler(cfg HandlerConfig) *Handler { return &Handler{svc: cfg.Svc} }

// ServeHTTP serves the authority's routes on their own mux, for a test or
// a server that mounts nothing else; the server mounts them on its one
// routing table instead (Mount).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.once.Do(func() {
		h.mux = router.New()
		h.Mount(h.mux)
	})
	h.mux.ServeHTTP(w, r)
}

// inTenant wraps a per-tenant route: the {tenant} segment must name Ward's
// tenant (its ID, or an alias the authority accepts), else the token
// service's error.
func (h *Handler) inTenant(fn func(w http.ResponseWriter, r *http.Request, tid, seg string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, p, _ := router.FromContext(r.Context())
		seg := p.Get("tenant")
		tid, err := h.svc.ResolveTenant(seg)
		if err != nil {
			writeError(w, r, err, h.svc.now(), h.svc.publicURL)
			return
		}
		fn(w, r, tid, seg)
	}
}

// discoveryV2 serves GET /{tenant}/v2.0/.well-known/openid-configuration.
func (h *Handler) discoveryV2(w http.ResponseWriter, r *http.Request, tid, seg string) {
	h.discovery(w, r, tid, seg, true)
}

// discoveryV1 serves GET /{tenant}/.well-known/openid-configuration.
func (h *Handler) discoveryV1(w http.ResponseWriter, r *http.Request, tid, seg string) {
	h.discovery(w, r, tid, seg, false)
}

// tenantJWKS serves GET /{tenant}/discovery/keys and
// /{tenant}/discovery/v2.0/keys: the same keys for the tenant.
func (h *Handler) tenantJWKS(w http.ResponseWriter, r *http.Request, _, _ string) { h.jwks(w, r) }

// discovery serves the OpenID configuration.
func (h *Handler) discovery(w http.ResponseWriter, r *http.Request, tid, seg string, v2 bool) {
	w.Header().Set("Cache-Control", "max-age=86400, private")
	writeJSON(w, http.StatusOK, h.svc.Discovery(tid, seg, v2))
}

func hostOf(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Host
	}
	return u
}

// instanceDiscovery answers MSAL's instance discovery with Ward as its own
// instance. tenant_discovery_endpoint is absolute and built from the public
// URL, because some clients drop the port from authorization_endpoint.
func (h *Handler) instanceDiscovery(w http.ResponseWriter, r *http.Request) {
	tenant := h.svc.tenantID
	if ae := r.URL.Query().Get("authorization_endpoint"); ae != "" {
		if u, err := url.Parse(ae); err == nil {
			if parts := strings.Split(strings.Trim(u.Path, "/"), "/"); len(parts) > 0 && parts[0] != "" {
				tenant = parts[0]
			}
		}
	}
	host := hostOf(h.svc.publicURL)
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": h.svc.publicURL + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": host, "preferred_cache": host, "aliases": []string{host},
		}},
	})
}

type jwk struct {
	Kty string   `json:"kty"`
	Use string   `json:"use"`
	Kid string   `json:"kid"`
	X5t string   `json:"x5t"`
	N   string   `json:"n,omitempty"`
	E   string   `json:"e,omitempty"`
	Crv string   `json:"crv,omitempty"`
	X   string   `json:"x,omitempty"`
	Y   string   `json:"y,omitempty"`
	Alg string   `json:"alg,omitempty"`
	X5c []string `json:"x5c"`
	Iss string   `json:"issuer,omitempty"`
}

// jwks publishes the signing keys in Entra's shape (kty, use, kid, x5t, n,
// e, x5c), current and next and previous.
func (h *Handler) jwks(w http.ResponseWriter, r *http.Request) {
	set := h.svc.keys.JWKS()
	out := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, k := range set.Keys {
		b, err := k.MarshalJSON()
		if err != nil {
			continue
		}
		var j jwk
		if err := json.Unmarshal(b, &j); err != nil {
			continue
		}
		j.X5t = base64.RawURLEncoding.EncodeToString(k.CertificateThumbprintSHA1)
		j.X5c = nil
		for _, c := range k.Certificates {
			j.X5c = append(j.X5c, base64.StdEncoding.EncodeToString(c.Raw))
		}
		j.Iss = IssuerV2(h.svc.publicURL, h.svc.tenantID)
		out.Keys = append(out.Keys, j)
	}
	w.Header().Set("Cache-Control", "max-age=3600, public")
	writeJSON(w, http.StatusOK, out)
}

// tokenV2 serves POST /{tenant}/oauth2/v2.0/token.
func (h *Handler) tokenV2(w http.ResponseWriter, r *http.Request) { h.token(w, r, false) }

// tokenV1 serves POST /{tenant}/oauth2/token.
func (h *Handler) tokenV1(w http.ResponseWriter, r *http.Request) { h.token(w, r, true) }

// token serves both token endpoints; the tenant is resolved by the grant
// (Service.Token), which answers an unknown one in AADSTS.
func (h *Handler) token(w http.ResponseWriter, r *http.Request, v1 bool) {
	now := h.svc.now()
	_, p, _ := router.FromContext(r.Context())
	tenant := p.Get("tenant")
	req := TokenRequest{Tenant: tenant, V1: v1, Source: remoteIP(r)}
	if err := readForm(r, &req.Form); err != nil {
		writeError(w, r, err, now, h.svc.publicURL)
		return
	}
	req.BasicID, req.BasicSecret, req.HasBasic = r.BasicAuth()
	if req.HasBasic {
		// RFC 6749 §2.3.1: Basic credentials are form-urlencoded.
		if id, err := url.QueryUnescape(req.BasicID); err == nil {
			req.BasicID = id
		}
		if sec, err := url.QueryUnescape(req.BasicSecret); err == nil {
			req.BasicSecret = sec
		}
	}
	resp, terr := h.svc.Token(r.Context(), req)
	if terr != nil {
		var e *Error
		if !errors.As(terr, &e) {
			h.svc.log.Log(r.Context(), router.FailureLevel(r), "token request failed", "err", terr)
			e = newErr(http.StatusInternalServerError, errTemporarilyUnavail, CodeInternalError, "The token service hit an internal error; retry the request.")
		}
		writeError(w, r, e, now, h.svc.publicURL)
		return
	}
	hdr := w.Header()
	hdr["Cache-Control"], hdr["Pragma"] = noStore, noCache
	writeTokenResponse(w, &resp)
}

// readForm reads an application/x-www-form-urlencoded body, which the mux
// caps at the token routes' maxFormBytes, into form.
func readForm(r *http.Request, form *Form) *Error {
	ct := strings.ToLower(r.Header.Get("Content-Type"))
	if !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return newErr(http.StatusBadRequest, errInvalidRequest, CodeMissingParameter, "The request body must be application/x-www-form-urlencoded; got Content-Type '%s'.", r.Header.Get("Content-Type"))
	}
	buf := formBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 16<<10 { // keep only buffers of ordinary forms
			buf.Reset()
			formBuffers.Put(buf)
		}
	}()
	buf.Reset()
	if _, err := buf.ReadFrom(r.Body); err != nil {
		return bodyReadError(err)
	}
	// The body and the values it unescapes share one allocation: the
	// arena has room for both, and the form's strings point into it.
	var arena strings.Builder
	arena.Grow(buf.Len() + escapedBytes(buf.Bytes()))
	arena.Write(buf.Bytes())
	if err := parseForm(form, arena.String(), &arena); err != nil {
		return newErr(http.StatusBadRequest, errInvalidRequest, CodeMissingParameter, "The request body is not valid form encoding: %v.", err)
	}
	return nil
}

// bodyReadError is the answer to a form body that could not be read. It
// is its own function so that only a failed read pays for the errors.As
// target, which escapes to the heap: declared in readForm, it cost every
// token request an allocation.
func bodyReadError(err error) *Error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return newErr(http.StatusRequestEntityTooLarge, errInvalidRequest, CodeInvalidJWT, "The request body is larger than %d bytes.", tooBig.Limit)
	}
	// A body that stops arriving (the read deadline) or a broken
	// connection: say so, not "too large".
	return newErr(http.StatusBadRequest, errInvalidRequest, CodeMissingParameter, "The request body could not be read completely: it was not sent in time or the connection broke.")
}

// Header values of every token response, shared read-only (Header.Set
// would allocate each one per response; len == cap, so an Add elsewhere
// copies rather than writes into them).
var (
	noStore         = []string{"no-store, no-cache"}
	noCache         = []string{"no-cache"}
	jsonContentType = []string{"application/json; charset=utf-8"}
)

// formBuffers hold token request bodies while they are read: one body is
// read per token request, and a fresh buffer grown to 1.5 KiB costs
// several allocations.
var formBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}
