package arm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/storage"
)

// request is one management request with its path parsed once: the
// resource ID (for Microsoft.Authorization paths, the ID of the scope the
// role objects are addressed at), the RBAC action and the scope it applies
// to, and the authenticated caller. Authorization, the activity log and the
// handlers all read it instead of parsing the path again.
type request struct {
	w  http.ResponseWriter
	r  *http.Request
	id resourceid.ID
	// idErr is why the path is not a resource ID; it is answered after
	// authorization, as ARM does.
	idErr error
	// authzType and authzName are set on Microsoft.Authorization paths:
	// {scope}/providers/Microsoft.Authorization/{authzType}[/{authzName}].
	authzType, authzName string
	isAuthz              bool
	action, scope        string
	principal            authn.Principal
}

func (q *request) ctx() context.Context { return q.r.Context() }

// name is the name of the i-th type in the resource ID's chain.
func (q *request) name(i int) string { return q.id.Types[i].Name }

// subscriptionProvidersRE matches the paths of the subscription's
// provider and feature routes.
var subscriptionProvidersRE = regexp.MustCompile(`(?i)^/subscriptions/([^/]+)/providers(?:$|/)`)

// resourcesListRE matches the paths of the generic resource lists.
var resourcesListRE = regexp.MustCompile(`(?i)^/subscriptions/([^/]+)(?:/resourceGroups/([^/]+))?/resources$`)

// parseRequest parses r's path once into a request.
func parseRequest(w http.ResponseWriter, r *http.Request) *request {
	q := &request{w: w, r: r, scope: "/"}
	if scope, typ, name, ok := authorizationPath(r.URL.Path); ok {
		q.isAuthz, q.scope, q.authzType, q.authzName = true, scope, typ, name
		// The scope's ID serves the activity log; role handlers take the
		// scope as it is, so a scope that is not an ID ("/") is no error.
		q.id, _ = resourceid.Parse(scope)
		return q
	}
	q.id, q.idErr = resourceid.Parse(r.URL.Path)
	if m := subscriptionProvidersRE.FindStringSubmatch(r.URL.Path); q.idErr != nil && m != nil {
		// The provider and feature routes (providers.go) are
		// subscription-level operations, not resource IDs.
		q.id, q.idErr, q.scope = resourceid.ID{Subscription: m[1]}, nil, resourceid.SubscriptionID(m[1])
		return q
	}
	if m := resourcesListRE.FindStringSubmatch(r.URL.Path); q.idErr != nil && m != nil {
		// The generic resource lists (genericresources.go) end in a
		// collection of no provider.
		q.id, q.idErr = resourceid.ID{Subscription: m[1], ResourceGroup: m[2]}, nil
		q.scope = scopeOf(q.id)
		return q
	}
	if q.idErr != nil {
		q.idErr = newError(http.StatusBadRequest, armerr.CodeLinkedInvalidPropertyID, fmt.Sprintf("The path '%s' is not a valid Azure resource path: %v.", r.URL.Path, q.idErr))
		return q
	}
	q.scope = scopeOf(q.id)
	return q
}

// resourceType declares one ARM resource type, as data: its RBAC type,
// api-versions, where it is mounted and the service calls behind each
// method. One generic flow (serveInstance, serveCollection) serves every
// type: api-version check, ARM's envelopes, 201 on create and 200 on
// update, 200 or 204 on delete, lists with "value": [] and nextLink. A nil
// function is a method the type does not have.
type resourceType struct {
	// rbacType prefixes the actions of the type's routes: rbacType/read,
	// /write, /delete.
	rbacType string
	// apiType names the type in api-version errors; versions are the
	// api-versions it knows.
	apiType  string
	versions []string
	// pattern is the path of one resource; collections are the paths that
	// list them (subscription- and group-wide).
	pattern     string
	collections []string
	// listAccess, when set, replaces rbacType/read on collections.
	listAccess *router.Access
	// parent, when set, checks a parent that must exist (the group, the
	// account, the cluster) and names it when it does not. It runs before
	// any write; a GET reads the resource first and runs parent only when
	// that fails, so get must never succeed where parent would fail: the
	// store must keep no resource outside its parent (a group's delete
	// cascades to everything in it; storagetest pins each type).
	parent func(q *request) error

	list func(q *request) (items []any, next string, err error)
	get  func(q *request) (any, error)
	head func(q *request) error
	put  func(q *request) (v any, created bool, err error)
	// createdStatus, when set, replaces 201 as the answer to a PUT that
	// created the resource: storage accounts answer 200, as Azure does for
	// a create that completed at once, because their clients (az,
	// go-azure-sdk, armstorage) take only 200 or 202 there.
	createdStatus int
	// asyncPut, when set, is the namespace whose operation a PUT's answer
	// points at (Azure-AsyncOperation, already Succeeded, Retry-After: 0):
	// types Azure creates as long-running operations. go-azure-sdk
	// (Terraform's azurerm) otherwise waits 10 s before it reads the
	// resource's provisioningState; with the header it asks at once.
	asyncPut string
	// operationHeaders writes those headers (Handler.writeOperationHeaders).
	operationHeaders func(q *request, namespace, location string)
	patch            func(q *request) (any, error)
	del              func(q *request) (found bool, err error)
	// asyncDelete, when set, replaces del for a type Azure deletes as a
	// long-running operation: it deletes and answers itself, 202 with the
	// polling headers or 204 (h.longRunningDelete, operations.go).
	asyncDelete func(q *request) error
	// actions are POST operations on one resource: pattern+"/"+name.
	actions []resourceAction
	// enforce, set when the type is mounted, evaluates a PUT or PATCH
	// against the policy assignments covering the resource before the
	// type's function writes anything.
	enforce func(q *request) error
}

// resourceAction is a POST operation on a resource, with its own RBAC action.
type resourceAction struct {
	name, action string
	serve        func(q *request) error
}

// methods are the type's methods on one resource, as ARM lists them in 405s.
func (t *resourceType) methods() []string {
	var m []string
	for _, x := range []struct {
		name string
		has  bool
	}{{http.MethodGet, t.get != nil}, {http.MethodHead, t.head != nil}, {http.MethodPut, t.put != nil}, {http.MethodPatch, t.patch != nil}, {http.MethodDelete, t.del != nil || t.asyncDelete != nil}} {
		if x.has {
			m = append(m, x.name)
		}
	}
	return m
}

// serveCollection is the one list flow.
func (t *resourceType) serveCollection(q *request) error {
	if q.r.Method != http.MethodGet {
		return methodNotAllowed(q.r, http.MethodGet)
	}
	if err := checkAPIVersion(q.r, t.versions, t.apiType); err != nil {
		return err
	}
	if t.parent != nil {
		if err := t.parent(q); err != nil {
			return err
		}
	}
	items, next, err := t.list(q)
	if err != nil {
		return err
	}
	writeList(q.w, q.r, items, next)
	return nil
}

// serveInstance is the one GET/HEAD/PUT/PATCH/DELETE flow.
func (t *resourceType) serveInstance(q *request) error {
	if err := checkAPIVersion(q.r, t.versions, t.apiType); err != nil {
		return err
	}
	if q.r.Method == http.MethodGet && t.get != nil {
		return t.serveGet(q)
	}
	if t.parent != nil {
		if err := t.parent(q); err != nil {
			return err
		}
	}
	if (q.r.Method == http.MethodPut && t.put != nil) || (q.r.Method == http.MethodPatch && t.patch != nil) {
		if t.enforce != nil {
			if err := t.enforce(q); err != nil {
				return err
			}
		}
	}
	w := q.w
	switch {
	case q.r.Method == http.MethodHead && t.head != nil:
		return t.head(q)
	case q.r.Method == http.MethodPut && t.put != nil:
		v, created, err := t.put(q)
		if err != nil {
			return err
		}
		if t.asyncPut != "" && t.operationHeaders != nil {
			t.operationHeaders(q, t.asyncPut, locationOf(v))
		}
		if created && t.createdStatus != 0 {
			writeJSON(w, t.createdStatus, v)
			return nil
		}
		writePut(w, created, v)
	case q.r.Method == http.MethodPatch && t.patch != nil:
		v, err := t.patch(q)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, v)
	case q.r.Method == http.MethodDelete && t.asyncDelete != nil:
		return t.asyncDelete(q)
	case q.r.Method == http.MethodDelete && t.del != nil:
		found, err := t.del(q)
		if err != nil {
			return err
		}
		writeDelete(w, found)
	default:
		return methodNotAllowed(q.r, t.methods()...)
	}
	return nil
}

// serveGet reads one resource. The resource first: a hit needs no other
// read, since the store keeps no resource outside its parent. Only a
// failed read checks the parent, whose error, if any, is the answer, as it
// was when the parent was read first: ResourceGroupNotFound or
// SubscriptionNotFound rather than the type's own not-found. One query on
// a hit instead of three (subscription, group, resource), which on
// PostgreSQL is one pool connection and round trip instead of three.
func (t *resourceType) serveGet(q *request) error {
	v, err := t.get(q)
	if err != nil {
		if t.parent != nil {
			if perr := t.parent(q); perr != nil {
				return perr
			}
		}
		return err
	}
	writeJSON(q.w, http.StatusOK, v)
	return nil
}

// mount puts the type's routes on mux: GET on each collection, each method
// it has on one resource, and its POST actions.
func (t *resourceType) mount(h *Handler, mux *router.Mux) {
	add := func(method, pattern string, a router.Access, fn func(*request) error) {
		mux.Handle(router.Route{Method: method, Pattern: pattern, Access: a, Handler: h.endpoint(fn), Protocol: armProtocol, MaxBody: MaxBodyBytes})
	}
	t.enforce = func(q *request) error { return h.enforceOnWrite(q, t) }
	verbs := map[string]string{http.MethodGet: "read", http.MethodPut: "write", http.MethodPatch: "write", http.MethodDelete: "delete"}
	for _, c := range t.collections {
		a := router.Action(t.rbacType + "/read")
		if t.listAccess != nil {
			a = *t.listAccess
		}
		add(http.MethodGet, c, a, t.serveCollection)
	}
	if t.pattern == "" {
		return
	}
	for _, m := range t.methods() {
		if m != http.MethodHead {
			add(m, t.pattern, router.Action(t.rbacType+"/"+verbs[m]), t.serveInstance)
		}
	}
	for _, op := range t.actions {
		add(http.MethodPost, t.pattern+"/"+op.name, router.Action(op.action), func(q *request) error {
			if err := checkAPIVersion(q.r, t.versions, t.apiType); err != nil {
				return err
			}
			return op.serve(q)
		})
	}
}

// listOf, viewOf and putOf adapt a service's results to the generic flow:
// listOf(view)(svc.List(...)) maps each item to its wire shape.
func listOf[T, J any](view func(T) J) func([]T, string, error) ([]any, string, error) {
	return func(items []T, next string, err error) ([]any, string, error) {
		if err != nil {
			return nil, "", err
		}
		out := make([]any, 0, len(items))
		for _, it := range items {
			out = append(out, view(it))
		}
		return out, next, nil
	}
}

func viewOf[T, J any](view func(T) J) func(T, error) (any, error) {
	return func(v T, err error) (any, error) {
		if err != nil {
			return nil, err
		}
		return view(v), nil
	}
}

func putOf[T, J any](view func(T) J) func(T, bool, error) (any, bool, error) {
	return func(v T, created bool, err error) (any, bool, error) {
		if err != nil {
			return nil, false, err
		}
		return view(v), created, nil
	}
}

// page reads $top and $skiptoken of a paged list.
func (q *request) page() (storage.Page, error) { return pageFromQuery(q.r) }

// group is the resource group segment of the request's ID ("" when the
// request is subscription-wide).
func (q *request) group() string { return q.id.ResourceGroup }

// scopeOf is the scope an action applies to: the resource ID without a
// trailing collection segment.
func scopeOf(id resourceid.ID) string {
	if id.Subscription == "" {
		return "/"
	}
	switch {
	case id.Provider != "" && len(id.Types) > 0:
		var b strings.Builder
		b.WriteString("/subscriptions/" + id.Subscription)
		if id.ResourceGroup != "" {
			b.WriteString("/resourceGroups/" + id.ResourceGroup)
		}
		b.WriteString("/providers/" + id.Provider)
		for _, t := range id.Types {
			b.WriteString("/" + t.Type + "/" + t.Name)
		}
		return b.String()
	case id.ResourceGroup != "":
		return resourceid.ResourceGroupID(id.Subscription, id.ResourceGroup)
	}
	return resourceid.SubscriptionID(id.Subscription)
}

// locationOf is the location of a resource's answer ("global" when it has
// none), for the operation URL of a long-running PUT.
func locationOf(v any) string {
	var x struct {
		Location string `json:"location"`
	}
	if b, err := json.Marshal(v); err == nil && json.Unmarshal(b, &x) == nil && x.Location != "" {
		return x.Location
	}
	return "global"
}

// groupCRUD is a service whose resources live in a resource group and are
// named by one segment (registries, storage accounts): its five calls, the
// body that turns into its spec, and the resource's wire shape.
type groupCRUD[S, T, J any] struct {
	list   func(ctx context.Context, sub, group string) ([]T, error)
	get    func(ctx context.Context, sub, group, name string) (T, error)
	put    func(ctx context.Context, sub, group, name string, s S) (T, bool, error)
	patch  func(ctx context.Context, sub, group, name string, s S) (T, error)
	delete func(ctx context.Context, sub, group, name string) (bool, error)
	// spec decodes the request's body; merge is true for a PATCH.
	spec func(r *http.Request, merge bool) (S, error)
	view func(T) J
}

// verbs fills t's list, get, put, patch and del from c.
func (c groupCRUD[S, T, J]) verbs(t *resourceType) *resourceType {
	t.list = func(q *request) ([]any, string, error) {
		items, err := c.list(q.ctx(), q.id.Subscription, q.group())
		return listOf(c.view)(items, "", err)
	}
	t.get = func(q *request) (any, error) {
		return viewOf(c.view)(c.get(q.ctx(), q.id.Subscription, q.group(), q.name(0)))
	}
	t.put = func(q *request) (any, bool, error) {
		spec, err := c.spec(q.r, false)
		if err != nil {
			return nil, false, err
		}
		return putOf(c.view)(c.put(q.ctx(), q.id.Subscription, q.group(), q.name(0), spec))
	}
	t.patch = func(q *request) (any, error) {
		spec, err := c.spec(q.r, true)
		if err != nil {
			return nil, err
		}
		return viewOf(c.view)(c.patch(q.ctx(), q.id.Subscription, q.group(), q.name(0), spec))
	}
	t.del = func(q *request) (bool, error) {
		return c.delete(q.ctx(), q.id.Subscription, q.group(), q.name(0))
	}
	return t
}

// specFrom decodes a request body of type B and builds its spec.
func specFrom[B interface{ spec(merge bool) (S, error) }, S any](r *http.Request, merge bool) (S, error) {
	var b B
	if err := decodeBody(r, &b); err != nil {
		var zero S
		return zero, err
	}
	return b.spec(merge)
}
