package console

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/ward-id/ward/internal/arm"
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
	actionIdentityRead   = arm.TypeIdentity + "/read"
	actionFICRead        = arm.TypeFederatedCredential + "/read"
	actionFICWrite       = arm.TypeFederatedCredential + "/write"
	actionClusterRead    = arm.TypeManagedCluster + "/read"
	actionVaultRead      = arm.TypeVault + "/read"
	actionAssignmentRead = arm.TypeRoleAssignment + "/read"
	actionRoleRead       = arm.TypeRoleDefinition + "/read"
	actionActivityRead   = arm.TypeActivityLog + "/read"
)

// view is everything one principal may read, loaded once per request.
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
	return resourceid.ResourceGroupID(v.SubscriptionID, v.ResourceGroup) + "/providers/Microsoft.KeyVault/vaults/" + v.Name
}

func clusterID(c storage.Cluster) string {
	return resourceid.ResourceGroupID(c.SubscriptionID, c.ResourceGroup) + "/providers/Microsoft.ContainerService/managedClusters/" + c.Name
}

func identityID(i storage.Identity) string {
	return resourceid.IdentityID(i.SubscriptionID, i.ResourceGroup, i.Name)
}

// load reads what who may read. Each object is kept only when who holds
// its read action at its own scope, as a GET of it through ARM requires.
func (h *Handler) load(ctx context.Context, who Who) (*view, error) {
	allowed := func(action, scope string) bool { return h.cfg.Access.Allowed(who.ObjectID, action, scope) }
	v := &view{fics: map[string][]storage.FederatedCredential{}, roles: map[string]rbac.RoleDefinition{},
		principals: map[string]string{}, identityByPrincipal: map[string]string{}, issuerURL: func(string) string { return "" }}
	if h.cfg.Clusters != nil {
		v.issuerURL = h.cfg.Clusters.IssuerURL
	}
	subs, err := storage.All(func(p storage.Page) ([]storage.Subscription, string, error) {
		return h.cfg.Store.ListSubscriptions(ctx, p)
	})
	if err != nil {
		return nil, err
	}
	for _, s := range subs {
		subScope := resourceid.SubscriptionID(s.ID)
		if allowed(actionSubRead, subScope) {
			v.subs = append(v.subs, s)
		}
		if allowed(actionRoleRead, subScope) {
			v.canRoles = true
		}
		for after := ""; ; {
			groups, next, err := h.cfg.Store.ListResourceGroups(ctx, s.ID, storage.Page{Limit: 1000, After: after})
			if err != nil {
				return nil, err
			}
			for _, g := range groups {
				if allowed(actionGroupRead, resourceid.ResourceGroupID(s.ID, g.Name)) {
					v.groups = append(v.groups, g)
				}
			}
			if next == "" {
				break
			}
			after = next
		}
		for after := ""; ; {
			ids, next, err := h.cfg.Store.ListIdentities(ctx, storage.IdentityFilter{SubscriptionID: s.ID}, storage.Page{Limit: 1000, After: after})
			if err != nil {
				return nil, err
			}
			for _, id := range ids {
				iid := identityID(id)
				if !allowed(actionIdentityRead, iid) {
					continue
				}
				// Names and links only for identities the caller may read:
				// an assignment it may read does not tell it whose it is.
				v.principals[strings.ToLower(id.PrincipalID)] = id.Name
				v.identityByPrincipal[strings.ToLower(id.PrincipalID)] = iid
				v.identities = append(v.identities, id)
				if !allowed(actionFICRead, iid+"/federatedIdentityCredentials") {
					continue
				}
				for fafter := ""; ; {
					fics, fnext, err := h.cfg.Store.ListFederatedCredentials(ctx, id.Ref(), storage.Page{Limit: 100, After: fafter})
					if err != nil && !errors.Is(err, storage.ErrNotFound) {
						return nil, err
					}
					for _, f := range fics {
						if allowed(actionFICRead, iid+"/federatedIdentityCredentials/"+f.Name) {
							v.fics[strings.ToLower(iid)] = append(v.fics[strings.ToLower(iid)], f)
						}
					}
					if fnext == "" {
						break
					}
					fafter = fnext
				}
			}
			if next == "" {
				break
			}
			after = next
		}
		if h.cfg.Clusters != nil {
			cs, err := h.cfg.Clusters.List(ctx, s.ID, "")
			if err != nil {
				return nil, err
			}
			for _, c := range cs {
				if allowed(actionClusterRead, clusterID(c)) {
					v.clusters = append(v.clusters, c)
				}
			}
		}
		vs, err := storage.All(func(p storage.Page) ([]storage.Vault, string, error) {
			return h.cfg.Store.ListVaults(ctx, s.ID, "", p)
		})
		if err != nil {
			return nil, err
		}
		for _, vl := range vs {
			if allowed(actionVaultRead, vaultID(vl)) {
				v.vaults = append(v.vaults, vl)
			}
		}
	}
	if allowed(actionRoleRead, "/") {
		v.canRoles = true
	}
	sps, err := storage.All(func(p storage.Page) ([]storage.ServicePrincipal, string, error) {
		return h.cfg.Store.ListServicePrincipals(ctx, p)
	})
	if err != nil {
		return nil, err
	}
	caller := directory.Caller{ObjectID: who.ObjectID, AppID: who.AppID}
	for _, sp := range sps {
		if h.policy.Read(caller, directory.ServicePrincipal{ServicePrincipal: sp}) == nil {
			v.principals[strings.ToLower(sp.ObjectID)] = sp.DisplayName
			v.sps = append(v.sps, sp)
		}
	}
	all, err := storage.All(func(p storage.Page) ([]storage.RoleAssignment, string, error) {
		return h.cfg.Store.ListRoleAssignments(ctx, p)
	})
	if err != nil {
		return nil, err
	}
	for _, a := range all {
		if allowed(actionAssignmentRead, a.Scope) {
			v.assignments = append(v.assignments, a)
		}
	}
	roles, err := h.cfg.Access.Roles(ctx, "", "")
	if err != nil {
		return nil, err
	}
	for _, r := range roles {
		v.roles[strings.ToLower(r.ID)] = r
	}
	sort.Slice(v.identities, func(i, j int) bool {
		return strings.ToLower(identityID(v.identities[i])) < strings.ToLower(identityID(v.identities[j]))
	})
	return v, nil
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
