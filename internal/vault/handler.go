package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/challenge"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/storage"
)

// Authenticator verifies the bearer token of a data-plane request.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (authn.Principal, error)
}

// Access answers the data plane's RBAC question: may principal perform the
// data action at scope? authz.Service answers it for ARM and the vault
// alike, from the index the change feed keeps current.
type Access interface {
	AllowedData(principalID, dataAction, scope string) bool
}

// Handler serves the secrets data plane for every vault host.
type Handler struct {
	Svc       *Service
	Auth      Authenticator
	Access    Access
	Authority string // <public URL>/<tenant>, for the 401 challenge
	Log       *slog.Logger
}

type kvError struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError *struct {
			Code string `json:"code"`
		} `json:"innererror,omitempty"`
	} `json:"error"`
}

func writeErr(w http.ResponseWriter, status int, code, inner, msg string) {
	var e kvError
	e.Error.Code, e.Error.Message = code, msg
	if inner != "" {
		e.Error.InnerError = &struct {
			Code string `json:"code"`
		}{inner}
	}
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// challenge answers 401 with Key Vault's Bearer challenge, which azsecrets
// parses.
func (h *Handler) challenge(w http.ResponseWriter, msg string) {
	w.Header().Set(challenge.Header, challenge.KeyVault(h.Authority, h.Svc.Hosts.Resource()))
	writeErr(w, http.StatusUnauthorized, "Unauthorized", "", msg)
}

type attributesJSON struct {
	Enabled         *bool  `json:"enabled,omitempty"`
	NotBefore       *int64 `json:"nbf,omitempty"`
	Expires         *int64 `json:"exp,omitempty"`
	Created         int64  `json:"created,omitempty"`
	Updated         int64  `json:"updated,omitempty"`
	RecoveryLevel   string `json:"recoveryLevel,omitempty"`
	RecoverableDays int    `json:"recoverableDays,omitempty"`
}

type secretJSON struct {
	Value       *string           `json:"value,omitempty"`
	ID          string            `json:"id"`
	ContentType string            `json:"contentType,omitempty"`
	Attributes  attributesJSON    `json:"attributes"`
	Tags        map[string]string `json:"tags"`
}

func unixPtr(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	u := t.Unix()
	return &u
}

func (h *Handler) toJSON(base string, x storage.Secret, value *string, withVersion bool) secretJSON {
	id := base + "secrets/" + x.Name
	if withVersion {
		id += "/" + x.Version
	}
	enabled := x.Enabled
	tags := x.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return secretJSON{Value: value, ID: id, ContentType: x.ContentType, Tags: tags, Attributes: attributesJSON{
		Enabled: &enabled, NotBefore: unixPtr(x.NotBefore), Expires: unixPtr(x.Expires), Created: x.CreatedAt.Unix(),
		Updated: x.UpdatedAt.Unix(), RecoveryLevel: "Purgeable", RecoverableDays: 0}}
}

// ServeHTTP serves one vault host: authentication first (before reading
// any body, as the challenge flow expects), then RBAC data actions.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, _ := h.Svc.Hosts.VaultFromHost(r.Host)
	p, err := h.Auth.Authenticate(r.Context(), r)
	if err != nil {
		h.challenge(w, "AKV10000: Request is missing a Bearer or PoP token.")
		if !errors.Is(err, authn.ErrNoCredentials) {
			w.Header().Set("x-ms-keyvault-auth-error", err.Error())
		}
		return
	}
	ctx := r.Context()
	v, err := h.Svc.vault(ctx, name)
	if err != nil {
		writeErr(w, http.StatusNotFound, "VaultNotFound", "", fmt.Sprintf("The vault '%s' does not exist on this Ward server.", name))
		return
	}
	base := "https://" + r.Host + "/"
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) == 0 || !strings.EqualFold(segs[0], "secrets") {
		writeErr(w, http.StatusNotFound, "NotFound", "", "Ward's vaults serve /secrets only.")
		return
	}
	secret, version := "", ""
	if len(segs) > 1 {
		secret = segs[1]
	}
	if len(segs) > 2 {
		version = segs[2]
	}
	authorize := func(action string) bool {
		scope := ResourceID(v)
		if secret != "" {
			scope += "/secrets/" + secret
		}
		if h.Access.AllowedData(p.ObjectID, action, scope) {
			return true
		}
		writeErr(w, http.StatusForbidden, "Forbidden", "ForbiddenByRbac", fmt.Sprintf(
			"Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid=%s;oid=%s\r\nAction: '%s'\r\nResource: '%s'\r\nAssignment: (not found)\r\nDecisionReason: 'DeniedWithNoValidRBAC'\r\nVault: %s;location=%s\r\n",
			p.AppID, p.ObjectID, action, strings.ToLower(scope), v.Name, v.Location))
		return false
	}
	switch {
	case secret == "" && r.Method == http.MethodGet:
		if !authorize(ActionReadMetadata) {
			return
		}
		items, err := h.Svc.Secrets(ctx, v.Name)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		out := []secretJSON{}
		for _, x := range items {
			out = append(out, h.toJSON(base, x, nil, false))
		}
		writeJSON(w, 200, map[string]any{"value": out, "nextLink": nil})
	case secret != "" && version == "versions" && r.Method == http.MethodGet:
		if !authorize(ActionReadMetadata) {
			return
		}
		items, err := h.Svc.Versions(ctx, v.Name, secret)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		out := []secretJSON{}
		for _, x := range items {
			out = append(out, h.toJSON(base, x, nil, true))
		}
		writeJSON(w, 200, map[string]any{"value": out, "nextLink": nil})
	case secret != "" && r.Method == http.MethodGet:
		if !authorize(ActionGetSecret) {
			return
		}
		x, value, err := h.Svc.Secret(ctx, v.Name, secret, version)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if !x.Enabled {
			writeErr(w, http.StatusForbidden, "Forbidden", "SecretDisabled", "Operation get is not allowed on a disabled secret.")
			return
		}
		writeJSON(w, 200, h.toJSON(base, x, &value, true))
	case secret != "" && version == "" && r.Method == http.MethodPut:
		if !authorize(ActionSetSecret) {
			return
		}
		var body struct {
			Value       *string           `json:"value"`
			ContentType string            `json:"contentType"`
			Attributes  attributesJSON    `json:"attributes"`
			Tags        map[string]string `json:"tags"`
		}
		if !decode(w, r, &body) {
			return
		}
		if body.Value == nil {
			writeErr(w, http.StatusBadRequest, "BadParameter", "", "Property 'value' is required.")
			return
		}
		x, err := h.Svc.SetSecret(ctx, v, secret, *body.Value, body.ContentType, attrs(body.Attributes), body.Tags)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, 200, h.toJSON(base, x, body.Value, true))
	case secret != "" && r.Method == http.MethodPatch:
		if !authorize(ActionUpdate) {
			return
		}
		var body struct {
			ContentType *string           `json:"contentType"`
			Attributes  attributesJSON    `json:"attributes"`
			Tags        map[string]string `json:"tags"`
		}
		if !decode(w, r, &body) {
			return
		}
		x, err := h.Svc.UpdateSecret(ctx, v.Name, secret, version, body.ContentType, attrs(body.Attributes), body.Tags)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, 200, h.toJSON(base, x, nil, true))
	case secret != "" && version == "" && r.Method == http.MethodDelete:
		if !authorize(ActionDelete) {
			return
		}
		x, err := h.Svc.DeleteSecret(ctx, v.Name, secret)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		out := h.toJSON(base, x, nil, true)
		writeJSON(w, 200, map[string]any{"id": out.ID, "attributes": out.Attributes, "tags": out.Tags, "contentType": out.ContentType,
			"deletedDate": time.Now().Unix(), "recoveryId": base + "deletedsecrets/" + x.Name})
	default:
		writeErr(w, http.StatusMethodNotAllowed, "BadParameter", "", fmt.Sprintf("%s %s is not supported.", r.Method, r.URL.Path))
	}
}

func attrs(a attributesJSON) SecretAttributes {
	var out SecretAttributes
	out.Enabled = a.Enabled
	if a.NotBefore != nil {
		t := time.Unix(*a.NotBefore, 0).UTC()
		out.NotBefore = &t
	}
	if a.Expires != nil {
		t := time.Unix(*a.Expires, 0).UTC()
		out.Expires = &t
	}
	return out
}

// maxBody caps a vault request's body (the mux applies it): a secret and
// its attributes.
const maxBody = 256 << 10

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeErr(w, http.StatusRequestEntityTooLarge, "BadParameter", "", "The request body is larger than 256 KiB.")
		return false
	}
	if err != nil {
		// A body that stops arriving or a broken connection is not "too large".
		writeErr(w, http.StatusBadRequest, "BadParameter", "", "The request body could not be read completely: it was not sent in time or the connection broke.")
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		writeErr(w, http.StatusBadRequest, "BadParameter", "", "The request body is not valid JSON: "+err.Error())
		return false
	}
	return true
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrSecretNotFound) {
		writeErr(w, http.StatusNotFound, "SecretNotFound", "", "A secret with (name/id) was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command.")
		return
	}
	if me, ok := armerr.As(err); ok {
		writeErr(w, http.StatusBadRequest, me.Code, "", me.Message)
		return
	}
	h.Log.Log(r.Context(), router.FailureLevel(r), "vault request failed", "err", err)
	writeErr(w, http.StatusInternalServerError, "InternalServerError", "", "The vault hit an internal error.")
}

// HostClass is the router's name for vault host names.
const HostClass = "vault"

// protocol is Key Vault on the wire for the mux: a recovered panic is Key
// Vault's 500.
var protocol = &router.Protocol{Name: "keyvault", Internal: func(w http.ResponseWriter, _ *http.Request) {
	writeErr(w, http.StatusInternalServerError, "InternalServerError", "", "internal error")
}}

// Mount puts the vault data plane on mux for vault hosts. Every route needs
// a bearer token for the vault resource (else the 401 challenge) and the
// data action named at the secret's scope, checked in ServeHTTP.
func (h *Handler) Mount(mux *router.Mux) {
	mux.HostClass(HostClass, func(host string) bool { _, ok := h.Svc.Hosts.VaultFromHost(host); return ok })
	add := func(method, pattern, action string) {
		mux.Handle(router.Route{Host: HostClass, Method: method, Pattern: pattern, Handler: h, Protocol: protocol, MaxBody: maxBody,
			Access: router.Handler("data action " + action + " at the vault or the secret")})
	}
	add(http.MethodGet, "/secrets", ActionReadMetadata)
	add(http.MethodGet, "/secrets/{name}/versions", ActionReadMetadata)
	add(http.MethodGet, "/secrets/{name}", ActionGetSecret)
	add(http.MethodGet, "/secrets/{name}/{version}", ActionGetSecret)
	add(http.MethodPut, "/secrets/{name}", ActionSetSecret)
	add(http.MethodPatch, "/secrets/{name}", ActionUpdate)
	add(http.MethodPatch, "/secrets/{name}/{version}", ActionUpdate)
	add(http.MethodDelete, "/secrets/{name}", ActionDelete)
	mux.NotFound(HostClass, "/", func(w http.ResponseWriter, r *http.Request, status int, _ []string) {
		writeErr(w, status, "NotFound", "", fmt.Sprintf("Ward's vaults serve /secrets only; %s %s is not served.", r.Method, r.URL.Path))
	})
}
