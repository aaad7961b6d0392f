package router

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// The router authorizes every route from the rule it declared, so that no
// handler runs unless its rule passed. A protocol (ARM, Graph, Key Vault,
// the console, the agent API, ...) registers one Authenticator on the Mux
// under its Protocol's Name: how it finds the caller and how it writes a
// refusal in its own envelope. The Mux holds one Authorizer, the RBAC
// index every plane shares. Before a route's handler runs:
//
//   - Public: nothing is checked (the rule says why that is safe);
//   - Handler: the protocol's authenticator must find a caller; the handler
//     then decides per object, as the rule says;
//   - Action: the caller must also hold the action (a data action when
//     Access.Data) at the route's scope: Access.Scope, else the
//     authenticator's Scope, else "/".
//
// The caller is in the request's context for the handler (CallerFrom).

// Caller is who a protocol's authenticator found.
type Caller struct {
	// ObjectID is the RBAC principal the authorizer decides for; "" for a
	// caller RBAC does not know (an attested agent), which holds no action.
	ObjectID string
	AppID    string
	// Principal is the authenticator's own record of the caller (an
	// authn.Principal, a console session, an attested machine).
	Principal any
}

// ScopeFunc resolves where a route's action is checked from the request
// and its params. An error (the object does not exist) goes to the
// authenticator's Forbidden as Denial.Err, which answers it in the
// protocol's terms (a 404).
type ScopeFunc func(r *http.Request, p Params) (string, error)

// Authenticator is how one protocol finds its callers and answers refusals.
type Authenticator struct {
	// Name says in the route table how callers are authenticated ("bearer
	// token for ARM").
	Name string
	// Authenticate finds the caller of r, or fails.
	Authenticate func(r *http.Request) (Caller, error)
	// Unauthorized answers a failed authentication (a 401 with the
	// protocol's challenge).
	Unauthorized func(w http.ResponseWriter, r *http.Request, err error)
	// Forbidden answers a refused action, or a scope that did not resolve.
	Forbidden func(w http.ResponseWriter, r *http.Request, d Denial)
	// Scope, when set, is where the protocol's Action routes without a
	// scope of their own are checked (ARM: the resource the path names);
	// Where says it in words. Nil is "/".
	Scope ScopeFunc
	Where string
}

// Denial is a refused request, for the protocol's 403.
type Denial struct {
	Caller Caller
	Action string
	Scope  string
	Data   bool
	// Err is ErrNotGranted when the authorizer refused, or the error of the
	// scope's resolution.
	Err error
}

// ErrNotGranted is the authorizer's refusal: no role assignment of the
// caller grants the action at the scope.
var ErrNotGranted = errors.New("no role assignment grants it")

// Authorizer decides whether a principal may perform an action (a data
// action) at a scope; authz.Service answers for every plane.
type Authorizer interface {
	Allowed(principalID, action, scope string) bool
	AllowedData(principalID, dataAction, scope string) bool
}

// CallerFrom returns the caller the route's authenticator found.
func CallerFrom(ctx context.Context) (Caller, bool) {
	q := stateOf(ctx)
	if q == nil || !q.hasCaller {
		return Caller{}, false
	}
	return q.caller, true
}

// WithCaller returns ctx carrying c as the authenticated caller (for tests
// of a handler outside the mux).
func WithCaller(ctx context.Context, c Caller) context.Context {
	q := derive(ctx)
	q.caller, q.hasCaller = c, true
	return q
}

// Authenticate registers how callers of routes of the named protocol are
// authenticated. A protocol registers once; routes may be mounted before
// or after.
func (m *Mux) Authenticate(protocol string, a Authenticator) {
	if a.Authenticate == nil || a.Unauthorized == nil || a.Forbidden == nil || a.Name == "" {
		panic(fmt.Sprintf("router: the authenticator of %q needs a name, Authenticate, Unauthorized and Forbidden", protocol))
	}
	if (a.Scope == nil) != (a.Where == "") {
		panic(fmt.Sprintf("router: the authenticator of %q sets one of Scope and Where without the other", protocol))
	}
	if m.auths == nil {
		m.auths = map[string]*Authenticator{}
	}
	if _, dup := m.auths[protocol]; dup {
		panic(fmt.Sprintf("router: protocol %q registers a second authenticator", protocol))
	}
	m.auths[protocol] = &a
}

// authenticator is the authenticator of rt's protocol, or nil.
func (m *Mux) authenticator(rt Route) *Authenticator {
	if rt.Protocol == nil {
		return nil
	}
	return m.auths[rt.Protocol.Name]
}

// Guard says how the router enforces rt: the name of the authenticator it
// runs before the handler, "" for a public route or for a route whose
// protocol registered none (mounted the old way: its handler checks
// itself, as before).
func (m *Mux) Guard(rt Route) string {
	if a := m.authenticator(rt); a != nil && rt.Access.Kind != KindPublic {
		return a.Name
	}
	return ""
}

// Describe is rt's rule as the router checks it, for the route table: the
// access, with the scope the protocol supplies when the route names none.
func (m *Mux) Describe(rt Route) string {
	a := rt.Access
	if auth := m.authenticator(rt); a.Kind == KindAction && a.Scope == nil && auth != nil {
		a.Where = "'/'"
		if auth.Where != "" {
			a.Where = auth.Where
		}
	}
	return a.String()
}

// guard wraps rt's handler so it runs only once rt's rule passed.
func (m *Mux) guard(rt Route, next http.Handler) http.Handler {
	if rt.Access.Kind == KindPublic {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := m.authenticator(rt)
		if a == nil {
			// Mounted the old way, before its protocol had an
			// authenticator: the handler authenticates and authorizes
			// itself, as it always did.
			next.ServeHTTP(w, r)
			return
		}
		c, err := a.Authenticate(r)
		if err != nil {
			a.Unauthorized(w, r, err)
			return
		}
		if q := stateOf(r.Context()); q != nil && q.rec.req == q {
			// The mux's own state of the request: the handler finds the
			// caller there, without another context and request copy.
			q.caller, q.hasCaller = c, true
		} else {
			r = r.WithContext(WithCaller(r.Context(), c))
		}
		if rt.Access.Kind == KindAction {
			d, ok := m.authorize(a, &rt, c, r)
			if !ok {
				a.Forbidden(w, r, d)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// authorize checks rt's action for c at the route's scope.
func (m *Mux) authorize(a *Authenticator, rt *Route, c Caller, r *http.Request) (Denial, bool) {
	d := Denial{Caller: c, Action: rt.Access.Action, Scope: "/", Data: rt.Access.Data, Err: ErrNotGranted}
	scope := rt.Access.Scope
	if scope == nil {
		scope = a.Scope
	}
	if scope != nil {
		_, p, _ := FromContext(r.Context())
		s, err := scope(r, p)
		if err != nil {
			d.Err = err
			return d, false
		}
		d.Scope = s
	}
	if m.Authorizer == nil || c.ObjectID == "" {
		return d, false // no one to ask, or a caller RBAC does not know: fail closed
	}
	if rt.Access.Data {
		return d, m.Authorizer.AllowedData(c.ObjectID, d.Action, d.Scope)
	}
	return d, m.Authorizer.Allowed(c.ObjectID, d.Action, d.Scope)
}
