// Package arm serves Ward's Azure Resource Manager–compatible management
// API: subscriptions, resource groups, user-assigned identities and their
// federated identity credentials, and cloud metadata. Handlers are thin: they
// parse ARM paths and bodies, call package msi, and write ARM's JSON shapes
// and error envelope.
package arm

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/authz"
	"github.com/ward-id/ward/internal/clusters"
	"github.com/ward-id/ward/internal/machines"
	"github.com/ward-id/ward/internal/msi"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/vault"
)

// Authenticator identifies the caller of a management request.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (authn.Principal, error)
}

// Authorizer decides whether a principal may perform an ARM action at a
// scope; a non-nil error is the reason it may not.
type Authorizer interface {
	Authorize(ctx context.Context, p authn.Principal, action, scope string) error
}

// ServicePrincipalsOnly is the authorizer used until role assignments are
// enforced: service principals (the bootstrap admin and those it creates)
// may manage everything; managed identities may not manage anything.
type ServicePrincipalsOnly struct{}

// Authorize allows every principal that is not a managed identity.
func (ServicePrincipalsOnly) Authorize(_ context.Context, p authn.Principal, action, scope string) error {
	if p.ManagedIdentity != "" {
		return errors.New("managed identities have no management permissions until role assignments are enforced")
	}
	return nil
}

// Config configures a Handler.
type Config struct {
	Service *msi.Service
	Auth    Authenticator
	Authz   Authorizer
	// RBAC serves role definitions and assignments; nil disables them.
	RBAC *authz.Service
	// Vaults serves Microsoft.KeyVault/vaults; nil disables them.
	Vaults *vault.Service
	// Activity records management writes; nil records nothing.
	Activity ActivityRecorder
	// Clusters serves Microsoft.ContainerService/managedClusters; nil disables them.
	Clusters *clusters.Service
	// Machines serves Microsoft.HybridCompute/machines; nil disables them.
	Machines *machines.Service
	// PublicURL is Ward's base URL (no trailing slash), written into
	// metadata and challenges.
	PublicURL string
	TenantID  string
	Logger    *slog.Logger
}

// Handler serves the management API.
type Handler struct {
	svc       *msi.Service
	auth      Authenticator
	authz     Authorizer
	rbac      *authz.Service
	vaults    *vault.Service
	activity  ActivityRecorder
	clusters  *clusters.Service
	machines  *machines.Service
	publicURL string
	tenantID  string
	log       *slog.Logger
}

// New returns a Handler.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Authz == nil {
		cfg.Authz = ServicePrincipalsOnly{}
	}
	return &Handler{svc: cfg.Service, auth: cfg.Auth, authz: cfg.Authz, rbac: cfg.RBAC, vaults: cfg.Vaults, activity: cfg.Activity, clusters: cfg.Clusters, machines: cfg.Machines, publicURL: strings.TrimSuffix(cfg.PublicURL, "/"), tenantID: cfg.TenantID, log: cfg.Logger}
}

type principalKey struct{}

// ActivityRecorder stores and lists activity log events.
type ActivityRecorder interface {
	RecordActivity(ctx context.Context, e storage.ActivityEvent) error
	ListActivity(ctx context.Context, sub string, since time.Time, limit int) ([]storage.ActivityEvent, error)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// record writes the activity log event of a management write, successful
// or not, before the handler returns.
func (h *Handler) record(r *http.Request, p authn.Principal, action, scope string, status int) {
	if h.activity == nil {
		return
	}
	switch r.Method {
	case http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodPost:
	default:
		return
	}
	result := "Succeeded"
	if status >= 400 {
		result = "Failed"
	}
	var sub string
	if id, err := resourceid.Parse(scope); err == nil {
		sub = id.Subscription
	}
	e := storage.ActivityEvent{ID: uuid.NewString(), Time: time.Now().UTC(), SubscriptionID: sub, CallerAppID: p.AppID, CallerObjectID: p.ObjectID,
		Method: r.Method, Action: action, Scope: scope, StatusCode: status, Result: result, CorrelationID: r.Header.Get(HeaderCorrelationRequestID)}
	if err := h.activity.RecordActivity(context.WithoutCancel(r.Context()), e); err != nil {
		h.log.Error("record activity", "err", err, "action", e.Action)
	}
}

// ServeHTTP authenticates, routes by the parsed ARM path and recovers panics
// into an ARM 500, so one bad request never takes the server down.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	corr := requestIDs(w, r)
	defer func() {
		if v := recover(); v != nil {
			h.writeError(w, r, fmt.Errorf("panic: %v", v))
		}
	}()
	p, err := h.auth.Authenticate(r.Context(), r)
	if err != nil {
		h.unauthorized(w, r, err)
		return
	}
	if r.Header.Get(HeaderCorrelationRequestID) == "" {
		r.Header.Set(HeaderCorrelationRequestID, corr)
	}
	// The action and scope are derived once: authorization, its error and
	// the activity record all use them. The action is the one the route
	// declared when it was mounted; a handler-authorized route records the
	// action its path implies.
	rt, _, routed := router.FromContext(r.Context())
	if !routed {
		h.writeError(w, r, newError(http.StatusNotFound, armerr.CodeNoRegisteredProvider, "No route is registered for this path."))
		return
	}
	action, scope := rt.Access.Action, scopeFor(r.URL.Path)
	if action == "" {
		action = actionFor(r)
	}
	sw := &statusWriter{ResponseWriter: w}
	w = sw
	defer func() { h.record(r, p, action, scope, sw.status) }()
	if rt.Access.Kind == router.KindAction {
		if err := h.authz.Authorize(r.Context(), p, action, scope); err != nil {
			h.writeError(w, r, h.forbidden(p, action, scope, err))
			return
		}
	}
	r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
	if err := h.route(w, r); err != nil {
		h.writeError(w, r, err)
	}
}

// requestIDs sets ARM's request and correlation ID headers and returns the
// correlation ID.
func requestIDs(w http.ResponseWriter, r *http.Request) string {
	reqID := uuid.NewString()
	w.Header().Set(HeaderRequestID, reqID)
	corr := r.Header.Get(HeaderCorrelationRequestID)
	if corr == "" {
		corr = reqID
	}
	w.Header().Set(HeaderCorrelationRequestID, corr)
	if c := r.Header.Get(HeaderClientRequestID); c != "" {
		w.Header().Set(HeaderClientRequestID, c)
	}
	return corr
}

// forbidden is ARM's 403 for a caller without action at scope.
func (h *Handler) forbidden(p authn.Principal, action, scope string, why error) error {
	return newError(http.StatusForbidden, armerr.CodeAuthorizationFailed, fmt.Sprintf(
		"The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials. (%v)",
		p.AppID, p.ObjectID, action, scope, why))
}

func (h *Handler) unauthorized(w http.ResponseWriter, r *http.Request, err error) {
	var it *authn.InvalidToken
	var code, msg string
	switch {
	case errors.Is(err, authn.ErrNoCredentials):
		code, msg = armerr.CodeAuthenticationFailed, "Authentication failed. The 'Authorization' header is missing."
	case errors.As(err, &it) && it.Expired:
		code, msg = armerr.CodeExpiredAuthToken, "The access token expiry UTC time is earlier than current UTC time."
	case errors.As(err, &it):
		code, msg = armerr.CodeInvalidAuthToken, "The access token is invalid: "+it.Reason+"."
	default:
		h.writeError(w, r, err)
		return
	}
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization_uri="%s/%s", error="invalid_token", error_description="%s"`,
		h.publicURL, h.tenantID, strings.ReplaceAll(msg, `"`, "'")))
	h.writeError(w, r, newError(http.StatusUnauthorized, code, msg))
}

func (h *Handler) route(w http.ResponseWriter, r *http.Request) error {
	if scope, typ, name, ok := authorizationPath(r.URL.Path); ok {
		return h.authorization(w, r, scope, typ, name)
	}
	id, err := resourceid.Parse(r.URL.Path)
	if err != nil {
		return newError(http.StatusBadRequest, armerr.CodeLinkedInvalidPropertyID, fmt.Sprintf("The path '%s' is not a valid Azure resource path: %v.", r.URL.Path, err))
	}
	switch {
	case id.Subscription == "" && id.Collection == "subscriptions":
		return h.subscriptions(w, r)
	case id.Provider == "" && id.ResourceGroup == "" && id.Collection == "":
		return h.subscription(w, r, id.Subscription)
	case id.Provider == "" && id.Collection != "":
		return h.groups(w, r, id.Subscription)
	case id.Provider == "":
		return h.group(w, r, id.Subscription, id.ResourceGroup)
	case strings.EqualFold(id.Provider, ProviderKeyVault) && h.vaults != nil && id.TypeMatches(TypeVault) && id.Collection != "":
		return h.vaultCollection(w, r, id.Subscription, id.ResourceGroup)
	case strings.EqualFold(id.Provider, ProviderKeyVault) && h.vaults != nil && id.TypeMatches(TypeVault) && id.ResourceGroup != "":
		return h.vault(w, r, id.Subscription, id.ResourceGroup, id.Types[0].Name)
	case h.clusters != nil && id.TypeMatches(TypeManagedCluster) && id.Collection != "":
		return h.clusterCollection(w, r, id.Subscription, id.ResourceGroup)
	case h.clusters != nil && id.TypeMatches(TypeManagedCluster) && id.ResourceGroup != "":
		return h.cluster(w, r, clusterRef(id.Subscription, id.ResourceGroup, id.Types[0].Name))
	case h.clusters != nil && id.TypeMatches(typeRotateSigningKey) && id.ResourceGroup != "":
		return h.rotateSigningKey(w, r, clusterRef(id.Subscription, id.ResourceGroup, id.Types[0].Name))
	case h.clusters != nil && id.TypeMatches(typeSigningKey) && id.ResourceGroup != "":
		return h.signingKey(w, r, clusterRef(id.Subscription, id.ResourceGroup, id.Types[0].Name))
	case h.clusters != nil && id.TypeMatches(typeServiceAccountToken) && id.ResourceGroup != "":
		return h.serviceAccountToken(w, r, clusterRef(id.Subscription, id.ResourceGroup, id.Types[0].Name))
	case h.clusters != nil && id.TypeMatches(TypeAgentPool) && id.Collection != "" && id.ResourceGroup != "":
		return h.agentPools(w, r, clusterRef(id.Subscription, id.ResourceGroup, id.Types[0].Name))
	case h.clusters != nil && id.TypeMatches(TypeAgentPool) && id.ResourceGroup != "":
		return h.agentPool(w, r, clusterRef(id.Subscription, id.ResourceGroup, id.Types[0].Name), id.Types[1].Name)
	case h.machines != nil && id.TypeMatches(TypeMachine) && id.Collection != "":
		return h.machineCollection(w, r, id.Subscription, id.ResourceGroup)
	case h.machines != nil && id.TypeMatches(TypeMachine) && id.ResourceGroup != "":
		return h.machine(w, r, machineRef(id.Subscription, id.ResourceGroup, id.Types[0].Name))
	case h.machines != nil && id.TypeMatches(typeResetCredential) && id.ResourceGroup != "":
		return h.resetCredential(w, r, machineRef(id.Subscription, id.ResourceGroup, id.Types[0].Name))
	case h.activity != nil && id.TypeMatches(TypeActivityLog) && id.ResourceGroup == "":
		return h.activityLog(w, r, id.Subscription)
	case !strings.EqualFold(id.Provider, ProviderMSI):
		return newError(http.StatusBadRequest, armerr.CodeInvalidResourceNS, fmt.Sprintf("The resource namespace '%s' is invalid or not served by Ward. Ward serves '%s'.", id.Provider, ProviderMSI))
	case id.TypeMatches(TypeIdentity) && id.Collection != "":
		return h.identities(w, r, id.Subscription, id.ResourceGroup)
	case id.TypeMatches(TypeIdentity) && id.ResourceGroup != "":
		return h.identity(w, r, ref(id))
	case id.TypeMatches(TypeFederatedCredential) && id.Collection != "" && id.ResourceGroup != "":
		return h.federatedCredentials(w, r, ref(id))
	case id.TypeMatches(TypeFederatedCredential) && id.ResourceGroup != "":
		return h.federatedCredential(w, r, ref(id), id.Types[1].Name)
	}
	return newError(http.StatusBadRequest, armerr.CodeInvalidResourceType, fmt.Sprintf("The resource type at '%s' could not be found in the namespace '%s'.", r.URL.Path, id.Provider))
}

func ref(id resourceid.ID) storage.IdentityRef {
	return storage.IdentityRef{SubscriptionID: id.Subscription, ResourceGroup: id.ResourceGroup, Name: id.Types[0].Name}
}

func methodNotAllowed(r *http.Request, allowed ...string) error {
	return newError(http.StatusMethodNotAllowed, armerr.CodeMethodNotAllowed, fmt.Sprintf(
		"The HTTP method '%s' is not supported at '%s'. Supported methods: %s.", r.Method, r.URL.Path, strings.Join(allowed, ", ")))
}

// decodeBody reads a bounded JSON body into v. An empty body, malformed
// JSON, values of the wrong type or trailing data are 400
// InvalidRequestContent; an oversized body is 413.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return newError(http.StatusRequestEntityTooLarge, armerr.CodeRequestTooLarge, fmt.Sprintf("The request content is larger than the maximum of %d bytes.", MaxBodyBytes))
	}
	if err != nil {
		return newError(http.StatusBadRequest, armerr.CodeInvalidRequestContent, "The request content could not be read: "+err.Error())
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.Contains(strings.ToLower(ct), "json") {
		return newError(http.StatusUnsupportedMediaType, armerr.CodeUnsupportedMediaType, fmt.Sprintf("The content media type '%s' is not supported. Only 'application/json' is supported.", ct))
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return newError(http.StatusBadRequest, armerr.CodeInvalidRequestContent, "The request content was invalid and could not be deserialized: the body is empty; a JSON object is required.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return newError(http.StatusBadRequest, armerr.CodeInvalidRequestContent, fmt.Sprintf("The request content was invalid and could not be deserialized: '%v'.", err))
	}
	if dec.More() {
		return newError(http.StatusBadRequest, armerr.CodeInvalidRequestContent, "The request content was invalid and could not be deserialized: unexpected data after the JSON object.")
	}
	return nil
}

// pageFromQuery reads $top and $skiptoken.
func pageFromQuery(r *http.Request) (storage.Page, error) {
	var p storage.Page
	q := r.URL.Query()
	if t := q.Get("$top"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 || n > 1000 {
			return p, newError(http.StatusBadRequest, armerr.CodeInvalidParameter, fmt.Sprintf("The value '%s' of $top is invalid; it must be a whole number from 1 to 1000.", t))
		}
		p.Limit = n
	}
	if s := q.Get("$skiptoken"); s != "" {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			return p, newError(http.StatusBadRequest, armerr.CodeInvalidSkipToken, "The $skiptoken is invalid; use the nextLink of the previous page as it is.")
		}
		p.After = string(b)
	}
	return p, nil
}

// nextLink builds the URL of the next page, or "" when there is none.
func nextLink(r *http.Request, next string) string {
	if next == "" {
		return ""
	}
	q := url.Values{}
	q.Set("api-version", r.URL.Query().Get("api-version"))
	if t := r.URL.Query().Get("$top"); t != "" {
		q.Set("$top", t)
	}
	q.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte(next)))
	return "https://" + r.Host + r.URL.EscapedPath() + "?" + q.Encode()
}

// list is ARM's list envelope; Value is never null.
type list[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"nextLink,omitempty"`
}

func writeList[T any](w http.ResponseWriter, r *http.Request, items []T, next string) {
	if items == nil {
		items = []T{}
	}
	writeJSON(w, http.StatusOK, list[T]{Value: items, NextLink: nextLink(r, next)})
}

// writePut answers a PUT: 201 when created, 200 when updated.
func writePut(w http.ResponseWriter, created bool, v any) {
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, v)
}

// writeDelete answers a DELETE: 200 when deleted, 204 when there was nothing.
// resourceMethods are the service calls behind GET, PUT and DELETE of one
// simple tracked resource (a vault, a managed cluster); put decodes the
// body itself.
type resourceMethods[T, J any] struct {
	get  func(ctx context.Context) (T, error)
	put  func(ctx context.Context) (T, bool, error)
	del  func(ctx context.Context) (bool, error)
	view func(T) J
}

// serveResource answers GET, PUT (201 on create, 200 on update) and
// DELETE (200, or 204 when absent) as ARM does.
func serveResource[T, J any](w http.ResponseWriter, r *http.Request, m resourceMethods[T, J]) error {
	ctx := r.Context()
	switch r.Method {
	case http.MethodGet:
		v, err := m.get(ctx)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, m.view(v))
	case http.MethodPut:
		v, created, err := m.put(ctx)
		if err != nil {
			return err
		}
		writePut(w, created, m.view(v))
	case http.MethodDelete:
		found, err := m.del(ctx)
		if err != nil {
			return err
		}
		writeDelete(w, found)
	default:
		return methodNotAllowed(r, "GET", "PUT", "DELETE")
	}
	return nil
}

func writeDelete(w http.ResponseWriter, found bool) {
	if found {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
