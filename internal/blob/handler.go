package blob

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/challenge"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/storage"
)

// Access answers the RBAC questions of the data plane: container
// operations are authorized by actions, blob operations by dataActions,
// from the one index ARM and the vault use.
type Access interface {
	Allowed(principalID, action, scope string) bool
	AllowedData(principalID, dataAction, scope string) bool
}

// HandlerConfig configures a Handler.
type HandlerConfig struct {
	Svc *Service
	// Auth verifies bearer tokens; its Audiences are extended per request
	// with the account's own URL.
	Auth      *authn.JWT
	Access    Access
	Authority string // <public URL>/<tenant>, for the 401 challenge
	Logger    *slog.Logger
}

// Handler serves the Blob REST API for every account host.
type Handler struct{ cfg HandlerConfig }

// NewHandler returns the handler; a nil Logger is slog.Default().
func NewHandler(cfg HandlerConfig) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Handler{cfg: cfg}
}

// HostClass is the router's name for blob host names.
const HostClass = "blob"

// protocol is the Blob service on the wire for the mux: a recovered panic
// is the service's 500.
var protocol = &router.Protocol{Name: "blob", Internal: func(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, &Error{Status: http.StatusInternalServerError, Code: CodeInternalError, Message: "Server encountered an internal error. Please try again after some time."}, "")
}}

// Mount puts the Blob data plane on mux for account hosts. Every route
// needs a bearer token for storage (else the 401 challenge); the handler
// checks the operation's action or data action at the account or the
// container, as the rule of each route says.
func (h *Handler) Mount(mux *router.Mux) {
	mux.HostClass(HostClass, func(host string) bool { _, ok := h.cfg.Svc.Hosts.AccountFromHost(host); return ok })
	mux.Authenticate(protocol.Name, h.authenticator())
	add := func(method, pattern, rule string) {
		mux.Handle(router.Route{Host: HostClass, Method: method, Pattern: pattern, Handler: h, Protocol: protocol,
			MaxBody: h.cfg.Svc.MaxPutBytes(), StreamsBody: method == http.MethodPut, Access: router.Handler(rule)})
	}
	add(http.MethodGet, "/", "List Containers (comp=list): action "+ActionContainerRead+" at the account")
	add(http.MethodGet, "/{container}", "container properties and metadata: action "+ActionContainerRead+"; List Blobs (comp=list): data action "+ActionBlobRead+"; at the container")
	add(http.MethodPut, "/{container}", "Create Container and Set Container Metadata: action "+ActionContainerWrite+" at the container")
	add(http.MethodDelete, "/{container}", "Delete Container: action "+ActionContainerDel+" at the container")
	add(http.MethodGet, "/{container}/{blob...}", "Get Blob, its properties, metadata and block list: data action "+ActionBlobRead+" at the container")
	add(http.MethodPut, "/{container}/{blob...}", "Put Blob, Put Block, Put Block List: data action "+ActionBlobWrite+" (or "+ActionBlobAdd+" for a blob that does not exist); Set Blob Properties and Metadata: "+ActionBlobWrite+"; at the container")
	add(http.MethodDelete, "/{container}/{blob...}", "Delete Blob: data action "+ActionBlobDelete+" at the container")
	mux.NotFound(HostClass, "/", func(w http.ResponseWriter, r *http.Request, status int, _ []string) {
		h.headers(w, r)
		writeError(w, r, errorf(http.StatusBadRequest, CodeUnsupportedHTTPVerb, "The resource doesn't support the specified HTTP verb %s.", r.Method), "")
	})
}

// errKeyAuth is a shared key or SAS: refused as on an account with
// allowSharedKeyAccess false.
var errKeyAuth = errors.New("key based authentication is not permitted on this storage account")

// authenticator is how the router finds the caller of every blob route,
// before any body is read (as the SDKs' challenge flow expects): a bearer
// token for storage (https://storage.azure.com or the account's own URL);
// shared keys and SAS are refused with 403, anything else gets the 401
// challenge. The handler then checks each operation's action or data
// action at the account or container, as each route's rule says.
func (h *Handler) authenticator() router.Authenticator {
	return router.Authenticator{
		Name: "bearer token for Azure Storage (audience https://storage.azure.com or the account URL); shared keys and SAS refused",
		Authenticate: func(r *http.Request) (router.Caller, error) {
			if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "SharedKey") || r.URL.Query().Get("sig") != "" {
				return router.Caller{}, errKeyAuth
			}
			name, _ := h.cfg.Svc.Hosts.AccountFromHost(r.Host)
			auth := *h.cfg.Auth
			acctURL := "https://" + name + "." + h.cfg.Svc.Hosts.Suffix
			auth.Audiences = append(append([]string{}, h.cfg.Auth.Audiences...), acctURL, acctURL+"/")
			p, err := auth.Authenticate(r.Context(), r)
			if err != nil {
				return router.Caller{}, err
			}
			return router.Caller{ObjectID: p.ObjectID, AppID: p.AppID, Principal: p}, nil
		},
		Unauthorized: func(w http.ResponseWriter, r *http.Request, err error) {
			h.headers(w, r)
			if errors.Is(err, errKeyAuth) {
				writeError(w, r, &Error{Status: http.StatusForbidden, Code: CodeKeyAuthNotPermitted, Message: "Key based authentication is not permitted on this storage account."}, "")
				return
			}
			code, msg := CodeNoAuthentication, "Server failed to authenticate the request. Please refer to the information in the www-authenticate header."
			detail := ""
			if !errors.Is(err, authn.ErrNoCredentials) {
				code, detail = CodeInvalidAuthentication, err.Error()
			}
			w.Header().Set(challenge.Header, challenge.Storage(h.cfg.Authority, Audience))
			writeError(w, r, &Error{Status: http.StatusUnauthorized, Code: code, Message: msg}, detail)
		},
		Forbidden: func(w http.ResponseWriter, r *http.Request, _ router.Denial) {
			h.headers(w, r)
			writeError(w, r, errDenied, "")
		},
	}
}

// headers sets the headers every answer carries.
func (h *Handler) headers(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set(hRequestID, uuid.NewString())
	v := r.Header.Get(hVersion)
	if v == "" {
		v = DefaultVersion
	}
	hd.Set(hVersion, v)
	if id := r.Header.Get(hClientRequestID); id != "" && len(id) <= 1024 {
		hd.Set(hClientRequestID, id)
	}
	hd.Set("Date", time.Now().UTC().Format(http.TimeFormat))
}

// call is one authenticated request to an account.
type call struct {
	h         *Handler
	w         http.ResponseWriter
	r         *http.Request
	p         authn.Principal
	account   storage.StorageAccount
	container string
	blob      string
	q         url.Values
}

func (c *call) ctx() context.Context { return c.r.Context() }

// allowed checks an action (containers) or a data action (blobs) at the
// container's scope, or the account's when the request names no container.
func (c *call) allowed(action string, data bool) bool {
	scope := ResourceID(c.account)
	if c.container != "" {
		scope = ContainerID(c.account, c.container)
	}
	if data {
		return c.h.cfg.Access.AllowedData(c.p.ObjectID, action, scope)
	}
	return c.h.cfg.Access.Allowed(c.p.ObjectID, action, scope)
}

func (c *call) need(action string, data bool) error {
	if !c.allowed(action, data) {
		return errDenied
	}
	return nil
}

// ServeHTTP authenticates (before reading any body, as the challenge flow
// expects), finds the account and runs the operation the path, method and
// query name.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.headers(w, r)
	name, _ := h.cfg.Svc.Hosts.AccountFromHost(r.Host)
	q := r.URL.Query()
	caller, _ := router.CallerFrom(r.Context())
	p, ok := caller.Principal.(authn.Principal)
	if !ok {
		// The router authenticates every route of this protocol
		// (authenticator); a request here without its caller is a wiring bug.
		h.fail(w, r, errors.New("blob: no authenticated caller in the request"))
		return
	}
	acct, err := h.cfg.Svc.store.GetStorageAccount(r.Context(), name)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			writeError(w, r, &Error{Status: http.StatusNotFound, Code: CodeResourceNotFound, Message: "The specified resource does not exist: no storage account " + name + " on this Ward server."}, "")
			return
		}
		h.fail(w, r, err)
		return
	}
	c := &call{h: h, w: w, r: r, p: p, account: acct, q: q}
	path := strings.TrimPrefix(r.URL.Path, "/")
	c.container, c.blob, _ = strings.Cut(path, "/")
	if err := c.serve(); err != nil {
		h.fail(w, r, err)
	}
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if e, ok := asError(err); ok {
		writeError(w, r, e, "")
		return
	}
	h.cfg.Logger.Log(r.Context(), router.FailureLevel(r), "blob request failed", "err", err)
	writeError(w, r, &Error{Status: http.StatusInternalServerError, Code: CodeInternalError, Message: "Server encountered an internal error. Please try again after some time."}, "")
}

// serve dispatches on the operation.
func (c *call) serve() error {
	m, comp, restype := c.r.Method, c.q.Get("comp"), c.q.Get("restype")
	if m == http.MethodHead {
		m = http.MethodGet
	}
	switch {
	case c.container == "":
		if m == http.MethodGet && comp == "list" {
			return c.listContainers()
		}
		return errorf(http.StatusBadRequest, CodeUnsupportedQuery, "Ward's accounts serve List Containers (comp=list) at the service level; restype=%s comp=%s is not served.", restype, comp)
	case c.blob == "":
		if restype != "container" {
			return errorf(http.StatusBadRequest, CodeInvalidQueryParameter, "Container operations need restype=container (Ward has no $root container).")
		}
		switch {
		case m == http.MethodPut && comp == "":
			return c.createContainer()
		case m == http.MethodPut && comp == "metadata":
			return c.setContainerMetadata()
		case m == http.MethodGet && (comp == "" || comp == "metadata"):
			return c.containerProperties()
		case m == http.MethodGet && comp == "list":
			return c.listBlobs()
		case m == http.MethodDelete && comp == "":
			return c.deleteContainer()
		}
	default:
		switch {
		case m == http.MethodPut && comp == "":
			return c.putBlob()
		case m == http.MethodPut && comp == "block":
			return c.putBlock()
		case m == http.MethodPut && comp == "blocklist":
			return c.putBlockList()
		case m == http.MethodPut && (comp == "properties" || comp == "metadata"):
			return c.setBlob(comp)
		case m == http.MethodGet && comp == "blocklist":
			return c.getBlockList()
		case m == http.MethodGet && (comp == "" || comp == "metadata"):
			return c.getBlob(comp == "metadata")
		case m == http.MethodDelete && comp == "":
			return c.deleteBlob()
		}
	}
	return errorf(http.StatusBadRequest, CodeUnsupportedQuery, "Ward does not serve %s with comp=%s restype=%s.", c.r.Method, comp, restype)
}

var metaNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,255}$`)

// maxMetadata caps the bytes of a blob's or container's metadata, as Azure.
const maxMetadata = 8 << 10

// metadata reads x-ms-meta-* headers; names are stored lower case (HTTP/2
// sends header names in lower case, so case cannot be kept).
func (c *call) metadata() (map[string]string, error) {
	md := map[string]string{}
	total := 0
	for k, vs := range c.r.Header {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, hMetaPrefix) {
			continue
		}
		n := strings.TrimPrefix(lk, hMetaPrefix)
		if !metaNameRE.MatchString(n) {
			return nil, errorf(http.StatusBadRequest, CodeInvalidMetadata, "The metadata name %q is not a valid C# identifier.", n)
		}
		v := strings.Join(vs, ",")
		total += len(n) + len(v)
		md[n] = v
	}
	if total > maxMetadata {
		return nil, errorf(http.StatusBadRequest, CodeInvalidMetadata, "The metadata exceeds %d bytes.", maxMetadata)
	}
	return md, nil
}

func writeMetadata(h http.Header, md map[string]string) {
	for k, v := range md {
		h.Set(hMetaPrefix+k, v)
	}
}

func httpTime(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

func (c *call) createContainer() error {
	if err := c.need(ActionContainerWrite, false); err != nil {
		return err
	}
	if c.r.Header.Get("x-ms-blob-public-access") != "" {
		return errorf(http.StatusConflict, "PublicAccessNotPermitted", "Public access is not permitted on this storage account.")
	}
	md, err := c.metadata()
	if err != nil {
		return err
	}
	ct, err := c.h.cfg.Svc.CreateContainer(c.ctx(), c.account.Name, c.container, md)
	if err != nil {
		return err
	}
	c.w.Header().Set("ETag", ct.ETag)
	c.w.Header().Set("Last-Modified", httpTime(ct.UpdatedAt))
	c.w.WriteHeader(http.StatusCreated)
	return nil
}

func (c *call) setContainerMetadata() error {
	if err := c.need(ActionContainerWrite, false); err != nil {
		return err
	}
	md, err := c.metadata()
	if err != nil {
		return err
	}
	ct, err := c.h.cfg.Svc.SetContainerMetadata(c.ctx(), c.account.Name, c.container, md)
	if err != nil {
		return err
	}
	c.w.Header().Set("ETag", ct.ETag)
	c.w.Header().Set("Last-Modified", httpTime(ct.UpdatedAt))
	c.w.WriteHeader(http.StatusOK)
	return nil
}

func (c *call) containerProperties() error {
	if err := c.need(ActionContainerRead, false); err != nil {
		return err
	}
	ct, err := c.h.cfg.Svc.Container(c.ctx(), c.account.Name, c.container)
	if err != nil {
		return err
	}
	hd := c.w.Header()
	hd.Set("ETag", ct.ETag)
	hd.Set("Last-Modified", httpTime(ct.UpdatedAt))
	writeMetadata(hd, ct.Metadata)
	hd.Set("x-ms-lease-status", "unlocked")
	hd.Set("x-ms-lease-state", "available")
	hd.Set("x-ms-has-immutability-policy", "false")
	hd.Set("x-ms-has-legal-hold", "false")
	hd.Set("x-ms-default-encryption-scope", "$account-encryption-key")
	hd.Set("x-ms-deny-encryption-scope-override", "false")
	c.w.WriteHeader(http.StatusOK)
	return nil
}

func (c *call) deleteContainer() error {
	if err := c.need(ActionContainerDel, false); err != nil {
		return err
	}
	if err := c.h.cfg.Svc.DeleteContainer(c.ctx(), c.account.Name, c.container); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusAccepted)
	return nil
}

// body is the request body whose read deadline moves forward as bytes
// arrive, so a large upload is bounded by its progress, not its total time.
type body struct {
	r  io.Reader
	rc *http.ResponseController
}

const idleBody = 20 * time.Second

func (b *body) Read(p []byte) (int, error) {
	_ = b.rc.SetReadDeadline(time.Now().Add(idleBody))
	return b.r.Read(p)
}

func (c *call) body() io.Reader { return &body{r: c.r.Body, rc: http.NewResponseController(c.w)} }

// readErr maps a body that stopped arriving to the service's error.
func readErr(err error) error {
	if _, ok := asError(err); ok {
		return err
	}
	return errorf(http.StatusBadRequest, CodeIncompleteBody, "The request body is incomplete: it was not sent in time or the connection broke.")
}
