package directory

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/challenge"
	"github.com/ward-id/ward/internal/grapherr"
	"github.com/ward-id/ward/internal/httpbody"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/storage"
)

// Authenticator identifies the caller.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (authn.Principal, error)
}

// HandlerConfig configures a Handler.
type HandlerConfig struct {
	Svc    *Service
	Auth   Authenticator
	Policy Policy
	Logger *slog.Logger
	Base   string // public URL
}

// Handler serves a Microsoft Graph–shaped API under /v1.0 (service
// principals, the sign-in log) and answers unmatched paths under /ward/
// (Ward's admin API; key rotation is mounted by the signer's rotation
// package). Every
// operation is authorized with RBAC (see access.go).
type Handler struct{ cfg HandlerConfig }

// NewHandler returns the handler; a nil Logger is slog.Default().
func NewHandler(cfg HandlerConfig) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Handler{cfg: cfg}
}

// maxBody caps a directory request's body; every route declares it and the
// mux applies it.
const maxBody = 1 << 20

// call is one authenticated directory request.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	caller Caller
	params router.Params
}

// Mount puts the directory's routes on mux, with Graph's authenticator
// (authenticator). Tenant-wide operations need their action at "/";
// operations on one principal need it at the principal's scope
// (ObjectScope), where its owners hold Application Owner. The mux checks
// both before a handler runs.
func (h *Handler) Mount(mux *router.Mux) {
	mux.Authenticate(protocol.Name, h.authenticator())
	add := func(method, pattern string, a router.Access, fn func(*call) error) {
		mux.Handle(router.Route{Method: method, Pattern: pattern, Access: a, Handler: h.endpoint(fn), Protocol: protocol, MaxBody: maxBody})
	}
	tenant := func(action string) router.Access { return router.ActionAt(action, "'/'", router.Root) }
	object := func(action string) router.Access {
		return router.ActionAt(action, "the service principal's scope (/providers/Microsoft.Directory/servicePrincipals/{objectId})", h.objectScope).
			Then("the handler checks " + ActionAssignRoles + " at every scope where the principal holds a role, so no caller takes over a principal more privileged than itself")
	}
	add("GET", "/v1.0/servicePrincipals", router.Handler("every caller; "+ActionRead+" at '/' lists every principal, otherwise the list holds the caller itself and the principals it owns"), h.list)
	add("POST", "/v1.0/servicePrincipals", tenant(ActionCreate), h.create)
	for _, item := range []string{"/v1.0/servicePrincipals/{id}", "/v1.0/servicePrincipals(appId='{id}')"} {
		add("GET", item, router.Handler(ActionRead+" at the principal's scope, or the caller itself"), h.get)
		add("PATCH", item, object(ActionCredentialsUpdate), h.patch)
		add("DELETE", item, object(ActionDelete), h.delete)
		add("POST", item+"/addPassword", object(ActionCredentialsUpdate), h.addPassword)
		add("POST", item+"/removePassword", object(ActionCredentialsUpdate), h.removePassword)
	}
	add("POST", "/v1.0/directoryObjects/getByIds", router.Handler("every caller; the answer holds only the principals the caller may read (as GET /v1.0/servicePrincipals/{id})"), h.getByIDs)
	add("GET", "/v1.0/auditLogs/signIns", tenant(ActionAuditLogsRead), h.signIns)
	notFound := func(w http.ResponseWriter, r *http.Request, status int, _ []string) {
		if status == http.StatusMethodNotAllowed {
			grapherr.Write(w, status, "Request_BadRequest", fmt.Sprintf("The method %s is not supported at '%s'.", r.Method, r.URL.Path))
			return
		}
		grapherr.Write(w, http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist.", r.URL.Path))
	}
	mux.NotFound("", "/v1.0/", notFound)
	mux.NotFound("", "/ward/", notFound)
}

// protocol is Graph on the wire for the mux: a recovered panic is Graph's
// 500.
var protocol = &router.Protocol{Name: "graph", Internal: func(w http.ResponseWriter, _ *http.Request) {
	grapherr.Write(w, http.StatusInternalServerError, "InternalServerError", "internal error")
}}

// objectScope is the scope of the principal the request's {id} names (an
// object ID or a client ID).
func (h *Handler) objectScope(r *http.Request, p router.Params) (string, error) {
	sp, err := h.cfg.Svc.Get(r.Context(), p.Get("id"))
	if err != nil {
		return "", err
	}
	return ObjectScope(sp.ObjectID), nil
}

// authenticator is Graph's on the mux: the Graph bearer token and its
// challenge; a refused action is Graph's 403, except on a principal the
// caller may not even read, which is a 404 as Graph answers for objects
// outside the caller's view.
func (h *Handler) authenticator() router.Authenticator {
	return router.Authenticator{
		Name: "Graph bearer token (Graph audience)",
		Authenticate: func(r *http.Request) (router.Caller, error) {
			p, err := h.cfg.Auth.Authenticate(r.Context(), r)
			if err != nil {
				return router.Caller{}, err
			}
			return router.Caller{ObjectID: p.ObjectID, AppID: p.AppID, Principal: Caller{ObjectID: p.ObjectID, AppID: p.AppID}}, nil
		},
		Unauthorized: func(w http.ResponseWriter, _ *http.Request, err error) {
			w.Header().Set(challenge.Header, challenge.Graph(h.cfg.Base))
			grapherr.Write(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure: "+err.Error())
		},
		Forbidden: func(w http.ResponseWriter, r *http.Request, d router.Denial) {
			c := Caller{ObjectID: d.Caller.ObjectID, AppID: d.Caller.AppID}
			if !errors.Is(d.Err, router.ErrNotGranted) {
				h.fail(w, r, d.Err) // the principal does not exist
				return
			}
			if _, params, _ := router.FromContext(r.Context()); params.Get("id") != "" {
				if sp, err := h.cfg.Svc.Get(r.Context(), params.Get("id")); err == nil && h.cfg.Policy.Read(c, sp) != nil {
					h.fail(w, r, fmt.Errorf("%w: no service principal with object ID or client ID '%s'", ErrNotFound, params.Get("id")))
					return
				}
			}
			h.fail(w, r, denied(c, d.Action, d.Scope, ""))
		},
	}
}

// endpoint runs fn for the caller the mux authenticated (and authorized:
// see Mount) and writes fn's error (the mux recovers panics).
func (h *Handler) endpoint(fn func(*call) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := router.CallerFrom(r.Context())
		caller, isCaller := c.Principal.(Caller)
		if !ok || !isCaller {
			// Not served through a mux that ran Graph's authenticator.
			w.Header().Set(challenge.Header, challenge.Graph(h.cfg.Base))
			grapherr.Write(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure: the request was not authenticated.")
			return
		}
		_, params, _ := router.FromContext(r.Context())
		if err := fn(&call{w: w, r: r, caller: caller, params: params}); err != nil {
			h.fail(w, r, err)
		}
	})
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var inv *InvalidError
	var den *DeniedError
	var man *ManagedError
	switch {
	case errors.As(err, &man):
		grapherr.Write(w, http.StatusBadRequest, "Request_BadRequest", man.Message)
	case errors.As(err, &den):
		grapherr.Write(w, http.StatusForbidden, "Authorization_RequestDenied", den.Message)
	case errors.Is(err, ErrNotFound):
		grapherr.Write(w, http.StatusNotFound, "Request_ResourceNotFound", err.Error())
	case errors.As(err, &inv):
		grapherr.Write(w, http.StatusBadRequest, "Request_BadRequest", inv.Message)
	case errors.Is(err, storage.ErrAlreadyExists):
		grapherr.Write(w, http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue", err.Error())
	default:
		h.cfg.Logger.Log(r.Context(), router.FailureLevel(r), "directory request failed", "err", err)
		grapherr.Write(w, http.StatusInternalServerError, "InternalServerError", "The directory hit an internal error.")
	}
}

// decode reads a JSON body into v; an empty body leaves v as it is (a
// POST without properties).
func decode(r *http.Request, v any) error {
	err := httpbody.JSON(r.Body, 0, v)
	e, _ := httpbody.As(err)
	switch {
	case e == nil:
		return err
	case e.Problem == httpbody.Empty:
		return nil
	case e.Problem == httpbody.Malformed:
		return &InvalidError{"The request body is not valid JSON: " + e.Err.Error()}
	}
	return &InvalidError{"The request body is unreadable or larger than 1 MiB."}
}

// ---- JSON shapes ----

type passwordCredential struct {
	KeyID         string  `json:"keyId"`
	DisplayName   string  `json:"displayName"`
	Hint          string  `json:"hint"`
	StartDateTime string  `json:"startDateTime"`
	EndDateTime   string  `json:"endDateTime"`
	SecretText    *string `json:"secretText"`
}

type keyCredential struct {
	KeyID               string `json:"keyId"`
	Type                string `json:"type"`
	Usage               string `json:"usage"`
	CustomKeyIdentifier string `json:"customKeyIdentifier"`
	EndDateTime         string `json:"endDateTime"`
	Key                 string `json:"key,omitempty"`
	DisplayName         string `json:"displayName,omitempty"`
}

type spJSON struct {
	ODataType             string               `json:"@odata.type"`
	ID                    string               `json:"id"`
	AppID                 string               `json:"appId"`
	DisplayName           string               `json:"displayName"`
	AppOwnerTenantID      string               `json:"appOwnerOrganizationId"`
	ServicePrincipalNames []string             `json:"servicePrincipalNames"`
	ServicePrincipalType  string               `json:"servicePrincipalType"`
	AlternativeNames      []string             `json:"alternativeNames"`
	AccountEnabled        bool                 `json:"accountEnabled"`
	CreatedDateTime       string               `json:"createdDateTime"`
	PasswordCredentials   []passwordCredential `json:"passwordCredentials"`
	KeyCredentials        []keyCredential      `json:"keyCredentials"`
}

func rfc(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func toJSON(sp ServicePrincipal) spJSON {
	j := spJSON{ODataType: "#microsoft.graph.servicePrincipal", ID: sp.ObjectID, AppID: sp.AppID, DisplayName: sp.DisplayName,
		AppOwnerTenantID: sp.TenantID, ServicePrincipalNames: []string{sp.AppID}, ServicePrincipalType: "Application",
		AccountEnabled: true, CreatedDateTime: rfc(sp.CreatedAt), PasswordCredentials: []passwordCredential{}, KeyCredentials: []keyCredential{},
		AlternativeNames: []string{}}
	if sp.ManagedResourceID != "" {
		// As Entra shows a managed identity: isExplicit=True for a
		// user-assigned identity (a resource of its own), False for a
		// resource's system-assigned one, then the resource ID.
		explicit := strings.Contains(strings.ToLower(sp.ManagedResourceID), "/providers/microsoft.managedidentity/userassignedidentities/")
		j.ServicePrincipalType = "ManagedIdentity"
		// Ward also lists the resource ID among the names, so that
		// servicePrincipalNames/any(c:c eq '<resource ID>') (az's lookup of
		// --assignee) finds it.
		j.ServicePrincipalNames = append(j.ServicePrincipalNames, sp.ManagedResourceID)
		j.AlternativeNames = []string{fmt.Sprintf("isExplicit=%s", map[bool]string{true: "True", false: "False"}[explicit]), sp.ManagedResourceID}
	}
	for _, s := range sp.Secrets {
		j.PasswordCredentials = append(j.PasswordCredentials, passwordCredential{KeyID: s.KeyID, DisplayName: s.DisplayName, Hint: s.Hint,
			StartDateTime: rfc(s.CreatedAt), EndDateTime: rfc(s.ExpiresAt)})
	}
	for _, c := range sp.Certificates {
		j.KeyCredentials = append(j.KeyCredentials, keyCredential{KeyID: c.KeyID, Type: "AsymmetricX509Cert", Usage: "Verify",
			CustomKeyIdentifier: strings.ToUpper(c.Thumbprint), EndDateTime: rfc(c.ExpiresAt)})
	}
	return j
}

// ---- handlers ----

var (
	spnFilterRE  = regexp.MustCompile(`^servicePrincipalNames/any\(\w+:\s*\w+\s+eq\s+'([^']*)'\)$`)
	eqFilterRE   = regexp.MustCompile(`^(appId|displayName|id)\s+eq\s+'([^']*)'$`)
	sinceFilteRE = regexp.MustCompile(`^createdDateTime\s+ge\s+(\S+)$`)
)

func (h *Handler) list(c *call) error {
	ctx := c.r.Context()
	var appID, name, objectID, resourceID string
	if f := strings.TrimSpace(c.r.URL.Query().Get("$filter")); f != "" {
		if m := spnFilterRE.FindStringSubmatch(f); m != nil && strings.HasPrefix(m[1], "/") {
			resourceID = m[1]
		} else if m != nil {
			appID = m[1]
		} else if m := eqFilterRE.FindStringSubmatch(f); m != nil {
			switch m[1] {
			case "appId":
				appID = m[2]
			case "displayName":
				name = m[2]
			default:
				objectID = m[2]
			}
		} else {
			grapherr.Write(c.w, http.StatusBadRequest, "Request_UnsupportedQuery", fmt.Sprintf("Unsupported $filter '%s'. Ward supports servicePrincipalNames/any(c:c eq '...'), appId eq '...', displayName eq '...' and id eq '...'.", f))
			return nil
		}
	}
	var sps []ServicePrincipal
	var err error
	if resourceID != "" {
		sps, err = h.cfg.Svc.ByResourceID(ctx, resourceID)
	} else {
		sps, err = h.cfg.Svc.List(ctx, appID, name)
	}
	if err != nil {
		return err
	}
	all := h.cfg.Policy.CanReadAll(c.caller)
	out := []spJSON{}
	for _, sp := range sps {
		if objectID != "" && !strings.EqualFold(sp.ObjectID, objectID) {
			continue
		}
		if all || h.cfg.Policy.Read(c.caller, sp) == nil {
			out = append(out, toJSON(sp))
		}
	}
	grapherr.WriteJSON(c.w, 200, map[string]any{"@odata.context": h.cfg.Base + "/v1.0/$metadata#servicePrincipals", "value": out})
	return nil
}

// create makes a service principal owned by its creator, as an Entra app
// registration is owned by the user who registers it.
func (h *Handler) create(c *call) error {
	var body struct {
		DisplayName string `json:"displayName"`
	}
	if err := decode(c.r, &body); err != nil {
		return err
	}
	sp, err := h.cfg.Svc.Create(c.r.Context(), body.DisplayName)
	if err != nil {
		return err
	}
	if err := h.cfg.Policy.Access.GrantOwner(c.r.Context(), ObjectScope(sp.ObjectID), c.caller.ObjectID); err != nil {
		return err
	}
	grapherr.WriteJSON(c.w, 201, toJSON(sp))
	return nil
}

// read loads the principal of the request's {id} for a caller that may
// read it (itself, or ActionRead at its scope). A caller that may not
// learns nothing of it: 404, as Graph answers for objects outside the
// caller's view.
func (h *Handler) read(c *call) (ServicePrincipal, error) {
	sp, err := h.cfg.Svc.Get(c.r.Context(), c.params.Get("id"))
	if err != nil {
		return sp, err
	}
	if h.cfg.Policy.Read(c.caller, sp) != nil {
		return sp, fmt.Errorf("%w: no service principal with object ID or client ID '%s'", ErrNotFound, c.params.Get("id"))
	}
	return sp, nil
}

// target loads the principal of the request's {id} for a change the mux
// authorized (the route's action at the principal's scope) and checks what
// the route adds: the right to assign every role the principal holds.
func (h *Handler) target(c *call) (ServicePrincipal, error) {
	sp, err := h.cfg.Svc.Get(c.r.Context(), c.params.Get("id"))
	if err != nil {
		return sp, err
	}
	return sp, h.cfg.Policy.Takeover(c.r.Context(), c.caller, sp)
}

// maxGetByIDs is Graph's limit on ids in one getByIds request.
const maxGetByIDs = 1000

// getByIDs answers POST /v1.0/directoryObjects/getByIds, which az uses to
// resolve an --assignee GUID that names no service principal by its names:
// the objects among ids that exist and that the caller may read, unknown
// ones left out as Graph does. Ward's directory holds service principals
// only, so a types list without servicePrincipal (or directoryObject)
// finds nothing.
func (h *Handler) getByIDs(c *call) error {
	var body struct {
		IDs   []string `json:"ids"`
		Types []string `json:"types"`
	}
	if err := decode(c.r, &body); err != nil {
		return err
	}
	if len(body.IDs) == 0 || len(body.IDs) > maxGetByIDs {
		return &InvalidError{fmt.Sprintf("ids must hold from 1 to %d object IDs.", maxGetByIDs)}
	}
	wanted := len(body.Types) == 0
	for _, t := range body.Types {
		wanted = wanted || strings.EqualFold(t, "servicePrincipal") || strings.EqualFold(t, "directoryObject")
	}
	out := []spJSON{}
	seen := map[string]bool{}
	for _, id := range body.IDs {
		if !wanted || seen[strings.ToLower(id)] {
			continue
		}
		seen[strings.ToLower(id)] = true
		sp, err := h.cfg.Svc.Get(c.r.Context(), id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		// getByIds takes object IDs only; Get also matches client IDs.
		if !strings.EqualFold(sp.ObjectID, id) || h.cfg.Policy.Read(c.caller, sp) != nil {
			continue
		}
		out = append(out, toJSON(sp))
	}
	grapherr.WriteJSON(c.w, http.StatusOK, map[string]any{"@odata.context": h.cfg.Base + "/v1.0/$metadata#directoryObjects", "value": out})
	return nil
}

func (h *Handler) get(c *call) error {
	sp, err := h.read(c)
	if err != nil {
		return err
	}
	grapherr.WriteJSON(c.w, 200, toJSON(sp))
	return nil
}

func (h *Handler) delete(c *call) error {
	sp, err := h.target(c)
	if err != nil {
		return err
	}
	if err := h.cfg.Svc.Delete(c.r.Context(), sp.ObjectID); err != nil {
		return err
	}
	if err := h.cfg.Policy.Access.ForgetPrincipal(c.r.Context(), sp.ObjectID, ObjectScope(sp.ObjectID)); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) patch(c *call) error {
	sp, err := h.target(c)
	if err != nil {
		return err
	}
	var body struct {
		KeyCredentials *[]keyCredential `json:"keyCredentials"`
	}
	if err := decode(c.r, &body); err != nil {
		return err
	}
	if body.KeyCredentials != nil {
		var ders [][]byte
		for i, kc := range *body.KeyCredentials {
			der, err := base64.StdEncoding.DecodeString(kc.Key)
			if err != nil || (kc.Type != "" && kc.Type != "AsymmetricX509Cert") {
				return &InvalidError{fmt.Sprintf("keyCredentials[%d]: type must be AsymmetricX509Cert and key the base64 DER certificate.", i)}
			}
			ders = append(ders, der)
		}
		if _, err := h.cfg.Svc.ReplaceCertificates(c.r.Context(), sp.ObjectID, ders); err != nil {
			return err
		}
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) addPassword(c *call) error {
	sp, err := h.target(c)
	if err != nil {
		return err
	}
	var body struct {
		PasswordCredential struct {
			DisplayName string `json:"displayName"`
			EndDateTime string `json:"endDateTime"`
		} `json:"passwordCredential"`
	}
	if err := decode(c.r, &body); err != nil {
		return err
	}
	var end time.Time
	if e := body.PasswordCredential.EndDateTime; e != "" {
		var err error
		if end, err = time.Parse(time.RFC3339, e); err != nil {
			return &InvalidError{fmt.Sprintf("endDateTime '%s' is not an RFC 3339 time.", e)}
		}
	}
	s, err := h.cfg.Svc.AddSecret(c.r.Context(), sp.ObjectID, body.PasswordCredential.DisplayName, end)
	if err != nil {
		return err
	}
	grapherr.WriteJSON(c.w, 200, passwordCredential{KeyID: s.KeyID, DisplayName: s.DisplayName, Hint: s.Hint,
		StartDateTime: rfc(s.Start), EndDateTime: rfc(s.End), SecretText: &s.SecretText})
	return nil
}

func (h *Handler) removePassword(c *call) error {
	sp, err := h.target(c)
	if err != nil {
		return err
	}
	var body struct {
		KeyID string `json:"keyId"`
	}
	if err := decode(c.r, &body); err != nil {
		return err
	}
	if err := h.cfg.Svc.RemoveSecret(c.r.Context(), sp.ObjectID, body.KeyID); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

type signInJSON struct {
	ID                        string `json:"id"`
	CreatedDateTime           string `json:"createdDateTime"`
	AppID                     string `json:"appId"`
	ServicePrincipalID        string `json:"servicePrincipalId"`
	ManagedIdentityResourceID string `json:"managedIdentityResourceId,omitempty"`
	ResourceID                string `json:"resourceId"`
	CredentialType            string `json:"clientCredentialType"`
	Result                    string `json:"result"`
	Status                    struct {
		ErrorCode     int    `json:"errorCode"`
		FailureReason string `json:"failureReason,omitempty"`
	} `json:"status"`
	FederatedIssuer  string `json:"federatedTokenIssuer,omitempty"`
	FederatedSubject string `json:"federatedTokenId,omitempty"`
	IPAddress        string `json:"ipAddress,omitempty"`
	// Count is how many requests the record stands for: refusals repeated
	// within a minute are aggregated, the last at LastSeenDateTime.
	Count            int    `json:"count"`
	LastSeenDateTime string `json:"lastSeenDateTime"`
}

// signIns lists the sign-in log: $filter=createdDateTime ge <RFC3339>, $top.
func (h *Handler) signIns(c *call) error {
	w, r := c.w, c.r
	since := h.cfg.Svc.now().Add(-24 * time.Hour)
	if f := strings.TrimSpace(r.URL.Query().Get("$filter")); f != "" {
		m := sinceFilteRE.FindStringSubmatch(f)
		var err error
		if m == nil {
			err = errors.New("unsupported")
		} else {
			since, err = time.Parse(time.RFC3339, m[1])
		}
		if err != nil {
			grapherr.Write(w, http.StatusBadRequest, "Request_UnsupportedQuery", fmt.Sprintf("Unsupported $filter '%s': use createdDateTime ge <RFC 3339 time>.", f))
			return nil
		}
	}
	top := 100
	if t := r.URL.Query().Get("$top"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 || n > 1000 {
			grapherr.Write(w, http.StatusBadRequest, "Request_BadRequest", "$top must be a whole number from 1 to 1000.")
			return nil
		}
		top = n
	}
	items, err := h.cfg.Svc.store.ListSignIns(r.Context(), since, top)
	if err != nil {
		return err
	}
	out := []signInJSON{}
	for _, s := range items {
		j := signInJSON{ID: s.ID, CreatedDateTime: s.Time.UTC().Format(time.RFC3339Nano), AppID: s.ClientID, ServicePrincipalID: s.PrincipalID,
			ManagedIdentityResourceID: s.IdentityID, ResourceID: s.Resource, CredentialType: s.Credential, Result: s.Result,
			FederatedIssuer: s.Issuer, FederatedSubject: s.Subject, IPAddress: s.Source, Count: max(s.Count, 1),
			LastSeenDateTime: s.LastSeen.UTC().Format(time.RFC3339Nano)}
		if s.LastSeen.IsZero() {
			j.LastSeenDateTime = j.CreatedDateTime
		}
		j.Status.ErrorCode, j.Status.FailureReason = s.ErrorCode, s.Reason
		out = append(out, j)
	}
	grapherr.WriteJSON(w, 200, map[string]any{"value": out})
	return nil
}
