package console

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/ward-id/ward/internal/rbac"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/shellquote"
	"github.com/ward-id/ward/internal/storage"
)

// Node kinds of the access graph, in the order the chain runs (the page
// lays them out in this order, left to right).
const (
	KindCluster    = "cluster"
	KindIssuer     = "issuer"
	KindSubject    = "subject"
	KindFIC        = "federatedCredential"
	KindIdentity   = "identity"
	KindPrincipal  = "servicePrincipal"
	KindAssignment = "roleAssignment"
	KindScope      = "scope"
	KindVault      = "vault"
)

// GraphNode is one box of the access graph.
type GraphNode struct {
	ID    string            `json:"id"`
	Kind  string            `json:"kind"`
	Label string            `json:"label"`
	Sub   string            `json:"sub,omitempty"`
	Props map[string]string `json:"props,omitempty"`
	CLI   string            `json:"cli,omitempty"`
}

// GraphEdge is one labelled link; Inherited marks a role assignment that
// applies to the resource through a scope above it.
type GraphEdge struct {
	From      string `json:"from"`
	To        string `json:"to"`
	Label     string `json:"label,omitempty"`
	Inherited bool   `json:"inherited,omitempty"`
}

// Graph is the access graph from one starting point.
type Graph struct {
	Start      string      `json:"start"`
	StartKind  string      `json:"startKind"`
	Nodes      []GraphNode `json:"nodes"`
	Edges      []GraphEdge `json:"edges"`
	Identities int         `json:"identities"` // on this page, matching the start and query
	Shown      int         `json:"shown"`      // of them, drawn
	// NextLink continues the graph after this page's identities; absent
	// on the last page (or when limit identities were shown).
	NextLink string `json:"nextLink,omitempty"`
}

type graphBuilder struct {
	v     *view
	nodes map[string]int
	edges map[[2]string]bool
	g     *Graph
	// byPrincipal holds the view's assignments by lower principal ID;
	// clusterByIssuer a cluster's index by its hosted issuer URL.
	byPrincipal     map[string][]storage.RoleAssignment
	clusterByIssuer map[string]int
}

func (b *graphBuilder) node(n GraphNode) string {
	n.ID = strings.ToLower(n.ID)
	if _, ok := b.nodes[n.ID]; !ok {
		b.nodes[n.ID] = len(b.g.Nodes)
		b.g.Nodes = append(b.g.Nodes, n)
	}
	return n.ID
}

func (b *graphBuilder) edge(e GraphEdge) {
	k := [2]string{e.From, e.To}
	if b.edges[k] {
		return
	}
	b.edges[k] = true
	b.g.Edges = append(b.g.Edges, e)
}

// scopeNode draws a scope (subscription, group, resource) as a node.
func (b *graphBuilder) scopeNode(scope string) string {
	if vl, ok := b.vault(scope); ok {
		return b.vaultNode(vl)
	}
	label, sub := scope, ""
	if id, err := resourceid.Parse(scope); err == nil {
		switch {
		case id.Subscription == "":
			label, sub = "/", "root scope"
		case id.ResourceGroup == "":
			label, sub = id.Subscription, "subscription"
		case len(id.Types) == 0:
			label, sub = id.ResourceGroup, "resource group"
		default:
			label, sub = id.Types[len(id.Types)-1].Name, id.Provider+"/"+id.Types[len(id.Types)-1].Type
		}
	}
	return b.node(GraphNode{ID: scope, Kind: KindScope, Label: label, Sub: sub, Props: map[string]string{"scope": scope},
		CLI: shellquote.Join("ward", "role", "assignment", "list", "--scope", scope)})
}

func (b *graphBuilder) vault(scope string) (storage.Vault, bool) {
	for _, vl := range b.v.vaults {
		if strings.EqualFold(vaultID(vl), strings.TrimRight(scope, "/")) {
			return vl, true
		}
	}
	return storage.Vault{}, false
}

func (b *graphBuilder) vaultNode(vl storage.Vault) string {
	id := vaultID(vl)
	return b.node(GraphNode{ID: id, Kind: KindVault, Label: vl.Name, Sub: "vault · " + vl.ResourceGroup,
		Props: map[string]string{"id": id, "location": vl.Location}, CLI: shellquote.Join("ward", "keyvault", "show", "-g", vl.ResourceGroup, "-n", vl.Name)})
}

// startKind classifies a starting point.
func startKind(start string) string {
	switch {
	case start == "" || start == "/":
		return "all"
	case strings.HasPrefix(start, "subject:"):
		return KindSubject
	}
	id, err := resourceid.Parse(start)
	if err != nil {
		return ""
	}
	switch {
	case id.ResourceGroup == "" && len(id.Types) == 0:
		return "subscription"
	case len(id.Types) == 0:
		return "resourceGroup"
	case strings.EqualFold(id.Provider, "Microsoft.ManagedIdentity"):
		return KindIdentity
	case strings.EqualFold(id.Provider, "Microsoft.ContainerService"):
		return KindCluster
	case strings.EqualFold(id.Provider, "Microsoft.KeyVault"):
		return KindVault
	}
	return "resource"
}

// newGraphBuilder starts the graph from start over v: its assignments by
// principal and its clusters by issuer are indexed as they are now; an
// identity added to v later (addIdentity) indexes its own.
func newGraphBuilder(v *view, start string) *graphBuilder {
	g := &Graph{Start: start, StartKind: startKind(start), Nodes: []GraphNode{}, Edges: []GraphEdge{}}
	b := &graphBuilder{v: v, nodes: map[string]int{}, edges: map[[2]string]bool{}, g: g,
		byPrincipal: map[string][]storage.RoleAssignment{}, clusterByIssuer: map[string]int{}}
	for _, a := range v.assignments {
		k := strings.ToLower(a.PrincipalID)
		b.byPrincipal[k] = append(b.byPrincipal[k], a)
	}
	for i, c := range v.clusters {
		if c.Spec.OIDCIssuer {
			b.clusterByIssuer[v.issuerURL(c.ID)] = i
		}
	}
	return b
}

// draw draws the start and the chains of the chosen identities; others
// adds, for a resource or vault start, the service principals with access
// to it.
func (b *graphBuilder) draw(sel selection, chosen []storage.Identity, others bool) {
	g := b.g
	g.Shown = len(chosen)
	if sel.scope != "" {
		if vl, ok := b.vault(sel.scope); ok {
			b.vaultNode(vl)
		} else {
			b.scopeNode(sel.scope)
		}
	}
	if sel.cluster >= 0 {
		b.clusterNode(sel.cluster)
	}
	for _, id := range chosen {
		b.identityChain(id, sel.scope)
	}
	// A resource's other principals (service principals) with access to it.
	if others && (g.StartKind == KindVault || g.StartKind == "resource") {
		b.otherPrincipals(sel.scope)
	}
}

// selection is which identities a starting point selects: scope is the
// resource or scope inherited assignments are relative to, cluster the
// index of the starting cluster (-1: none).
type selection struct {
	selected func(storage.Identity) bool
	scope    string
	cluster  int
}

// selectStart classifies the identities start (of kind) selects; false for
// a start that is not one.
func (b *graphBuilder) selectStart(start, kind string) (selection, bool) {
	v := b.v
	sel := selection{selected: func(storage.Identity) bool { return true }, cluster: -1}
	assignedCovering := func(id storage.Identity, covers func(scope string) bool) bool {
		for _, a := range b.byPrincipal[strings.ToLower(id.PrincipalID)] {
			if covers(a.Scope) {
				return true
			}
		}
		return false
	}
	switch kind {
	case "subscription", "resourceGroup":
		sel.scope = strings.TrimRight(start, "/")
		sel.selected = func(id storage.Identity) bool {
			return rbac.Covers(sel.scope, identityID(id)) || assignedCovering(id, func(scope string) bool { return rbac.Covers(sel.scope, scope) })
		}
	case KindIdentity:
		sel.selected = func(id storage.Identity) bool {
			return strings.EqualFold(identityID(id), strings.TrimRight(start, "/"))
		}
	case KindVault, "resource":
		sel.scope = strings.TrimRight(start, "/")
		sel.selected = func(id storage.Identity) bool {
			return assignedCovering(id, func(scope string) bool { return rbac.Covers(scope, sel.scope) })
		}
	case KindCluster:
		for i, c := range v.clusters {
			if strings.EqualFold(clusterID(c), strings.TrimRight(start, "/")) {
				sel.cluster = i
			}
		}
		sel.selected = func(id storage.Identity) bool {
			if sel.cluster < 0 {
				return false
			}
			c := v.clusters[sel.cluster]
			iid := identityID(id)
			if c.Spec.KubeletBinding.Is(c.Spec.KubeletIdentity, iid, id.PrincipalID) || c.Spec.ControlPlaneBinding.Is(c.Spec.ControlPlaneIdentity, iid, id.PrincipalID) {
				return true
			}
			iss := v.issuerURL(c.ID)
			for _, f := range v.fics[strings.ToLower(iid)] {
				if f.Issuer == iss {
					return true
				}
			}
			return false
		}
	case KindSubject:
		want := strings.TrimPrefix(start, "subject:")
		sel.selected = func(id storage.Identity) bool {
			for _, f := range v.fics[strings.ToLower(identityID(id))] {
				if f.Subject == want {
					return true
				}
			}
			return false
		}
	case "":
		return sel, false
	}
	return sel, true
}

// matcher is the query filter: an identity matches q (lower case) when its
// ID, one of its federated credentials or one of its role assignments
// contains it.
func (b *graphBuilder) matcher(q string) func(storage.Identity) bool {
	v := b.v
	return func(id storage.Identity) bool {
		if q == "" {
			return true
		}
		if strings.Contains(strings.ToLower(identityID(id)), q) {
			return true
		}
		for _, f := range v.fics[strings.ToLower(identityID(id))] {
			if strings.Contains(strings.ToLower(f.Name+" "+f.Issuer+" "+f.Subject), q) {
				return true
			}
		}
		for _, a := range b.byPrincipal[strings.ToLower(id.PrincipalID)] {
			if strings.Contains(strings.ToLower(v.roleName(a.RoleDefinitionID)+" "+a.Scope), q) {
				return true
			}
		}
		return false
	}
}

// identityChain draws one identity with the clusters that use it, its
// federated credentials (issuer → subject → credential) and its role
// assignments.
func (b *graphBuilder) identityChain(id storage.Identity, startScope string) {
	iid := identityID(id)
	in := b.node(GraphNode{ID: iid, Kind: KindIdentity, Label: id.Name, Sub: "identity · " + id.ResourceGroup,
		Props: map[string]string{"id": iid, "clientId": id.ClientID, "principalId": id.PrincipalID, "location": id.Location},
		CLI:   shellquote.Join("ward", "identity", "show", "-g", id.ResourceGroup, "-n", id.Name)})
	for i, c := range b.v.clusters {
		if c.Spec.KubeletBinding.Is(c.Spec.KubeletIdentity, iid, id.PrincipalID) {
			b.edge(GraphEdge{From: b.clusterNode(i), To: in, Label: "kubelet identity"})
		} else if c.Spec.ControlPlaneBinding.Is(c.Spec.ControlPlaneIdentity, iid, id.PrincipalID) {
			b.edge(GraphEdge{From: b.clusterNode(i), To: in, Label: "control-plane identity"})
		}
	}
	for _, f := range b.v.fics[strings.ToLower(iid)] {
		fid := iid + "/federatedIdentityCredentials/" + f.Name
		fn := b.node(GraphNode{ID: fid, Kind: KindFIC, Label: f.Name, Sub: "federated credential",
			Props: map[string]string{"id": fid, "issuer": f.Issuer, "subject": f.Subject, "audiences": strings.Join(f.Audiences, ", ")},
			CLI:   shellquote.Join("ward", "identity", "federated-credential", "show", "-g", id.ResourceGroup, "--identity-name", id.Name, "-n", f.Name)})
		isn := b.node(GraphNode{ID: "issuer:" + f.Issuer, Kind: KindIssuer, Label: shortIssuer(f.Issuer), Sub: "OIDC issuer", Props: map[string]string{"issuer": f.Issuer}})
		sn := b.node(GraphNode{ID: "subject:" + f.Issuer + "|" + f.Subject, Kind: KindSubject, Label: shortSubject(f.Subject), Sub: subjectKind(f.Subject),
			Props: map[string]string{"subject": f.Subject, "issuer": f.Issuer}})
		if ci, ok := b.clusterByIssuer[f.Issuer]; ok {
			b.edge(GraphEdge{From: b.clusterNode(ci), To: isn, Label: "issuer"})
		}
		b.edge(GraphEdge{From: isn, To: sn, Label: "subject"})
		b.edge(GraphEdge{From: sn, To: fn, Label: "aud " + strings.Join(f.Audiences, ", ")})
		b.edge(GraphEdge{From: fn, To: in, Label: "trusted by"})
	}
	b.assignments(in, b.byPrincipal[strings.ToLower(id.PrincipalID)], startScope)
}

// otherPrincipals draws the service principals with an assignment that
// applies at scope, and those assignments.
func (b *graphBuilder) otherPrincipals(scope string) {
	for _, sp := range b.v.sps {
		var as []storage.RoleAssignment
		for _, a := range b.byPrincipal[strings.ToLower(sp.ObjectID)] {
			if rbac.Covers(a.Scope, scope) {
				as = append(as, a)
			}
		}
		if len(as) == 0 {
			continue
		}
		pn := b.node(GraphNode{ID: "sp:" + sp.ObjectID, Kind: KindPrincipal, Label: sp.DisplayName, Sub: "service principal",
			Props: map[string]string{"objectId": sp.ObjectID, "appId": sp.AppID}, CLI: shellquote.Join("ward", "ad", "sp", "show", "--id", sp.AppID)})
		b.assignments(pn, as, scope)
	}
}

// assignments draws a principal's role assignments and their scopes; an
// assignment above startScope is inherited by it.
func (b *graphBuilder) assignments(from string, as []storage.RoleAssignment, startScope string) {
	sort.Slice(as, func(i, j int) bool { return as[i].Scope < as[j].Scope })
	for _, a := range as {
		role := b.v.roleName(a.RoleDefinitionID)
		an := b.node(GraphNode{ID: "assignment:" + a.ID, Kind: KindAssignment, Label: role, Sub: "at " + shortScope(a.Scope),
			Props: map[string]string{"id": a.ID, "role": role, "roleDefinitionId": a.RoleDefinitionID, "scope": a.Scope,
				"principalId": a.PrincipalID, "createdBy": a.CreatedBy},
			CLI: shellquote.Join("ward", "role", "assignment", "list", "--assignee", a.PrincipalID, "--scope", a.Scope)})
		b.edge(GraphEdge{From: from, To: an, Label: "role"})
		sn := b.scopeNode(a.Scope)
		b.edge(GraphEdge{From: an, To: sn, Label: "scope"})
		if startScope != "" && !strings.EqualFold(rbac.NormalizeScope(a.Scope), rbac.NormalizeScope(startScope)) && rbac.Covers(a.Scope, startScope) {
			target := b.scopeNode(startScope)
			b.edge(GraphEdge{From: sn, To: target, Label: "inherited", Inherited: true})
			continue
		}
		// Vaults below an assignment's scope inherit it.
		n := 0
		for _, vl := range b.v.vaults {
			if vid := vaultID(vl); !strings.EqualFold(vid, a.Scope) && rbac.Covers(a.Scope, vid) && n < 20 {
				b.edge(GraphEdge{From: sn, To: b.vaultNode(vl), Label: "inherited", Inherited: true})
				n++
			}
		}
	}
}

func (b *graphBuilder) clusterNode(i int) string {
	c := b.v.clusters[i]
	id := clusterID(c)
	props := map[string]string{"id": id, "kubeletIdentity": c.Spec.KubeletIdentity, "workloadIdentity": strconv.FormatBool(c.Spec.WorkloadIdentity)}
	if c.Spec.OIDCIssuer {
		props["issuer"] = b.v.issuerURL(c.ID)
	}
	return b.node(GraphNode{ID: id, Kind: KindCluster, Label: c.Name, Sub: "cluster · " + c.ResourceGroup, Props: props,
		CLI: shellquote.Join("ward", "aks", "show", "-g", c.ResourceGroup, "-n", c.Name)})
}

func shortIssuer(iss string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(iss, "https://"), "http://")
	if len(s) > 48 {
		s = s[:22] + "…" + s[len(s)-22:]
	}
	return s
}

func shortSubject(sub string) string {
	if rest, ok := strings.CutPrefix(sub, "system:serviceaccount:"); ok {
		return strings.Replace(rest, ":", "/", 1)
	}
	return sub
}

func subjectKind(sub string) string {
	if strings.HasPrefix(sub, "system:serviceaccount:") {
		return "service account"
	}
	return "subject"
}

func shortScope(scope string) string {
	if id, err := resourceid.Parse(scope); err == nil {
		switch {
		case id.Subscription == "":
			return "/"
		case id.ResourceGroup == "":
			return "subscription " + id.Subscription[:min(8, len(id.Subscription))] + "…"
		case len(id.Types) == 0:
			return "group " + id.ResourceGroup
		default:
			return id.Types[len(id.Types)-1].Name
		}
	}
	return scope
}

func (h *Handler) fail(w http.ResponseWriter, err error) {
	h.cfg.Logger.Error("console", "err", err)
	writeErr(w, http.StatusInternalServerError, "InternalServerError", "The console could not read the store; see the server log.")
}
