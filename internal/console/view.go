package console

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/clusters"
	"github.com/ward-id/ward/internal/directory"
	"github.com/ward-id/ward/internal/rbac"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

// Read actions the console checks, the same the management API's routes
// declare for the objects' GET.
const (
	actionSubRead        = "Microsoft.Resources/subscriptions/read"
	actionGroupRead      = "Microsoft.Resources/subscriptions/resourceGroups/read"
	actionIdentityRead   = resourceid.TypeIdentity + "/read"
	actionFICRead        = resourceid.TypeFederatedCredential + "/read"
	actionFICWrite       = resourceid.TypeFederatedCredential + "/write"
	actionClusterRead    = resourceid.TypeManagedCluster + "/read"
	actionVaultRead      = resourceid.TypeVault + "/read"
	actionAssignmentRead = resourceid.TypeRoleAssignment + "/read"
	actionRoleRead       = resourceid.TypeRoleDefinition + "/read"
	actionActivityRead   = resourceid.TypeActivityLog + "/read"
)

// view is what one principal may read of one page, loaded per request.
type view struct {
	subs        []storage.Subscription
	groups      []storage.ResourceGroup
	identities  []storage.Identity
	fics        map[string][]storage.FederatedCredential // by lower identity ID
	clusters    []clusters.Cluster
	vaults      []storage.Vault
	sps         []storage.ServicePrincipal
	assignments []storage.RoleAssignment
	roles       map[string]rbac.RoleDefinition // by lower GUID (every role, for names)
	canRoles    bool                           // may list role definitions
	// principals names the principals the caller may read (through the
	// directory API, or ARM for an identity) by lower object ID.
	principals map[string]string
	// identityByPrincipal maps a principal ID to its identity's resource
	// ID, for the identities the caller may read.
	identityByPrincipal map[string]string
	// issuerURL is a cluster's hosted issuer URL, by cluster GUID.
	issuerURL func(clusterID string) string
}

func vaultID(v storage.Vault) string {
	return resourceid.VaultID(v.SubscriptionID, v.ResourceGroup, v.Name)
}

func clusterID(c storage.Cluster) string {
	return resourceid.ClusterID(c.SubscriptionID, c.ResourceGroup, c.Name)
}

func identityID(i storage.Identity) string {
	return resourceid.IdentityID(i.SubscriptionID, i.ResourceGroup, i.Name)
}

// gone reports an object deleted while the view was read (its parent
// went, or it did): it is left out, as a list read a moment later would.
func gone(err error) bool {
	if e, ok := armerr.As(err); ok {
		return e.Status == http.StatusNotFound
	}
	return errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrParentNotFound)
}

// pages calls list for every page until the last, stopping at the first
// error.
func pages[T any](limit int, list func(p storage.Page) ([]T, string, error), each func(T) error) error {
	for after := ""; ; {
		items, next, err := list(storage.Page{Limit: limit, After: after})
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := each(it); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

// newView returns an empty view.
func (h *Handler) newView() *view {
	v := &view{fics: map[string][]storage.FederatedCredential{}, roles: map[string]rbac.RoleDefinition{},
		principals: map[string]string{}, identityByPrincipal: map[string]string{}, issuerURL: func(string) string { return "" }}
	if h.cfg.Clusters != nil {
		v.issuerURL = h.cfg.Clusters.IssuerURL
	}
	return v
}

// loadPrincipals adds the service principals who may read (as the
// directory API's policy decides) to v.
func (h *Handler) loadPrincipals(ctx context.Context, v *view, who Who) error {
	return h.eachPrincipal(ctx, v, who, nil)
}

// eachPrincipal reads every service principal through the directory's
// pages, adds those who may read to v, and calls each (when not nil) for
// every one, readable or not.
func (h *Handler) eachPrincipal(ctx context.Context, v *view, who Who, each func(storage.ServicePrincipal) error) error {
	caller := directory.Caller{ObjectID: who.ObjectID, AppID: who.AppID}
	return pages(1000, func(p storage.Page) ([]storage.ServicePrincipal, string, error) {
		return h.cfg.Directory.Principals(ctx, p)
	},
		func(sp storage.ServicePrincipal) error {
			if h.policy.Read(caller, directory.ServicePrincipal{ServicePrincipal: sp}) == nil {
				v.principals[strings.ToLower(sp.ObjectID)] = sp.DisplayName
				v.sps = append(v.sps, sp)
			}
			if each != nil {
				return each(sp)
			}
			return nil
		})
}

// loadRoles adds every role definition to v, for names.
func (h *Handler) loadRoles(ctx context.Context, v *view) error {
	roles, err := h.cfg.Access.Roles(ctx, "", "")
	if err != nil {
		return err
	}
	for _, r := range roles {
		v.roles[strings.ToLower(r.ID)] = r
	}
	return nil
}

// loadSubscription adds what who may read in one subscription to v, but
// its identities: the explorer's pages read those (explorerPage).
func (h *Handler) loadSubscription(ctx context.Context, v *view, s storage.Subscription, allowed func(action, scope string) bool) error {
	subScope := resourceid.SubscriptionID(s.ID)
	if allowed(actionSubRead, subScope) {
		v.subs = append(v.subs, s)
	}
	if allowed(actionRoleRead, subScope) {
		v.canRoles = true
	}
	err := pages(1000, func(p storage.Page) ([]storage.ResourceGroup, string, error) {
		return h.cfg.Groups.Groups(ctx, s.ID, p)
	},
		func(g storage.ResourceGroup) error {
			if allowed(actionGroupRead, resourceid.ResourceGroupID(s.ID, g.Name)) {
				v.groups = append(v.groups, g)
			}
			return nil
		})
	if err != nil && !gone(err) {
		return err
	}
	return h.loadResources(ctx, v, s, allowed)
}

// loadResources adds the clusters and vaults of one subscription who may
// read to v: few, and every page of the graph may reach them.
func (h *Handler) loadResources(ctx context.Context, v *view, s storage.Subscription, allowed func(action, scope string) bool) error {
	if h.cfg.Clusters != nil {
		cs, err := h.cfg.Clusters.List(ctx, s.ID, "")
		if err != nil {
			return err
		}
		for _, c := range cs {
			if allowed(actionClusterRead, clusterID(c)) {
				v.clusters = append(v.clusters, c)
			}
		}
	}
	if h.cfg.Vaults != nil {
		vs, err := h.cfg.Vaults.Vaults(ctx, s.ID, "")
		if err != nil {
			return err
		}
		for _, vl := range vs {
			if allowed(actionVaultRead, vaultID(vl)) {
				v.vaults = append(v.vaults, vl)
			}
		}
	}
	return nil
}

// loadIdentity adds an identity, and the federated credentials of it who
// may read, to v when who may read it.
func (h *Handler) loadIdentity(ctx context.Context, v *view, id storage.Identity, allowed func(action, scope string) bool) error {
	iid := identityID(id)
	if !allowed(actionIdentityRead, iid) {
		return nil
	}
	// Names and links only for identities the caller may read: an
	// assignment it may read does not tell it whose it is.
	v.principals[strings.ToLower(id.PrincipalID)] = id.Name
	v.identityByPrincipal[strings.ToLower(id.PrincipalID)] = iid
	v.identities = append(v.identities, id)
	if !allowed(actionFICRead, iid+"/federatedIdentityCredentials") {
		return nil
	}
	err := pages(100, func(p storage.Page) ([]storage.FederatedCredential, string, error) {
		return h.cfg.Identities.CredentialsOf(ctx, id, p)
	}, func(f storage.FederatedCredential) error {
		if allowed(actionFICRead, iid+"/federatedIdentityCredentials/"+f.Name) {
			v.fics[strings.ToLower(iid)] = append(v.fics[strings.ToLower(iid)], f)
		}
		return nil
	})
	if err != nil && !gone(err) {
		return err
	}
	return nil
}

func (v *view) roleName(id string) string {
	if r, ok := v.roles[strings.ToLower(id)]; ok {
		return r.Name
	}
	return id
}

func (v *view) principalName(id string) string {
	if n, ok := v.principals[strings.ToLower(id)]; ok {
		return n
	}
	return id
}
