// Package agentserver is the Ward side of `ward agent`: the endpoints an
// agent joins with, asks tokens of its machine's identities from, and polls
// for its machine's state (package agentproto has the wire). Each request
// carries the agent's attestation, which package machines verifies; an
// agent gets only the identities its machine or node pool has now.
package agentserver

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/ward-id/ward/internal/agentproto"
	"github.com/ward-id/ward/internal/httpbody"
	"github.com/ward-id/ward/internal/machines"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/sts"
)

// maxBody bounds a join or token request's body; the routes declare it and
// the mux applies it.
const maxBody = 16 << 10

// Config configures a Handler.
type Config struct {
	Machines *machines.Service
	Tokens   *sts.Service
	TenantID string
	// PublicURL is Ward's public URL: machine assertions' audience derives from it.
	PublicURL string
	Logger    *slog.Logger
}

// Handler serves the agent API.
type Handler struct{ cfg Config }

// New returns the handler; a nil Logger is slog.Default().
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Handler{cfg: cfg}
}

// Mount puts the agent API on mux. Its routes take no Ward bearer token:
// joining is public in the router's sense (the one-time join token in the
// body authenticates it), and the other routes are authenticated by the
// agent's attestation (authenticator) before their handler runs.
func (h *Handler) Mount(mux *router.Mux) {
	mux.Authenticate(protocol.Name, h.authenticator())
	attested := router.Handler("the attested machine or node pool; it gets only its own machine's or node pool's identities")
	mux.Handle(router.Route{Method: http.MethodPost, Pattern: agentproto.PathJoin, Handler: http.HandlerFunc(h.join), MaxBody: maxBody, Protocol: protocol,
		Access: router.Public("a one-time join token (single use, expiring) registers the machine's public key")})
	mux.Handle(router.Route{Method: http.MethodPost, Pattern: agentproto.PathToken, Access: attested, Handler: h.attested(h.token), MaxBody: maxBody, Protocol: protocol})
	mux.Handle(router.Route{Method: http.MethodGet, Pattern: agentproto.PathState, Access: attested, Handler: h.attested(h.state), Protocol: protocol})
}

// protocol is the agent API on the wire: a recovered panic is its JSON 500.
var protocol = &router.Protocol{Name: "agent", Internal: func(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusInternalServerError, agentproto.Error{Code: agentproto.CodeServerError, Description: "Ward could not serve the request; see its log."})
}}

// authenticator is the agent's attestation on the mux: a JWT signed with
// the machine's registered key, or the node pool's service-account token
// from its cluster's Ward-hosted issuer. The attested subject is no RBAC
// principal, so it holds no action: the agent routes are per-subject.
func (h *Handler) authenticator() router.Authenticator {
	return router.Authenticator{
		Name: "agent attestation (machine key JWT or node pool service-account token)",
		Authenticate: func(r *http.Request) (router.Caller, error) {
			subj, err := h.cfg.Machines.Attest(r.Context(), bearer(r))
			if err != nil {
				return router.Caller{}, err
			}
			return router.Caller{Principal: subj}, nil
		},
		Unauthorized: h.fail,
		Forbidden: func(w http.ResponseWriter, _ *http.Request, d router.Denial) {
			writeJSON(w, http.StatusForbidden, agentproto.Error{Code: agentproto.CodeUnauthorized, Description: "an agent holds no action " + d.Action})
		},
	}
}

// attested runs fn for the subject the mux attested; a request that did
// not come through that check is refused.
func (h *Handler) attested(fn func(w http.ResponseWriter, r *http.Request, subj machines.Subject)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := router.CallerFrom(r.Context())
		subj, ok := c.Principal.(machines.Subject)
		if !ok {
			h.fail(w, r, &machines.AttestationError{Reason: "the request was not attested"})
			return
		}
		fn(w, r, subj)
	})
}

// writeJSON is the agent API's JSON answer: never cached (it carries
// tokens and machine secrets).
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Cache-Control", "no-store")
	httpbody.WriteJSON(w, status, v, []byte(`{"error":"server_error","error_description":"Ward could not encode the response; see its log."}`))
}

// fail writes err as the agent API's error body, once.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *machines.AttestationError
	var je *machines.JoinError
	var se *sts.Error
	var re *agentproto.RefusedError
	status, body := http.StatusInternalServerError, agentproto.Error{Code: agentproto.CodeServerError, Description: "Ward could not serve the request; see its log."}
	switch {
	case errors.As(err, &ae):
		status, body = http.StatusUnauthorized, agentproto.Error{Code: agentproto.CodeUnauthorized, Description: ae.Reason}
	case errors.As(err, &je):
		status, body = http.StatusUnauthorized, agentproto.Error{Code: agentproto.CodeJoinRefused, Description: je.Reason}
	case errors.As(err, &re):
		// identity_not_found, as for an identity the machine never had (an
		// older agent handles it so), with the reason.
		status, body = http.StatusBadRequest, agentproto.Error{Code: agentproto.CodeIdentityNotFound, Description: re.Error()}
	case errors.Is(err, agentproto.ErrIdentityNotFound):
		status, body = http.StatusBadRequest, agentproto.Error{Code: agentproto.CodeIdentityNotFound, Description: "Identity not found"}
	case errors.Is(err, agentproto.ErrAmbiguous):
		status, body = http.StatusBadRequest, agentproto.Error{Code: agentproto.CodeInvalidRequest, Description: err.Error()}
	case errors.As(err, &se):
		status, body = se.Status, agentproto.Error{Code: agentproto.CodeInvalidRequest, Description: se.Message}
	default:
		var bad badRequest
		if errors.As(err, &bad) {
			status, body = http.StatusBadRequest, agentproto.Error{Code: agentproto.CodeInvalidRequest, Description: string(bad)}
			break
		}
		h.cfg.Logger.Log(r.Context(), router.FailureLevel(r), "agent request failed", "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, body)
}

type badRequest string

func (b badRequest) Error() string { return string(b) }

func decode(r *http.Request, v any) error {
	err := httpbody.JSON(r.Body, 0, v)
	e, _ := httpbody.As(err)
	switch {
	case e == nil:
		return err
	case e.Problem == httpbody.TooLarge:
		return badRequest(fmt.Sprintf("the request body is larger than %d bytes", e.Limit))
	case e.Problem == httpbody.Unreadable:
		return badRequest("the request body could not be read")
	case e.Problem == httpbody.Empty:
		return badRequest("the request body is empty; the JSON expected is required")
	}
	return badRequest("the request body is not the JSON expected: " + e.Err.Error())
}

func bearer(r *http.Request) string {
	v := r.Header.Get("Authorization")
	if len(v) > 7 && strings.EqualFold(v[:7], "Bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

func (h *Handler) join(w http.ResponseWriter, r *http.Request) {
	var req agentproto.JoinRequest
	if err := decode(r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	der, err := base64.StdEncoding.DecodeString(req.Certificate)
	if err != nil {
		h.fail(w, r, badRequest("certificate must be the base64 DER of the agent's certificate"))
		return
	}
	m, err := h.cfg.Machines.Join(r.Context(), req.JoinToken, der)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.cfg.Logger.InfoContext(r.Context(), "machine joined", "machine", m.ResourceID(), "thumbprint", m.Spec.AgentThumbprint, "source", source(r))
	writeJSON(w, http.StatusOK, agentproto.JoinResponse{MachineID: m.ID, ResourceID: m.ResourceID(), TenantID: h.cfg.TenantID,
		Audience: agentproto.MachineAudience(h.cfg.PublicURL)})
}

func (h *Handler) token(w http.ResponseWriter, r *http.Request, subj machines.Subject) {
	var req agentproto.TokenRequest
	if err := decode(r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	if req.Resource == "" {
		h.fail(w, r, badRequest("resource is required"))
		return
	}
	ids, refused, err := h.cfg.Machines.Identities(r.Context(), subj)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	id, err := agentproto.Choose(ids, refused, req.ClientID, req.ObjectID, req.ResourceID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	g := sts.ManagedIdentityGrant{ClientID: id.ClientID, PrincipalID: id.ObjectID, MIResource: id.ResourceID, Resource: req.Resource, Source: source(r)}
	if g.MIResource == "" {
		g.MIResource = subj.ResourceID()
	}
	if subj.Machine != nil {
		g.Credential, g.Subject = "machineKey", subj.ResourceID()
	} else {
		g.Credential, g.Subject = "nodeServiceAccount", agentproto.NodeSubject(subj.Pool)
	}
	tok, nbf, exp, err := h.cfg.Tokens.ManagedIdentityToken(r.Context(), g)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, agentproto.TokenResponse{AccessToken: tok, ExpiresOn: exp.Unix(), NotBefore: nbf.Unix(), Resource: req.Resource, Identity: id})
}

func (h *Handler) state(w http.ResponseWriter, r *http.Request, subj machines.Subject) {
	st, err := h.cfg.Machines.State(r.Context(), subj)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	body, err := json.Marshal(st)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-store")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(body)
}

// source is the caller's address for the log.
func source(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
