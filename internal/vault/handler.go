package vault

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/challenge"
	"github.com/ward-id/ward/internal/httpbody"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/storage"
)

// Authenticator verifies the bearer token of a data-plane request.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (authn.Principal, error)
}

// HandlerConfig configures a Handler.
type HandlerConfig struct {
	Svc       *Service
	Auth      Authenticator
	Authority string // <public URL>/<tenant>, for the 401 challenge
	Logger    *slog.Logger
}

// Handler serves the secrets data plane for every vault host.
type Handler struct{ cfg HandlerConfig }

// NewHandler returns the handler; a nil Logger is slog.Default().
func NewHandler(cfg HandlerConfig) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Handler{cfg: cfg}
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
	httpbody.WriteJSON(w, status, v, []byte(`{"error":{"code":"InternalServerError","message":"Ward could not encode the response; see its log."}}`))
}

// challenge answers 401 with Key Vault's Bearer challenge, which azsecrets
// parses.
func (h *Handler) challenge(w http.ResponseWriter, msg string) {
	w.Header().Set(challenge.Header, challenge.KeyVault(h.cfg.Authority, h.cfg.Svc.Hosts.Resource()))
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

func (h *Handler) toJSON(base string, sd SoftDelete, x storage.Secret, value *string, withVersion bool) secretJSON {
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
		Updated: x.UpdatedAt.Unix(), RecoveryLevel: sd.RecoveryLevel(), RecoverableDays: sd.RecoverableDays()}}
}

// deletedSecretJSON is Key Vault's DeletedSecretBundle (and, without a
// version in its id, DeletedSecretItem): the secret without its value, and
// where to recover it from and when it is purged.
type deletedSecretJSON struct {
	secretJSON
	RecoveryID         string `json:"recoveryId,omitempty"`
	DeletedDate        int64  `json:"deletedDate,omitempty"`
	ScheduledPurgeDate int64  `json:"scheduledPurgeDate,omitempty"`
}

func (h *Handler) deletedJSON(c *call, x storage.Secret, withVersion bool) deletedSecretJSON {
	out := deletedSecretJSON{secretJSON: h.toJSON(c.base, c.sd, x, nil, withVersion)}
	if !x.DeletedAt.IsZero() {
		out.RecoveryID = c.base + "deletedsecrets/" + x.Name
		out.DeletedDate, out.ScheduledPurgeDate = x.DeletedAt.Unix(), x.PurgeAt.Unix()
	}
	return out
}

// errNoVault is a vault host whose vault does not exist.
var errNoVault = errors.New("no such vault")

// target is the vault a request's host names.
func (h *Handler) target(r *http.Request) (storage.Vault, error) {
	name, _ := h.cfg.Svc.Hosts.VaultFromHost(r.Host)
	v, err := h.cfg.Svc.vault(r.Context(), name)
	if err != nil {
		return v, fmt.Errorf("%w: %s: %w", errNoVault, name, err)
	}
	return v, nil
}

// vaultScope is the scope of a vault-wide route: the vault's resource ID.
func (h *Handler) vaultScope(r *http.Request, _ router.Params) (string, error) {
	v, err := h.target(r)
	if err != nil {
		return "", err
	}
	return ResourceID(v), nil
}

// secretScope is the scope of a route on one secret, under its vault, where
// a role assigned on the secret alone applies too.
func (h *Handler) secretScope(r *http.Request, p router.Params) (string, error) {
	v, err := h.target(r)
	if err != nil {
		return "", err
	}
	return ResourceID(v) + "/secrets/" + p.Get("name"), nil
}

// authenticator is Key Vault's on the mux: a bearer token for the vault
// resource, else the 401 challenge azsecrets follows (before any body is
// read); a refused data action is Key Vault's ForbiddenByRbac.
func (h *Handler) authenticator() router.Authenticator {
	return router.Authenticator{
		Name: "Key Vault bearer token (vault audience), challenge on 401",
		Authenticate: func(r *http.Request) (router.Caller, error) {
			p, err := h.cfg.Auth.Authenticate(r.Context(), r)
			if err != nil {
				return router.Caller{}, err
			}
			return router.Caller{ObjectID: p.ObjectID, AppID: p.AppID, Principal: p}, nil
		},
		Unauthorized: func(w http.ResponseWriter, _ *http.Request, err error) {
			h.challenge(w, "AKV10000: Request is missing a Bearer or PoP token.")
			if !errors.Is(err, authn.ErrNoCredentials) {
				w.Header().Set("x-ms-keyvault-auth-error", err.Error())
			}
		},
		Forbidden: func(w http.ResponseWriter, r *http.Request, d router.Denial) {
			v, err := h.target(r)
			if err != nil {
				name, _ := h.cfg.Svc.Hosts.VaultFromHost(r.Host)
				writeErr(w, http.StatusNotFound, "VaultNotFound", "", fmt.Sprintf("The vault '%s' does not exist on this Ward server.", name))
				return
			}
			writeErr(w, http.StatusForbidden, "Forbidden", "ForbiddenByRbac", fmt.Sprintf(
				"Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid=%s;oid=%s\r\nAction: '%s'\r\nResource: '%s'\r\nAssignment: (not found)\r\nDecisionReason: 'DeniedWithNoValidRBAC'\r\nVault: %s;location=%s\r\n",
				d.Caller.AppID, d.Caller.ObjectID, d.Action, strings.ToLower(d.Scope), v.Name, v.Location))
		},
	}
}

// call is one authorized data-plane request: the vault of its host, the
// secret's base URI, and the route's params.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	v       storage.Vault
	sd      SoftDelete // the vault's soft-delete settings
	base    string
	secret  string
	version string
}

// endpoint runs fn once the mux authenticated the caller and authorized
// the route's data action (Mount); a request that did not come through
// that check gets the challenge.
func (h *Handler) endpoint(fn func(*call)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := router.CallerFrom(r.Context()); !ok {
			h.challenge(w, "AKV10000: Request is missing a Bearer or PoP token.")
			return
		}
		v, err := h.target(r)
		if err != nil {
			name, _ := h.cfg.Svc.Hosts.VaultFromHost(r.Host)
			writeErr(w, http.StatusNotFound, "VaultNotFound", "", fmt.Sprintf("The vault '%s' does not exist on this Ward server.", name))
			return
		}
		_, p, _ := router.FromContext(r.Context())
		fn(&call{w: w, r: r, v: v, sd: SoftDeleteOf(v), base: "https://" + r.Host + "/", secret: p.Get("name"), version: p.Get("version")})
	})
}

// list serves GET /secrets.
func (h *Handler) list(c *call) {
	items, err := h.cfg.Svc.Secrets(c.r.Context(), c.v.Name)
	if err != nil {
		h.fail(c.w, c.r, err)
		return
	}
	out := []secretJSON{}
	for _, x := range items {
		out = append(out, h.toJSON(c.base, c.sd, x, nil, false))
	}
	writeJSON(c.w, 200, map[string]any{"value": out, "nextLink": nil})
}

// versions serves GET /secrets/{name}/versions.
func (h *Handler) versions(c *call) {
	items, err := h.cfg.Svc.Versions(c.r.Context(), c.v.Name, c.secret)
	if err != nil {
		h.fail(c.w, c.r, err)
		return
	}
	out := []secretJSON{}
	for _, x := range items {
		out = append(out, h.toJSON(c.base, c.sd, x, nil, true))
	}
	writeJSON(c.w, 200, map[string]any{"value": out, "nextLink": nil})
}

// get serves GET /secrets/{name}[/{version}]: the value.
func (h *Handler) get(c *call) {
	x, value, err := h.cfg.Svc.Secret(c.r.Context(), c.v.Name, c.secret, c.version)
	if err != nil {
		h.fail(c.w, c.r, err)
		return
	}
	if !x.Enabled {
		writeErr(c.w, http.StatusForbidden, "Forbidden", "SecretDisabled", "Operation get is not allowed on a disabled secret.")
		return
	}
	writeJSON(c.w, 200, h.toJSON(c.base, c.sd, x, &value, true))
}

// set serves PUT /secrets/{name}: a new version.
func (h *Handler) set(c *call) {
	var body struct {
		Value       *string           `json:"value"`
		ContentType string            `json:"contentType"`
		Attributes  attributesJSON    `json:"attributes"`
		Tags        map[string]string `json:"tags"`
	}
	if !decode(c.w, c.r, &body) {
		return
	}
	if body.Value == nil {
		writeErr(c.w, http.StatusBadRequest, "BadParameter", "", "Property 'value' is required.")
		return
	}
	x, err := h.cfg.Svc.SetSecret(c.r.Context(), c.v, c.secret, *body.Value, body.ContentType, attrs(body.Attributes), body.Tags)
	if err != nil {
		h.fail(c.w, c.r, err)
		return
	}
	writeJSON(c.w, 200, h.toJSON(c.base, c.sd, x, body.Value, true))
}

// update serves PATCH /secrets/{name}[/{version}]: attributes, not the value.
func (h *Handler) update(c *call) {
	var body struct {
		ContentType *string           `json:"contentType"`
		Attributes  attributesJSON    `json:"attributes"`
		Tags        map[string]string `json:"tags"`
	}
	if !decode(c.w, c.r, &body) {
		return
	}
	x, err := h.cfg.Svc.UpdateSecret(c.r.Context(), c.v.Name, c.secret, c.version, body.ContentType, attrs(body.Attributes), body.Tags)
	if err != nil {
		h.fail(c.w, c.r, err)
		return
	}
	writeJSON(c.w, 200, h.toJSON(c.base, c.sd, x, nil, true))
}

// remove serves DELETE /secrets/{name}: every version, kept as a deleted
// secret in a vault with soft-delete (the answer says where to recover it
// from), else deleted outright (no recoveryId, which tells the SDKs'
// delete pollers there is nothing to wait for).
func (h *Handler) remove(c *call) {
	x, err := h.cfg.Svc.DeleteSecret(c.r.Context(), c.v, c.secret)
	if err != nil {
		h.fail(c.w, c.r, err)
		return
	}
	writeJSON(c.w, http.StatusOK, h.deletedJSON(c, x, true))
}

// listDeleted serves GET /deletedsecrets.
func (h *Handler) listDeleted(c *call) {
	items, err := h.cfg.Svc.DeletedSecrets(c.r.Context(), c.v.Name)
	if err != nil {
		h.fail(c.w, c.r, err)
		return
	}
	out := []deletedSecretJSON{}
	for _, x := range items {
		out = append(out, h.deletedJSON(c, x, false))
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"value": out, "nextLink": nil})
}

// getDeleted serves GET /deletedsecrets/{name}.
func (h *Handler) getDeleted(c *call) {
	x, err := h.cfg.Svc.DeletedSecret(c.r.Context(), c.v.Name, c.secret)
	if err != nil {
		h.fail(c.w, c.r, err)
		return
	}
	writeJSON(c.w, http.StatusOK, h.deletedJSON(c, x, true))
}

// purge serves DELETE /deletedsecrets/{name}: 204, as Key Vault.
func (h *Handler) purge(c *call) {
	if err := h.cfg.Svc.PurgeSecret(c.r.Context(), c.v, c.secret); err != nil {
		h.fail(c.w, c.r, err)
		return
	}
	c.w.WriteHeader(http.StatusNoContent)
}

// recoverDeleted serves POST /deletedsecrets/{name}/recover: the secret's newest
// version, live again (without its value).
func (h *Handler) recoverDeleted(c *call) {
	x, err := h.cfg.Svc.RecoverSecret(c.r.Context(), c.v.Name, c.secret)
	if err != nil {
		h.fail(c.w, c.r, err)
		return
	}
	writeJSON(c.w, http.StatusOK, h.toJSON(c.base, c.sd, x, nil, true))
}

// contacts serves GET /certificates/contacts. Ward's vaults hold no
// certificates, so no contacts are set: Key Vault's answer for a vault
// without them (Terraform's azurerm reads them on every vault refresh).
func (h *Handler) contacts(c *call) {
	writeErr(c.w, http.StatusNotFound, "ContactsNotFound", "", "Contacts not found")
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
	err := httpbody.JSON(r.Body, 0, v)
	e, _ := httpbody.As(err)
	switch {
	case err == nil:
		return true
	case e == nil:
		writeErr(w, http.StatusBadRequest, "BadParameter", "", "The request body could not be read.")
	case e.Problem == httpbody.TooLarge:
		writeErr(w, http.StatusRequestEntityTooLarge, "BadParameter", "", "The request body is larger than 256 KiB.")
	case e.Problem == httpbody.Unreadable:
		// A body that stops arriving or a broken connection is not "too large".
		writeErr(w, http.StatusBadRequest, "BadParameter", "", "The request body could not be read completely: it was not sent in time or the connection broke.")
	case e.Problem == httpbody.Empty:
		writeErr(w, http.StatusBadRequest, "BadParameter", "", "The request body is empty; a JSON object is required.")
	default:
		writeErr(w, http.StatusBadRequest, "BadParameter", "", "The request body is not valid JSON: "+e.Err.Error())
	}
	return false
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrDeletedSecretNotFound):
		writeErr(w, http.StatusNotFound, "SecretNotFound", "", "Deleted Secret not found")
		return
	case errors.Is(err, ErrSecretDeleted):
		_, p, _ := router.FromContext(r.Context())
		writeErr(w, http.StatusConflict, "Conflict", "ObjectIsDeletedButRecoverable", fmt.Sprintf(
			"Secret %s is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.", p.Get("name")))
		return
	case errors.Is(err, ErrPurgeProtected):
		writeErr(w, http.StatusForbidden, "Forbidden", "", "Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.")
		return
	}
	if errors.Is(err, ErrSecretNotFound) {
		writeErr(w, http.StatusNotFound, "SecretNotFound", "", "A secret with (name/id) was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command.")
		return
	}
	if me, ok := armerr.As(err); ok {
		writeErr(w, http.StatusBadRequest, me.Code, "", me.Message)
		return
	}
	h.cfg.Logger.Log(r.Context(), router.FailureLevel(r), "vault request failed", "err", err)
	writeErr(w, http.StatusInternalServerError, "InternalServerError", "", "The vault hit an internal error.")
}

// HostClass is the router's name for vault host names.
const HostClass = "vault"

// protocol is Key Vault on the wire for the mux: a recovered panic is Key
// Vault's 500.
var protocol = &router.Protocol{Name: "keyvault", Internal: func(w http.ResponseWriter, _ *http.Request) {
	writeErr(w, http.StatusInternalServerError, "InternalServerError", "", "internal error")
}}

// Mount puts the vault data plane on mux for vault hosts. Each route
// states its data action once: the mux authenticates the caller (else the
// 401 challenge) and checks the action at the vault, or at the secret
// (where a role on the secret alone applies too), before its handler runs.
func (h *Handler) Mount(mux *router.Mux) {
	mux.HostClass(HostClass, func(host string) bool { _, ok := h.cfg.Svc.Hosts.VaultFromHost(host); return ok })
	mux.Authenticate(protocol.Name, h.authenticator())
	add := func(method, pattern string, a router.Access, fn func(*call)) {
		mux.Handle(router.Route{Host: HostClass, Method: method, Pattern: pattern, Handler: h.endpoint(fn), Protocol: protocol, MaxBody: maxBody, Access: a})
	}
	atVault := func(action string) router.Access {
		return router.DataAction(action, "the vault (its resource ID)", h.vaultScope)
	}
	atSecret := func(action string) router.Access {
		return router.DataAction(action, "the secret (the vault's resource ID/secrets/{name}), or the vault", h.secretScope)
	}
	add(http.MethodGet, "/secrets", atVault(ActionReadMetadata), h.list)
	add(http.MethodGet, "/secrets/{name}/versions", atSecret(ActionReadMetadata), h.versions)
	add(http.MethodGet, "/secrets/{name}", atSecret(ActionGetSecret), h.get)
	add(http.MethodGet, "/secrets/{name}/{version}", atSecret(ActionGetSecret), h.get)
	add(http.MethodPut, "/secrets/{name}", atSecret(ActionSetSecret), h.set)
	add(http.MethodPatch, "/secrets/{name}", atSecret(ActionUpdate), h.update)
	add(http.MethodPatch, "/secrets/{name}/{version}", atSecret(ActionUpdate), h.update)
	add(http.MethodDelete, "/secrets/{name}", atSecret(ActionDelete), h.remove)
	add(http.MethodGet, "/deletedsecrets", atVault(ActionReadMetadata), h.listDeleted)
	add(http.MethodGet, "/deletedsecrets/{name}", atSecret(ActionReadMetadata), h.getDeleted)
	add(http.MethodDelete, "/deletedsecrets/{name}", atSecret(ActionPurge), h.purge)
	add(http.MethodPost, "/deletedsecrets/{name}/recover", atSecret(ActionRecover), h.recoverDeleted)
	add(http.MethodGet, "/certificates/contacts", atVault(ActionReadContacts), h.contacts)
	mux.NotFound(HostClass, "/", func(w http.ResponseWriter, r *http.Request, status int, _ []string) {
		writeErr(w, status, "NotFound", "", fmt.Sprintf("Ward's vaults serve /secrets and /deletedsecrets only; %s %s is not served.", r.Method, r.URL.Path))
	})
}
