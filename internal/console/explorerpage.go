package console

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ward-id/ward/internal/storage"
)

// The explorer pages as the graph does (graphpage.go), with the same
// sealed cursor: a page holds at most $top identities the caller may read,
// each with its federated credentials, and the role assignments of every
// identity the page read (each kept only when the caller may read it at
// its scope). The first page also holds what is few: subscriptions,
// resource groups, clusters, vaults, role definitions, service principals
// and the service principals' assignments. The page follows nextLink to
// the end, showing each page as it comes.
const (
	defaultExplorerPage = 200
	maxExplorerPage     = 1000
)

// explorerBinding ties an explorer token to the caller and the page size;
// it cannot be taken for a graph's, whose binding begins with an object ID.
func explorerBinding(who Who, top int) string {
	return strings.Join([]string{"explorer", who.ObjectID, strconv.Itoa(top)}, "\x00")
}

// explorer serves GET /console/api/explorer?$top=&$skiptoken=.
func (h *Handler) explorer(w http.ResponseWriter, r *http.Request) {
	c, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	top, ok := topParam(w, q, defaultExplorerPage, maxExplorerPage)
	if !ok {
		return
	}
	binding := explorerBinding(c.Who, top)
	cur, ok := h.skipToken(w, q, binding, "$top", "explorer")
	if !ok {
		return
	}
	e, next, err := h.explorerPage(r.Context(), c.Who, top, cur)
	if err != nil {
		h.fail(w, err)
		return
	}
	if next != nil {
		e.NextLink = "/console/api/explorer?" + url.Values{"$top": {strconv.Itoa(top)}, "$skiptoken": {h.tokens.seal(*next, binding)}}.Encode()
	}
	writeJSON(w, http.StatusOK, e)
}

// explorerPage reads one page of what who may read through the services
// the management and directory APIs read through, each object kept only
// when who holds its read action at its own scope, and returns where the
// next page starts (nil: this is the last).
func (h *Handler) explorerPage(ctx context.Context, who Who, top int, cur *graphCursor) (*Explorer, *graphCursor, error) {
	allowed := func(action, scope string) bool { return h.cfg.Access.Allowed(who.ObjectID, action, scope) }
	v := h.newView()
	subs, err := h.subscriptionsInOrder(ctx)
	if err != nil {
		return nil, nil, err
	}
	first := cur == nil
	for _, s := range subs {
		if first {
			err = h.loadSubscription(ctx, v, s, allowed)
		} else {
			// Clusters only link identities to them (a kubelet's); the
			// page lists them on the first page alone.
			err = h.loadResources(ctx, v, s, allowed)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	if err := h.loadRoles(ctx, v); err != nil {
		return nil, nil, err
	}
	if first {
		if allowed(actionRoleRead, "/") {
			v.canRoles = true
		}
		if err := h.loadPrincipalsAndAssignments(ctx, v, who, allowed); err != nil {
			return nil, nil, err
		}
	}
	shown := 0
	consider := func(id storage.Identity) (bool, error) {
		n := len(v.identities)
		if err := h.loadIdentity(ctx, v, id, allowed); err != nil {
			return false, err
		}
		// An identity's assignments are listed when the caller may read
		// them at their scope, whether or not it may read the identity
		// (then unnamed, as TestViewsNameOnlyReadablePrincipals asks).
		if _, err := h.loadAssignments(ctx, v, id.PrincipalID, allowed); err != nil {
			return false, err
		}
		shown += len(v.identities) - n
		return shown >= top, nil
	}
	next, err := h.scanIdentities(ctx, subs, cur, top, consider)
	if err != nil {
		return nil, nil, err
	}
	e := buildExplorer(v)
	if !first {
		e.Clusters, e.Vaults = []objJSON{}, []objJSON{}
	}
	return e, next, nil
}

// loadPrincipalsAndAssignments adds the service principals who may read
// (as the directory API's policy decides) to v, and the role assignments
// of every service principal that who may read at their scope, in one pass
// over the directory's pages.
func (h *Handler) loadPrincipalsAndAssignments(ctx context.Context, v *view, who Who, allowed func(action, scope string) bool) error {
	return h.eachPrincipal(ctx, v, who, func(sp storage.ServicePrincipal) error {
		_, err := h.loadAssignments(ctx, v, sp.ObjectID, allowed)
		return err
	})
}
