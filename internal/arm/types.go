package arm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/clusters"
	"github.com/ward-id/ward/internal/machines"
	"github.com/ward-id/ward/internal/msi"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/resources"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/storage"
)

// The resource types Ward serves, in the order their routes are mounted
// (docs/routes.md lists them in this order). Adding a type is adding an
// entry: the generic flow in table.go serves it.
func (h *Handler) types() []*resourceType {
	ts := []*resourceType{h.subscriptionType(), h.groupType(), h.identityType(), h.federatedCredentialType()}
	if h.vaults != nil {
		ts = append(ts, h.vaultType())
	}
	if h.clusters != nil {
		ts = append(ts, h.clusterType(), h.agentPoolType(), h.maintenanceConfigurationType())
	}
	if h.machines != nil {
		ts = append(ts, h.machineType())
	}
	if h.registries != nil {
		ts = append(ts, h.registryType())
	}
	if h.blobs != nil {
		ts = append(ts, h.storageAccountType(), h.blobContainerType())
	}
	for _, t := range ts {
		t.operationHeaders = h.writeOperationHeaders
	}
	return ts
}

func identityRef(q *request) storage.IdentityRef {
	return storage.IdentityRef{SubscriptionID: q.id.Subscription, ResourceGroup: q.id.ResourceGroup, Name: q.name(0)}
}

func (h *Handler) subscriptionType() *resourceType {
	all := router.Handler("any caller; the list holds only the subscriptions it may read (Microsoft.Resources/subscriptions/read)")
	return &resourceType{
		rbacType: "Microsoft.Resources/subscriptions", apiType: "subscriptions", versions: subscriptionAPIVersions,
		pattern: pSub, collections: []string{"/subscriptions"}, listAccess: &all,
		list: func(q *request) ([]any, string, error) {
			subs, err := h.groups.Subscriptions(q.ctx())
			visible := subs[:0]
			for _, s := range subs {
				if h.authz.Authorize(q.ctx(), q.principal, "Microsoft.Resources/subscriptions/read", resourceid.SubscriptionID(s.ID)) == nil {
					visible = append(visible, s)
				}
			}
			return listOf(toSubscription)(visible, "", err)
		},
		get: func(q *request) (any, error) {
			return viewOf(toSubscription)(h.groups.Subscription(q.ctx(), q.id.Subscription))
		},
	}
}

func (h *Handler) groupType() *resourceType {
	return &resourceType{
		rbacType: "Microsoft.Resources/subscriptions/resourceGroups", apiType: TypeResourceGroup, versions: resourceGroupAPIVersions,
		pattern: pGroup, collections: []string{pSub + "/resourceGroups"},
		list: func(q *request) ([]any, string, error) {
			p, err := q.page()
			if err != nil {
				return nil, "", err
			}
			return listOf(toGroup)(h.groups.Groups(q.ctx(), q.id.Subscription, p))
		},
		get: func(q *request) (any, error) {
			return viewOf(toGroup)(h.groups.Group(q.ctx(), q.id.Subscription, q.group()))
		},
		// az group exists
		head: func(q *request) error {
			if _, err := h.groups.Group(q.ctx(), q.id.Subscription, q.group()); err != nil {
				q.w.WriteHeader(http.StatusNotFound)
				return nil
			}
			q.w.WriteHeader(http.StatusNoContent)
			return nil
		},
		put: func(q *request) (any, bool, error) {
			var b groupBody
			if err := decodeBody(q.r, &b); err != nil {
				return nil, false, err
			}
			return putOf(toGroup)(h.groups.PutGroup(q.ctx(), q.id.Subscription, q.group(), resources.GroupSpec{Location: b.Location, Tags: b.Tags, ManagedBy: b.managedBy("")}))
		},
		patch: func(q *request) (any, error) {
			var b groupBody
			if err := decodeBody(q.r, &b); err != nil {
				return nil, err
			}
			old, err := h.groups.Group(q.ctx(), q.id.Subscription, q.group())
			if err != nil {
				return nil, err
			}
			if b.Tags == nil {
				b.Tags = old.Tags
			}
			rg, _, err := h.groups.PutGroup(q.ctx(), q.id.Subscription, old.Name, resources.GroupSpec{Location: old.Location, Tags: b.Tags, ManagedBy: b.managedBy(old.ManagedBy)})
			return viewOf(toGroup)(rg, err)
		},
		del: func(q *request) (bool, error) { return h.groups.DeleteGroup(q.ctx(), q.id.Subscription, q.group()) },
	}
}

func (h *Handler) identityType() *resourceType {
	const prov = "/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
	return &resourceType{
		rbacType: TypeIdentity, apiType: TypeIdentity, versions: identityAPIVersions,
		pattern: pIdentity, collections: []string{pSub + prov, pGroup + prov},
		list: func(q *request) ([]any, string, error) {
			p, err := q.page()
			if err != nil {
				return nil, "", err
			}
			return listOf(toIdentity)(h.svc.Identities(q.ctx(), storage.IdentityFilter{SubscriptionID: q.id.Subscription, ResourceGroup: q.group()}, p))
		},
		get: func(q *request) (any, error) { return viewOf(toIdentity)(h.svc.Identity(q.ctx(), identityRef(q))) },
		put: func(q *request) (any, bool, error) {
			var b identityBody
			if err := decodeBody(q.r, &b); err != nil {
				return nil, false, err
			}
			spec := msi.IdentitySpec{Location: b.Location, Tags: b.Tags}
			if s := b.isolationScope(); s != nil {
				spec.IsolationScope = *s
			}
			return putOf(toIdentity)(h.svc.PutIdentity(q.ctx(), identityRef(q), spec))
		},
		patch: func(q *request) (any, error) {
			var b identityBody
			if err := decodeBody(q.r, &b); err != nil {
				return nil, err
			}
			return viewOf(toIdentity)(h.svc.PatchIdentity(q.ctx(), identityRef(q), b.Tags, b.isolationScope()))
		},
		del: func(q *request) (bool, error) { return h.svc.DeleteIdentity(q.ctx(), identityRef(q)) },
	}
}

func (h *Handler) federatedCredentialType() *resourceType {
	const coll = pIdentity + "/federatedIdentityCredentials"
	return &resourceType{
		rbacType: TypeFederatedCredential, apiType: TypeFederatedCredential, versions: federatedCredentialAPIVersions,
		pattern: coll + "/{federatedIdentityCredentialResourceName}", collections: []string{coll},
		list: func(q *request) ([]any, string, error) {
			p, err := q.page()
			if err != nil {
				return nil, "", err
			}
			return listOf(toFIC)(h.svc.FederatedCredentials(q.ctx(), identityRef(q), p))
		},
		get: func(q *request) (any, error) {
			return viewOf(toFIC)(h.svc.FederatedCredential(q.ctx(), identityRef(q), q.name(1)))
		},
		put: func(q *request) (any, bool, error) {
			var b ficBody
			if err := decodeBody(q.r, &b); err != nil {
				return nil, false, err
			}
			spec, err := b.spec(q.r.URL.Query().Get("api-version"))
			if err != nil {
				return nil, false, err
			}
			return putOf(toFIC)(h.svc.PutFederatedCredential(q.ctx(), identityRef(q), q.name(1), spec))
		},
		del: func(q *request) (bool, error) {
			return h.svc.DeleteFederatedCredential(q.ctx(), identityRef(q), q.name(1))
		},
	}
}

// groupParent is the parent check of a type listed by subscription and by
// group: when the path names a group, the group must exist.
func (h *Handler) groupParent(q *request) error {
	if q.group() == "" {
		return nil
	}
	_, err := h.groups.Group(q.ctx(), q.id.Subscription, q.group())
	return err
}

func (h *Handler) vaultType() *resourceType {
	const prov = "/providers/Microsoft.KeyVault/vaults"
	return &resourceType{
		rbacType: TypeVault, apiType: TypeVault, versions: vaultAPIVersions,
		pattern: pVault, collections: []string{pSub + prov, pGroup + prov},
		parent: h.groupParent, asyncPut: ProviderKeyVault,
		list: func(q *request) ([]any, string, error) {
			items, err := h.vaults.Vaults(q.ctx(), q.id.Subscription, q.group())
			return listOf(h.toVault)(items, "", err)
		},
		get: func(q *request) (any, error) {
			return viewOf(h.toVault)(h.vaults.Vault(q.ctx(), q.id.Subscription, q.group(), q.name(0)))
		},
		put: func(q *request) (any, bool, error) {
			var b vaultBody
			if err := decodeBody(q.r, &b); err != nil {
				return nil, false, err
			}
			sku := ""
			if b.Properties != nil {
				sku = b.Properties.SKU.Name
			}
			echo, err := echoOf(b.raw, vaultEchoDrop...)
			if err != nil {
				return nil, false, err
			}
			return putOf(h.toVault)(h.vaults.PutVault(q.ctx(), q.id.Subscription, q.group(), q.name(0), b.Location, h.tenantID, sku, b.Tags, echo))
		},
		del: func(q *request) (bool, error) {
			return h.vaults.DeleteVault(q.ctx(), q.id.Subscription, q.group(), q.name(0))
		},
	}
}

func clusterRefOf(q *request) storage.ClusterRef {
	return clusterRef(q.id.Subscription, q.group(), q.name(0))
}

func (h *Handler) clusterType() *resourceType {
	const prov = "/providers/Microsoft.ContainerService/managedClusters"
	view := func(q *request) func(clusters.Cluster) any {
		return func(c clusters.Cluster) any { return h.toCluster(q.r, c) }
	}
	t := &resourceType{
		rbacType: TypeManagedCluster, apiType: TypeManagedCluster, versions: clusterAPIVersions,
		pattern: pCluster, collections: []string{pSub + prov, pGroup + prov},
		asyncPut: ProviderContainerService,
		list: func(q *request) ([]any, string, error) {
			items, err := h.clusters.List(q.ctx(), q.id.Subscription, q.group())
			return listOf(view(q))(items, "", err)
		},
		get: func(q *request) (any, error) { return viewOf(view(q))(h.clusters.Get(q.ctx(), clusterRefOf(q))) },
		put: func(q *request) (any, bool, error) {
			var b clusterBody
			if err := decodeBody(q.r, &b); err != nil {
				return nil, false, err
			}
			req, err := b.request()
			if err != nil {
				return nil, false, err
			}
			req.CanUse = h.linkedIdentityCheck(q)
			return putOf(view(q))(h.clusters.Put(q.ctx(), clusterRefOf(q), req))
		},
		// AKS deletes a cluster as a long-running operation, and
		// go-azure-sdk takes nothing but 202 or 204 from it.
		asyncDelete: h.longRunningDelete(ProviderContainerService, func(q *request) (bool, string, error) {
			c, err := h.clusters.Get(q.ctx(), clusterRefOf(q))
			if armerr.IsNotFound(err) {
				return false, "", nil
			}
			if err != nil {
				return false, "", err
			}
			found, err := h.clusters.Delete(q.ctx(), clusterRefOf(q))
			return found, c.Location, err
		}),
	}
	for _, op := range []struct {
		name  string
		serve func(*request) error
	}{{"getServiceAccountToken", h.serviceAccountToken}, {"getServiceAccountSigningKey", h.signingKey}, {"rotateServiceAccountSigningKey", h.rotateSigningKey},
		{"listClusterUserCredential", h.listCredential("clusterUser")}, {"listClusterAdminCredential", h.listCredential("clusterAdmin")},
		{"listClusterMonitoringUserCredential", h.listCredential("clusterMonitoringUser")}} {
		t.actions = append(t.actions, resourceAction{name: op.name, action: TypeManagedCluster + "/" + op.name + "/action", serve: op.serve})
	}
	return t
}

func (h *Handler) agentPoolType() *resourceType {
	const coll = pCluster + "/agentPools"
	view := func(q *request) func(clusters.NamedPool) any {
		return func(p clusters.NamedPool) any { return h.toAgentPool(q.ctx(), clusterRefOf(q), p) }
	}
	return &resourceType{
		rbacType: TypeAgentPool, apiType: TypeManagedCluster, versions: clusterAPIVersions,
		pattern: coll + "/{agentPoolName}", collections: []string{coll},
		list: func(q *request) ([]any, string, error) {
			pools, err := h.clusters.NodePools(q.ctx(), clusterRefOf(q))
			return listOf(view(q))(pools, "", err)
		},
		get: func(q *request) (any, error) {
			return viewOf(view(q))(h.clusters.GetNodePool(q.ctx(), clusterRefOf(q), q.name(1)))
		},
		put: func(q *request) (any, bool, error) {
			var b struct {
				Properties *struct {
					WardUserAssignedIdentities map[string]json.RawMessage `json:"wardUserAssignedIdentities"`
				} `json:"properties"`
				declared
			}
			if err := decodeBody(q.r, &b); err != nil {
				return nil, false, err
			}
			echo, err := echoOf(b.raw, agentPoolEchoDrop...)
			if err != nil {
				return nil, false, err
			}
			if echo == nil {
				echo = json.RawMessage("{}") // a PUT replaces what an earlier one declared
			}
			req := clusters.PoolRequest{CanUse: h.linkedIdentityCheck(q), Echo: echo}
			if b.Properties != nil && b.Properties.WardUserAssignedIdentities != nil {
				req.UserAssigned = []string{}
				for id, v := range b.Properties.WardUserAssignedIdentities {
					if strings.TrimSpace(string(v)) != "null" {
						req.UserAssigned = append(req.UserAssigned, id)
					}
				}
			}
			return putOf(view(q))(h.clusters.PutNodePool(q.ctx(), clusterRefOf(q), q.name(1), req))
		},
		// AKS deletes a pool as a long-running operation, as it does a
		// cluster, and go-azure-sdk takes nothing but 202 or 204 from it.
		asyncDelete: h.longRunningDelete(ProviderContainerService, func(q *request) (bool, string, error) {
			c, err := h.clusters.Get(q.ctx(), clusterRefOf(q))
			if err != nil {
				return false, "", err
			}
			found, err := h.clusters.DeleteNodePool(q.ctx(), clusterRefOf(q), q.name(1))
			return found, c.Location, err
		}),
		// `az aks nodepool upgrade --node-image-only`: Ward runs no nodes, so
		// there is no image to move to; the operation is over at once and
		// answers the pool, as AKS does when the image is already the latest.
		actions: []resourceAction{{name: "upgradeNodeImageVersion", action: TypeAgentPool + "/upgradeNodeImageVersion/write", serve: func(q *request) error {
			v, err := viewOf(view(q))(h.clusters.GetNodePool(q.ctx(), clusterRefOf(q), q.name(1)))
			if err != nil {
				return err
			}
			writeJSON(q.w, http.StatusOK, v)
			return nil
		}}},
	}
}

// maintenanceConfigurationType serves a cluster's planned-maintenance
// windows as AKS does for a cluster that has none: an empty list, and 404
// for each name (Terraform's azurerm reads default, aksManagedAutoUpgradeSchedule
// and aksManagedNodeOSUpgradeSchedule on every refresh). Ward runs no
// upgrades, so it stores none.
func (h *Handler) maintenanceConfigurationType() *resourceType {
	const coll = pCluster + "/maintenanceConfigurations"
	return &resourceType{
		rbacType: TypeManagedCluster + "/maintenanceConfigurations", apiType: TypeManagedCluster, versions: clusterAPIVersions,
		pattern: coll + "/{configName}", collections: []string{coll},
		parent: func(q *request) error { _, err := h.clusters.Get(q.ctx(), clusterRefOf(q)); return err },
		list:   func(*request) ([]any, string, error) { return []any{}, "", nil },
		get: func(q *request) (any, error) {
			return nil, newError(http.StatusNotFound, armerr.CodeResourceNotFound, fmt.Sprintf(
				"The maintenance configuration '%s' of managed cluster '%s' was not found: Ward runs no upgrades and stores no maintenance windows.", q.name(1), q.name(0)))
		},
	}
}

func (h *Handler) machineType() *resourceType {
	const prov = "/providers/Microsoft.HybridCompute/machines"
	ref := func(q *request) storage.MachineRef { return machineRef(q.id.Subscription, q.group(), q.name(0)) }
	view := func(q *request) func(machines.Machine) machineJSON {
		return func(m machines.Machine) machineJSON { return h.toMachine(q.ctx(), m, nil) }
	}
	return &resourceType{
		rbacType: TypeMachine, apiType: TypeMachine, versions: machineAPIVersions,
		pattern: pMachine, collections: []string{pSub + prov, pGroup + prov},
		list: func(q *request) ([]any, string, error) {
			items, err := h.machines.List(q.ctx(), q.id.Subscription, q.group())
			return listOf(view(q))(items, "", err)
		},
		get: func(q *request) (any, error) { return viewOf(view(q))(h.machines.Get(q.ctx(), ref(q))) },
		put: func(q *request) (any, bool, error) {
			var b machineBody
			if err := decodeBody(q.r, &b); err != nil {
				return nil, false, err
			}
			m, created, jt, err := h.machines.Put(q.ctx(), ref(q), machines.Request{Location: b.Location, Tags: b.Tags, Identity: b.identity(), CanUse: h.linkedIdentityCheck(q)})
			if err != nil {
				return nil, false, err
			}
			return h.toMachine(q.ctx(), m, jt), created, nil
		},
		patch: func(q *request) (any, error) {
			var b machineBody
			if err := decodeBody(q.r, &b); err != nil {
				return nil, err
			}
			return viewOf(view(q))(h.machines.Patch(q.ctx(), ref(q), machines.Patch{Tags: b.Tags, Identity: b.identity(), CanUse: h.linkedIdentityCheck(q)}))
		},
		del:     func(q *request) (bool, error) { return h.machines.Delete(q.ctx(), ref(q)) },
		actions: []resourceAction{{name: "resetAgentCredential", action: ActionResetCredential, serve: h.resetCredential}},
	}
}
