// Package arm serves Ward's Azure Resource Manager–compatible management
// API as a table of resource types (types.go): subscriptions, resource
// groups, user-assigned identities and their federated credentials, vaults,
// managed clusters and their agent pools, connected machines; beside them
// role objects, the activity log and cloud metadata. A request's path is
// parsed once into a request value (resource ID, action, scope); one
// generic flow (table.go) serves every type's list, GET, PUT, PATCH and
// DELETE; errors are armerr values written once, at the edge.
package arm

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/audit"
	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/authz"
	"github.com/ward-id/ward/internal/blob"
	"github.com/ward-id/ward/internal/challenge"
	"github.com/ward-id/ward/internal/clusters"
	"github.com/ward-id/ward/internal/httpbody"
	"github.com/ward-id/ward/internal/machines"
	"github.com/ward-id/ward/internal/msi"
	"github.com/ward-id/ward/internal/policy"
	"github.com/ward-id/ward/internal/registry"
	"github.com/ward-id/ward/internal/resources"
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
	// Resources serves subscriptions and resource groups.
	Resources *resources.Service
	// Service serves user-assigned identities and federated credentials.
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
	// Registries serves Microsoft.ContainerRegistry/registries; nil disables them.
	Registries *registry.Service
	// Blobs serves Microsoft.Storage/storageAccounts and their blob
	// containers; nil disables them.
	Blobs *blob.Service
	// Policy serves Azure Policy definitions and assignments and evaluates
	// every write against them; nil disables both.
	Policy *policy.Service
	// IssuerCluster resolves an issuer URL to the Ward cluster whose hosted
	// issuer it is (policy's wardIssuerCluster()); nil resolves none.
	IssuerCluster func(ctx context.Context, issuer string) (storage.Cluster, bool)
	// PublicURL is Ward's base URL (no trailing slash), written into
	// metadata and challenges.
	PublicURL string
	TenantID  string
	Logger    *slog.Logger
}

// Handler serves the management API.
type Handler struct {
	groups     *resources.Service
	svc        *msi.Service
	auth       Authenticator
	authz      Authorizer
	rbac       *authz.Service
	vaults     *vault.Service
	activity   ActivityRecorder
	clusters   *clusters.Service
	machines   *machines.Service
	registries *registry.Service
	blobs      *blob.Service
	policy     *policy.Service
	// issuerCluster: see Config.IssuerCluster.
	issuerCluster func(ctx context.Context, issuer string) (storage.Cluster, bool)
	publicURL     string
	tenantID      string
	log           *slog.Logger
}

// New returns a Handler.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Authz == nil {
		cfg.Authz = ServicePrincipalsOnly{}
	}
	return &Handler{groups: cfg.Resources, svc: cfg.Service, auth: cfg.Auth, authz: cfg.Authz, rbac: cfg.RBAC, vaults: cfg.Vaults, activity: cfg.Activity, clusters: cfg.Clusters, machines: cfg.Machines, registries: cfg.Registries, blobs: cfg.Blobs, policy: cfg.Policy, issuerCluster: cfg.IssuerCluster, publicURL: strings.TrimSuffix(cfg.PublicURL, "/"), tenantID: cfg.TenantID, log: cfg.Logger}
}

type principalKey struct{}

// ActivityRecorder stores and lists activity log events.
type ActivityRecorder interface {
	RecordActivity(ctx context.Context, e storage.ActivityEvent) error
	ListActivity(ctx context.Context, sub string, since time.Time, limit int) ([]storage.ActivityEvent, error)
}

// record writes the activity log event of a management write, successful
// or not, before the handler returns.
func (h *Handler) record(q *request, status int) {
	if h.activity == nil {
		return
	}
	r := q.r
	switch r.Method {
	case http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodPost:
	default:
		return
	}
	p := q.principal
	audit.Activity{Store: h.activity, Logger: h.log}.Record(r.Context(), storage.ActivityEvent{SubscriptionID: q.id.Subscription, CallerAppID: p.AppID, CallerObjectID: p.ObjectID,
		Method: r.Method, Action: q.action, Scope: q.scope, StatusCode: status, CorrelationID: r.Header.Get(router.HeaderCorrelationRequestID)})
}

// endpoint is the one preamble of every management route: the mux has
// authenticated the caller and authorized the route's declared action
// (authenticator) before it runs; it parses the path once into a request,
// records writes in the activity log, and writes fn's error in ARM's
// envelope. The mux has set the request IDs and recovers panics into ARM's
// 500 (protocol).
func (h *Handler) endpoint(fn func(*request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, authenticated := router.CallerFrom(r.Context())
		p, isPrincipal := c.Principal.(authn.Principal)
		if !authenticated || !isPrincipal {
			// Not served through a mux that ran ARM's authenticator: refuse
			// rather than serve an unauthenticated caller.
			h.unauthorized(w, r, authn.ErrNoCredentials)
			return
		}
		rt, _, _ := router.FromContext(r.Context())
		q := h.parse(w, r, p, rt)
		defer func() { h.record(q, router.Status(w)) }()
		if q.idErr != nil {
			h.writeError(w, r, q.idErr)
			return
		}
		if err := fn(q); err != nil {
			h.writeError(w, r, err)
		}
	})
}

// parse derives the request's action and scope once: authorization, its
// error and the activity record all use them. The action is the one the
// route declared when it was mounted; a handler-authorized route records
// the action its path implies.
func (h *Handler) parse(w http.ResponseWriter, r *http.Request, p authn.Principal, rt router.Route) *request {
	q := parseRequest(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	q.principal, q.action = p, rt.Access.Action
	if q.action == "" {
		q.action = actionFor(r.Method, q)
	}
	return q
}

// authenticator is ARM's on the mux: the management bearer token, ARM's
// 401 challenge, and ARM's 403 (AuthorizationFailed, recorded in the
// activity log like every refused write) for an action not held at the
// scope the path names (scopeOf).
func (h *Handler) authenticator() router.Authenticator {
	return router.Authenticator{
		Name: "ARM bearer token (management audience)",
		Authenticate: func(r *http.Request) (router.Caller, error) {
			p, err := h.auth.Authenticate(r.Context(), r)
			if err != nil {
				return router.Caller{}, err
			}
			return router.Caller{ObjectID: p.ObjectID, AppID: p.AppID, Principal: p}, nil
		},
		Unauthorized: h.unauthorized,
		Forbidden: func(w http.ResponseWriter, r *http.Request, d router.Denial) {
			p, _ := d.Caller.Principal.(authn.Principal)
			rt, _, _ := router.FromContext(r.Context())
			q := h.parse(w, r, p, rt)
			h.writeError(w, r, h.forbidden(p, d.Action, d.Scope, d.Err))
			h.record(q, router.Status(w))
		},
		Scope: func(r *http.Request, _ router.Params) (string, error) { return parseRequest(nil, r).scope, nil },
		Where: "the scope the path names (the resource ID without a trailing collection; the {scope} of a Microsoft.Authorization path)",
	}
}

// forbidden is ARM's 403 for a caller without action at scope.
func (h *Handler) forbidden(p authn.Principal, action, scope string, why error) error {
	return armerr.NotAuthorized(p.AppID, p.ObjectID, action, scope, why)
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
	w.Header().Set(challenge.Header, challenge.ARM(h.publicURL+"/"+h.tenantID, msg))
	h.writeError(w, r, newError(http.StatusUnauthorized, code, msg))
}

func methodNotAllowed(r *http.Request, allowed ...string) error {
	return newError(http.StatusMethodNotAllowed, armerr.CodeMethodNotAllowed, fmt.Sprintf(
		"The HTTP method '%s' is not supported at '%s'. Supported methods: %s.", r.Method, r.URL.Path, strings.Join(allowed, ", ")))
}

// decodeBody reads a JSON body (capped by the mux at MaxBodyBytes) into v.
// An empty body, malformed JSON, values of the wrong type or trailing data
// are 400 InvalidRequestContent; an oversized body is 413.
func decodeBody(r *http.Request, v any) error {
	body, err := httpbody.Read(r.Body, 0)
	if err != nil {
		return bodyError(err)
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.Contains(strings.ToLower(ct), "json") {
		return newError(http.StatusUnsupportedMediaType, armerr.CodeUnsupportedMediaType, fmt.Sprintf("The content media type '%s' is not supported. Only 'application/json' is supported.", ct))
	}
	if err := httpbody.Decode(body, v); err != nil {
		return bodyError(err)
	}
	if d, ok := v.(interface{ keepDeclared([]byte) }); ok {
		d.keepDeclared(body)
	}
	return nil
}

// bodyError is a refused body in ARM's words.
func bodyError(err error) error {
	e, _ := httpbody.As(err)
	switch {
	case e == nil:
		return err
	case e.Problem == httpbody.TooLarge:
		return newError(http.StatusRequestEntityTooLarge, armerr.CodeRequestTooLarge, fmt.Sprintf("The request content is larger than the maximum of %d bytes.", e.Limit))
	case e.Problem == httpbody.Unreadable:
		return newError(http.StatusBadRequest, armerr.CodeInvalidRequestContent, "The request content could not be read: "+e.Err.Error())
	case e.Problem == httpbody.Empty:
		return newError(http.StatusBadRequest, armerr.CodeInvalidRequestContent, "The request content was invalid and could not be deserialized: the body is empty; a JSON object is required.")
	}
	return newError(http.StatusBadRequest, armerr.CodeInvalidRequestContent, fmt.Sprintf("The request content was invalid and could not be deserialized: '%v'.", e.Err))
}

// errInvalidSkipToken answers a $skiptoken that is not base64, or that the
// store finds is no cursor it handed out.
var errInvalidSkipToken = newError(http.StatusBadRequest, armerr.CodeInvalidSkipToken, "The $skiptoken is invalid; use the nextLink of the previous page as it is.")

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
			return p, errInvalidSkipToken
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
func writeDelete(w http.ResponseWriter, found bool) {
	if found {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
