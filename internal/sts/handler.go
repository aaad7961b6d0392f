package sts

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/ward-id/ward/internal/router"
)

// Handler serves the authority: OpenID discovery, instance discovery, JWKS
// and the token endpoints, under /{tenant}/....
type Handler struct {
	svc *Service
}

// NewHandler returns the authority's HTTP handler.
func NewHandler(svc *Service) *Handler { return &Handler{svc: svc} }

// ServeHTTP routes an authority path. The server sends it every path that
// no other part claims, so unknown paths get a plain 404.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	lower := make([]string, len(segs))
	for i, s := range segs {
		lower[i] = strings.ToLower(s)
	}
	p := strings.Join(lower, "/")
	switch {
	case p == "common/discovery/instance" || p == "discovery/instance":
		h.get(w, r, h.instanceDiscovery)
	case p == "discovery/keys" || p == "discovery/v2.0/keys":
		h.get(w, r, h.jwks)
	case len(segs) == 4 && strings.HasSuffix(p, "/v2.0/.well-known/openid-configuration"):
		h.tenant(w, r, segs[0], func(tid string) { h.discovery(w, r, tid, segs[0], true) })
	case len(segs) == 3 && strings.HasSuffix(p, "/.well-known/openid-configuration"):
		h.tenant(w, r, segs[0], func(tid string) { h.discovery(w, r, tid, segs[0], false) })
	case len(segs) >= 3 && (strings.HasSuffix(p, "/discovery/v2.0/keys") || strings.HasSuffix(p, "/discovery/keys")):
		h.tenant(w, r, segs[0], func(string) { h.get(w, r, h.jwks) })
	case len(segs) == 4 && strings.HasSuffix(p, "/oauth2/v2.0/token"):
		h.token(w, r, segs[0], false)
	case len(segs) == 3 && strings.HasSuffix(p, "/oauth2/token"):
		h.token(w, r, segs[0], true)
	default:
		http.NotFound(w, r)
	}
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request, fn func(http.ResponseWriter, *http.Request)) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	fn(w, r)
}

func (h *Handler) tenant(w http.ResponseWriter, r *http.Request, seg string, fn func(tid string)) {
	tid, err := h.svc.ResolveTenant(seg)
	if err != nil {
		writeError(w, r, err, h.svc.now(), h.svc.publicURL)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	fn(tid)
}

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

// token serves POST /{tenant}/oauth2/v2.0/token and /{tenant}/oauth2/token.
func (h *Handler) token(w http.ResponseWriter, r *http.Request, tenant string, v1 bool) {
	now := h.svc.now()
	if r.Method != http.MethodPost {
		writeError(w, r, newErr(http.StatusMethodNotAllowed, errInvalidRequest, 900561, "The endpoint only accepts POST requests. Received a %s request.", r.Method), now, h.svc.publicURL)
		return
	}
	form, err := readForm(r)
	if err != nil {
		writeError(w, r, err, now, h.svc.publicURL)
		return
	}
	req := TokenRequest{Tenant: tenant, V1: v1, Form: form, Source: remoteIP(r)}
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
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, resp)
}

// readForm reads an application/x-www-form-urlencoded body, which the mux
// caps at the token routes' maxFormBytes.
func readForm(r *http.Request) (url.Values, *Error) {
	ct := strings.ToLower(r.Header.Get("Content-Type"))
	if !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return nil, newErr(http.StatusBadRequest, errInvalidRequest, CodeMissingParameter, "The request body must be application/x-www-form-urlencoded; got Content-Type '%s'.", r.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, newErr(http.StatusRequestEntityTooLarge, errInvalidRequest, CodeInvalidJWT, "The request body is larger than %d bytes.", tooBig.Limit)
	}
	if err != nil {
		// A body that stops arriving (the read deadline) or a broken
		// connection: say so, not "too large".
		return nil, newErr(http.StatusBadRequest, errInvalidRequest, CodeMissingParameter, "The request body could not be read completely: it was not sent in time or the connection broke.")
	}
	form, err := ParseForm(string(body))
	if err != nil {
		return nil, newErr(http.StatusBadRequest, errInvalidRequest, CodeMissingParameter, "The request body is not valid form encoding: %v.", err)
	}
	return form, nil
}

// ParseForm decodes a form body; a parameter given twice is an error, since
// an ambiguous credential or scope must not be guessed at.
func ParseForm(body string) (url.Values, error) {
	v, err := url.ParseQuery(body)
	if err != nil {
		return nil, err
	}
	for k, vals := range v {
		if len(vals) > 1 {
			return nil, fmt.Errorf("parameter '%s' is given %d times", k, len(vals))
		}
	}
	return v, nil
}
