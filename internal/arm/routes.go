package arm

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/router"
)

// Path patterns of the management API. Literal segments match any case.
const (
	pSub      = "/subscriptions/{subscriptionId}"
	pGroup    = pSub + "/resourceGroups/{resourceGroupName}"
	pIdentity = pGroup + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}"
	pVault    = pGroup + "/providers/Microsoft.KeyVault/vaults/{vaultName}"
	pCluster  = pGroup + "/providers/Microsoft.ContainerService/managedClusters/{resourceName}"
	pAuthz    = "/{scope...}/providers/Microsoft.Authorization"
	pMachine  = pGroup + "/providers/Microsoft.HybridCompute/machines/{machineName}"
)

// Mount puts every management route on mux, each with the RBAC action it
// needs at the request's scope (the path up to the resource, see scopeFor),
// or the rule its handler applies. Paths outside the table get ARM's 404
// from the fallback without reaching a handler.
func (h *Handler) Mount(mux *router.Mux) {
	add := func(method, pattern string, a router.Access, hf http.Handler) {
		mux.Handle(router.Route{Method: method, Pattern: pattern, Access: a, Handler: hf})
	}
	crud := func(pattern, typ string, methods ...string) {
		for _, m := range methods {
			verb := map[string]string{"GET": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete", "POST": "write"}[m]
			add(m, pattern, router.Action(typ+"/"+verb), h)
		}
	}
	add("GET", "/subscriptions", router.Handler("any caller; the list holds only the subscriptions it may read (Microsoft.Resources/subscriptions/read)"), h)
	crud(pSub, "Microsoft.Resources/subscriptions", "GET")
	crud(pSub+"/resourceGroups", "Microsoft.Resources/subscriptions/resourceGroups", "GET")
	crud(pGroup, "Microsoft.Resources/subscriptions/resourceGroups", "GET", "PUT", "PATCH", "DELETE")

	crud(pSub+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities", TypeIdentity, "GET")
	crud(pGroup+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities", TypeIdentity, "GET")
	crud(pIdentity, TypeIdentity, "GET", "PUT", "PATCH", "DELETE")
	crud(pIdentity+"/federatedIdentityCredentials", TypeFederatedCredential, "GET")
	crud(pIdentity+"/federatedIdentityCredentials/{federatedIdentityCredentialResourceName}", TypeFederatedCredential, "GET", "PUT", "DELETE")

	if h.vaults != nil {
		crud(pSub+"/providers/Microsoft.KeyVault/vaults", TypeVault, "GET")
		crud(pGroup+"/providers/Microsoft.KeyVault/vaults", TypeVault, "GET")
		crud(pVault, TypeVault, "GET", "PUT", "DELETE")
	}
	if h.clusters != nil {
		crud(pSub+"/providers/Microsoft.ContainerService/managedClusters", TypeManagedCluster, "GET")
		crud(pGroup+"/providers/Microsoft.ContainerService/managedClusters", TypeManagedCluster, "GET")
		crud(pCluster, TypeManagedCluster, "GET", "PUT", "DELETE")
		for _, op := range []string{"getServiceAccountToken", "getServiceAccountSigningKey", "rotateServiceAccountSigningKey"} {
			add("POST", pCluster+"/"+op, router.Action(TypeManagedCluster+"/"+op+"/action"), h)
		}
	}
	if h.clusters != nil {
		crud(pCluster+"/agentPools", TypeAgentPool, "GET")
		crud(pCluster+"/agentPools/{agentPoolName}", TypeAgentPool, "GET", "PUT", "DELETE")
	}
	if h.machines != nil {
		crud(pSub+"/providers/Microsoft.HybridCompute/machines", TypeMachine, "GET")
		crud(pGroup+"/providers/Microsoft.HybridCompute/machines", TypeMachine, "GET")
		crud(pMachine, TypeMachine, "GET", "PUT", "PATCH", "DELETE")
		add("POST", pMachine+"/resetAgentCredential", router.Action(ActionResetCredential), h)
	}
	if h.activity != nil {
		crud(pSub+"/providers/Microsoft.Insights/eventtypes/management/values", "Microsoft.Insights/eventtypes/values", "GET")
	}
	if h.rbac != nil {
		crud(pAuthz+"/roleAssignments", TypeRoleAssignment, "GET")
		crud(pAuthz+"/roleAssignments/{roleAssignmentName}", TypeRoleAssignment, "GET", "PUT", "DELETE")
		crud(pAuthz+"/roleDefinitions", TypeRoleDefinition, "GET")
		crud(pAuthz+"/roleDefinitions/{roleDefinitionId}", TypeRoleDefinition, "GET")
		rule := "Microsoft.Authorization/roleDefinitions/write at every assignable scope of the role, before and after the change; '/' only for an Owner at '/'"
		add("PUT", pAuthz+"/roleDefinitions/{roleDefinitionId}", router.Handler(rule), h)
		add("DELETE", pAuthz+"/roleDefinitions/{roleDefinitionId}", router.Handler(rule), h)
		add("POST", pAuthz+"/checkAccess", router.Handler("a principal may check its own access; another's needs Microsoft.Authorization/roleAssignments/read at the resource"), h)
	}
	add("GET", "/metadata/endpoints", router.Public("cloud metadata that az and the SDKs read before signing in"), http.HandlerFunc(h.serveMetadata))

	notFound := func(w http.ResponseWriter, r *http.Request, status int, allowed []string) {
		requestIDs(w, r)
		h.writeError(w, r, unrouted(r, status, allowed))
	}
	for _, prefix := range []string{"/subscriptions", "/providers/", "/metadata/"} {
		mux.NotFound("", prefix, notFound)
	}
}

// unrouted is ARM's answer to a path outside the route table, in ARM's
// vocabulary: a malformed ID, a namespace or a resource type Ward does not
// serve, or a method the resource does not support.
func unrouted(r *http.Request, status int, allowed []string) error {
	if status == http.StatusMethodNotAllowed {
		return methodNotAllowed(r, allowed...)
	}
	id, err := resourceid.Parse(r.URL.Path)
	if err != nil {
		return newError(http.StatusBadRequest, armerr.CodeLinkedInvalidPropertyID, fmt.Sprintf("The path '%s' is not a valid Azure resource path: %v.", r.URL.Path, err))
	}
	switch strings.ToLower(id.Provider) {
	case "":
		return newError(http.StatusNotFound, armerr.CodeNoRegisteredProvider, fmt.Sprintf("No route is registered for '%s %s'.", r.Method, r.URL.Path))
	case strings.ToLower(ProviderMSI), strings.ToLower(ProviderKeyVault), strings.ToLower(ProviderContainerService), strings.ToLower(ProviderHybridCompute), "microsoft.authorization", "microsoft.insights":
		return newError(http.StatusBadRequest, armerr.CodeInvalidResourceType, fmt.Sprintf("The resource type at '%s' could not be found in the namespace '%s'.", r.URL.Path, id.Provider))
	}
	return newError(http.StatusBadRequest, armerr.CodeInvalidResourceNS, fmt.Sprintf("The resource namespace '%s' is invalid or not served by Ward. Ward serves Microsoft.Resources, %s, %s, %s, %s and Microsoft.Authorization.",
		id.Provider, ProviderMSI, ProviderKeyVault, ProviderContainerService, ProviderHybridCompute))
}
