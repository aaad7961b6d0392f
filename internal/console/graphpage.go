package console

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

// The graph pages as ARM's lists do: a page holds at most $top identities
// (bounded here, whatever the client asks) with their chains, and a
// nextLink whose $skiptoken continues after the last identity the page
// read. A page reads only what it draws: one page of identities through
// the identity service, each one's federated credentials, and its role
// assignments by point reads of the IDs the RBAC index holds for it;
// beside them the clusters, vaults and role names every chain may end at.
const (
	// defaultGraphPage and maxGraphPage bound a page's identities.
	defaultGraphPage = 100
	maxGraphPage     = 500
	// graphScanBudget bounds the identities one page reads looking for
	// those a selective start (a cluster, a subject, a vault) selects; a
	// page that reaches it ends early, with a nextLink.
	graphScanBudget = 2000
)

// Graph limits: identities shown in all, by default and at most (the
// client follows nextLink until it has shown limit).
const (
	defaultGraphLimit = 200
	maxGraphLimit     = 5000
)

// graphCursor is where the next page of a graph starts. It is sealed
// (graphTokens) because the last identity a page read may be one the
// caller cannot read, whose ID it must not learn.
type graphCursor struct {
	Sub   string `json:"s"` // subscription ID the scan is in
	After string `json:"a"` // lower-case ID of the last identity read in it
	Shown int    `json:"n"` // identities drawn on earlier pages
}

// graphTokens seals and opens graph cursors with AES-GCM, bound to the
// caller and the query: a token is good only for the caller it was given
// to and the start, q, limit and $top it continues. The key lives as long
// as the process, as console sessions do; a token from another replica or
// before a restart is refused, and the page starts the graph again.
type graphTokens struct{ aead cipher.AEAD }

func newGraphTokens() graphTokens {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(fmt.Sprintf("console: no randomness for the graph's page tokens: %v", err))
	}
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	return graphTokens{aead: aead}
}

func (t graphTokens) seal(c graphCursor, binding string) string {
	plain, _ := json.Marshal(c)
	nonce := make([]byte, t.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(t.aead.Seal(nonce, nonce, plain, []byte(binding)))
}

// errBadToken is a $skiptoken that this process did not hand to this
// caller for this query.
var errBadToken = errors.New("bad skip token")

func (t graphTokens) open(tok, binding string) (graphCursor, error) {
	var c graphCursor
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	ns := t.aead.NonceSize()
	if err != nil || len(raw) < ns {
		return c, errBadToken
	}
	plain, err := t.aead.Open(nil, raw[:ns], raw[ns:], []byte(binding))
	if err != nil || json.Unmarshal(plain, &c) != nil {
		return c, errBadToken
	}
	return c, nil
}

// graphQuery is one graph request.
type graphQuery struct {
	start, q   string
	limit, top int
	cursor     *graphCursor // nil: the first page
}

// binding ties a token to the caller and the query it continues.
func (gq graphQuery) binding(who Who) string {
	return strings.Join([]string{who.ObjectID, gq.start, gq.q, strconv.Itoa(gq.limit), strconv.Itoa(gq.top)}, "\x00")
}

// graph serves GET /console/api/graph?start=&q=&limit=&$top=&$skiptoken=.
func (h *Handler) graph(w http.ResponseWriter, r *http.Request) {
	c, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	gq, ok := parseGraphQuery(w, r)
	if !ok {
		return
	}
	if gq.cursor, ok = h.skipToken(w, r.URL.Query(), gq.binding(c.Who), "start, q, limit and $top", "graph"); !ok {
		return
	}
	g, next, err := h.graphPage(r.Context(), c.Who, gq)
	if err != nil {
		h.fail(w, err)
		return
	}
	if next != nil {
		v := url.Values{"limit": {strconv.Itoa(gq.limit)}, "$top": {strconv.Itoa(gq.top)}, "$skiptoken": {h.tokens.seal(*next, gq.binding(c.Who))}}
		if gq.start != "" {
			v.Set("start", gq.start)
		}
		if gq.q != "" {
			v.Set("q", gq.q)
		}
		g.NextLink = "/console/api/graph?" + v.Encode()
	}
	writeJSON(w, http.StatusOK, g)
}

// skipToken opens the $skiptoken of q, if any, as a cursor bound to
// binding (nil: the first page), or answers 400 naming the parameters
// (same) the token was given with and the view (what) to load again; false
// once it has answered.
func (h *Handler) skipToken(w http.ResponseWriter, q url.Values, binding, same, what string) (*graphCursor, bool) {
	tok := q.Get("$skiptoken")
	if tok == "" {
		return nil, true
	}
	cur, err := h.tokens.open(tok, binding)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "InvalidSkipToken", "The $skiptoken is invalid: use the nextLink of the previous page as it is, with the same "+same+", as the caller it was given to; after a restart, load the "+what+" again.")
		return nil, false
	}
	return &cur, true
}

// topParam reads $top, the identities one page of the graph or the
// explorer holds: def when absent, else a whole number from 1 to max;
// false once it has answered 400.
func topParam(w http.ResponseWriter, q url.Values, def, max int) (int, bool) {
	t := q.Get("$top")
	if t == "" {
		return def, true
	}
	n, err := strconv.Atoi(t)
	if err != nil || n < 1 || n > max {
		writeErr(w, http.StatusBadRequest, "InvalidParameter", "$top must be a whole number from 1 to "+strconv.Itoa(max)+": the identities one page holds.")
		return 0, false
	}
	return n, true
}

// parseGraphQuery reads and bounds a graph request's parameters, or
// answers 400.
func parseGraphQuery(w http.ResponseWriter, r *http.Request) (graphQuery, bool) {
	q := r.URL.Query()
	gq := graphQuery{start: q.Get("start"), q: q.Get("q"), limit: defaultGraphLimit}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxGraphLimit {
			writeErr(w, http.StatusBadRequest, "InvalidLimit", "limit must be a whole number from 1 to "+strconv.Itoa(maxGraphLimit)+".")
			return gq, false
		}
		gq.limit = n
	}
	var ok bool
	if gq.top, ok = topParam(w, q, min(defaultGraphPage, gq.limit), maxGraphPage); !ok {
		return gq, false
	}
	if len(gq.start) > 2000 || len(gq.q) > 200 {
		writeErr(w, http.StatusBadRequest, "InvalidQuery", "start or q is too long.")
		return gq, false
	}
	if startKind(gq.start) == "" {
		writeErr(w, http.StatusBadRequest, "InvalidStart", "start must be a subscription, resource group, identity, cluster or vault resource ID, or subject:<service account subject>.")
		return gq, false
	}
	return gq, true
}

// subscriptionsInOrder lists the subscriptions in order of their
// lower-case resource ID: identities are listed in order of theirs, so the
// graph's and the explorer's pages follow one order across subscriptions.
func (h *Handler) subscriptionsInOrder(ctx context.Context) ([]storage.Subscription, error) {
	subs, err := h.cfg.Groups.Subscriptions(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(subs, func(i, j int) bool { return strings.ToLower(subs[i].ID) < strings.ToLower(subs[j].ID) })
	return subs, nil
}

// graphPage draws one page of the graph and returns where the next one
// starts (nil: this is the last).
func (h *Handler) graphPage(ctx context.Context, who Who, gq graphQuery) (*Graph, *graphCursor, error) {
	allowed := func(action, scope string) bool { return h.cfg.Access.Allowed(who.ObjectID, action, scope) }
	v := h.newView()
	subs, err := h.subscriptionsInOrder(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, s := range subs {
		if err := h.loadResources(ctx, v, s, allowed); err != nil {
			return nil, nil, err
		}
	}
	if err := h.loadRoles(ctx, v); err != nil {
		return nil, nil, err
	}
	first := gq.cursor == nil
	kind := startKind(gq.start)
	others := first && (kind == KindVault || kind == "resource")
	if others {
		if err := h.loadPrincipals(ctx, v, who); err != nil {
			return nil, nil, err
		}
		for _, sp := range v.sps {
			if _, err := h.loadAssignments(ctx, v, sp.ObjectID, allowed); err != nil {
				return nil, nil, err
			}
		}
	}
	b := newGraphBuilder(v, gq.start)
	sel, ok := b.selectStart(gq.start, kind)
	if !ok {
		return b.g, nil, nil
	}
	shown := 0
	if !first {
		shown = gq.cursor.Shown
	}
	want := min(gq.top, gq.limit-shown)
	matches := b.matcher(strings.ToLower(strings.TrimSpace(gq.q)))
	var chosen []storage.Identity
	// consider reads an identity's chain into v and b when who may read it,
	// and reports whether the page is full.
	consider := func(id storage.Identity) (bool, error) {
		n := len(v.identities)
		if err := h.loadIdentity(ctx, v, id, allowed); err != nil {
			return false, err
		}
		if len(v.identities) == n { // not readable
			return false, nil
		}
		as, err := h.loadAssignments(ctx, v, id.PrincipalID, allowed)
		if err != nil {
			return false, err
		}
		b.byPrincipal[strings.ToLower(id.PrincipalID)] = as
		if sel.selected(id) && matches(id) {
			chosen = append(chosen, id)
		}
		return len(chosen) >= want, nil
	}
	var next *graphCursor
	if kind == KindIdentity {
		err = h.considerOne(ctx, gq.start, consider)
	} else {
		next, err = h.scanIdentities(ctx, subs, gq.cursor, want-len(chosen), consider)
	}
	if err != nil {
		return nil, nil, err
	}
	b.draw(sel, chosen, others)
	b.g.Identities = len(chosen)
	if next != nil {
		next.Shown = shown + len(chosen)
		if next.Shown >= gq.limit {
			next = nil
		}
	}
	return b.g, next, nil
}

// considerOne reads the one identity an identity start names.
func (h *Handler) considerOne(ctx context.Context, start string, consider func(storage.Identity) (bool, error)) error {
	rid, err := resourceid.Parse(start)
	if err != nil || len(rid.Types) != 1 {
		return nil
	}
	id, err := h.cfg.Identities.Identity(ctx, storage.IdentityRef{SubscriptionID: rid.Subscription, ResourceGroup: rid.ResourceGroup, Name: rid.Types[0].Name})
	if gone(err) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = consider(id)
	return err
}

// scanIdentities reads identities from cursor on, subscription by
// subscription and one list page at a time, until consider reports the
// page full or graphScanBudget identities were read; it returns where the
// next page starts, nil at the end.
func (h *Handler) scanIdentities(ctx context.Context, subs []storage.Subscription, cur *graphCursor, want int, consider func(storage.Identity) (bool, error)) (*graphCursor, error) {
	i, after := 0, ""
	if cur != nil {
		// A subscription deleted since the last page: continue with the
		// next one after it.
		i = sort.Search(len(subs), func(k int) bool { return strings.ToLower(subs[k].ID) >= strings.ToLower(cur.Sub) })
		if i < len(subs) && strings.EqualFold(subs[i].ID, cur.Sub) {
			after = cur.After
		}
	}
	read := 0
	for ; i < len(subs); i, after = i+1, "" {
		sub := subs[i].ID
		for {
			// The identity list is ordered by lower-case resource ID and
			// continues after one given as a raw key, so a page may stop
			// at any identity, not only at a list page's end.
			// A list page of the identities the page still wants (when
			// every identity is drawn, the page reads no more than it
			// draws), at least 20 and at most 200 at a time.
			items, next, err := h.cfg.Identities.Identities(ctx, storage.IdentityFilter{SubscriptionID: sub}, storage.Page{Limit: min(200, max(want, 20)), After: after})
			if gone(err) {
				break
			}
			if err != nil {
				return nil, err
			}
			for _, id := range items {
				read++
				after = resourceid.Key(identityID(id))
				full, err := consider(id)
				if err != nil {
					return nil, err
				}
				want--
				if full || read >= graphScanBudget {
					return &graphCursor{Sub: sub, After: after}, nil
				}
			}
			if next == "" || len(items) == 0 {
				break
			}
		}
	}
	return nil, nil
}

// loadAssignments adds the role assignments of a principal that who may
// read (the read action at each assignment's scope) to v, and returns them.
func (h *Handler) loadAssignments(ctx context.Context, v *view, principalID string, allowed func(action, scope string) bool) ([]storage.RoleAssignment, error) {
	as, err := h.cfg.Access.PrincipalAssignments(ctx, principalID)
	if err != nil {
		return nil, err
	}
	var out []storage.RoleAssignment
	for _, a := range as {
		if allowed(actionAssignmentRead, a.Scope) {
			out = append(out, a)
		}
	}
	v.assignments = append(v.assignments, out...)
	return out, nil
}
