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
	pRegistry = pGroup + "/providers/Microsoft.ContainerRegistry/registries/{registryName}"
)

// Mount puts every management route on mux, each with the RBAC action it
// needs at the request's scope (the path up to the resource, see scopeOf),
// or the rule its handler applies: the resource types of the table
// (types.go), then the activity log, role objects and cloud metadata. Paths outside the table get ARM's 404
// from the fallback without reaching a handler.
func (h *Handler) Mount(mux *router.Mux) {
	mux.Authenticate(armProtocol.Name, h.authenticator())
	add := func(method, pattern string, a router.Access, fn func(*request) error) {
		mux.Handle(router.Route{Method: method, Pattern: pattern, Access: a, Handler: h.endpoint(fn), Protocol: armProtocol, MaxBody: MaxBodyBytes})
	}
	for _, t := range h.types() {
		t.mount(h, mux)
	}
	h.mountProviders(add)
	h.mountGenericResources(add)
	// The operations long-running PUTs and DELETEs point at (operations.go).
	if h.vaults != nil {
		h.mountDeletedVaults(add)
		h.mountOperations(add, ProviderKeyVault, vaultAPIVersions)
	}
	if h.clusters != nil {
		h.mountOperations(add, ProviderContainerService, clusterAPIVersions)
	}
	if h.registries != nil {
		h.mountOperations(add, ProviderContainerRegistry, registryAPIVersions)
	}
	if h.blobs != nil {
		h.mountOperations(add, ProviderStorage, storageAPIVersions)
	}
	h.mountRegistryExtras(mux)
	if h.blobs != nil {
		h.mountStorage(add)
	}
	if h.activity != nil {
		add("GET", pSub+"/providers/Microsoft.Insights/eventtypes/management/values", router.Action("Microsoft.Insights/eventtypes/values/read"),
			func(q *request) error { return h.activityLog(q.w, q.r, q.id.Subscription) })
	}
	if h.policy != nil {
		h.mountPolicy(add)
	}
	if h.rbac != nil {
		// Role objects are addressed at any scope: their handlers take the
		// scope and the object's name as the request parsed them.
		assignments := roleRoute(func(q *request) error { return h.listAssignments(q.w, q.r, q.scope) })
		assignment := roleRoute(func(q *request) error { return h.assignment(q.w, q.r, q.scope, q.authzName) })
		roles := roleRoute(func(q *request) error { return h.listRoles(q.w, q.r, q.scope) })
		role := roleRoute(func(q *request) error { return h.role(q.w, q.r, q.scope, q.authzName) })
		act := func(typ, verb string) router.Access { return router.Action(typ + "/" + verb) }
		add("GET", pAuthz+"/roleAssignments", act(TypeRoleAssignment, "read"), assignments)
		for _, m := range []struct{ method, verb string }{{"GET", "read"}, {"PUT", "write"}, {"DELETE", "delete"}} {
			add(m.method, pAuthz+"/roleAssignments/{roleAssignmentName}", act(TypeRoleAssignment, m.verb), assignment)
		}
		add("GET", pAuthz+"/roleDefinitions", act(TypeRoleDefinition, "read"), roles)
		add("GET", pAuthz+"/roleDefinitions/{roleDefinitionId}", act(TypeRoleDefinition, "read"), role)
		rule := "Microsoft.Authorization/roleDefinitions/write at every assignable scope of the role, before and after the change; '/' only for an Owner at '/'"
		add("PUT", pAuthz+"/roleDefinitions/{roleDefinitionId}", router.Handler(rule), role)
		add("DELETE", pAuthz+"/roleDefinitions/{roleDefinitionId}", router.Handler(rule), role)
		add("POST", pAuthz+"/checkAccess", router.Handler("a principal may check its own access; another's needs Microsoft.Authorization/roleAssignments/read at the resource"),
			roleRoute(func(q *request) error { return h.checkAccess(q.w, q.r) }))
	}
	mux.Handle(router.Route{Method: "GET", Pattern: "/metadata/endpoints", Access: router.Public("cloud metadata that az and the SDKs read before signing in"),
		Handler: http.HandlerFunc(h.serveMetadata), Protocol: metadataProtocol})

	notFound := armProtocol.Fallback(func(w http.ResponseWriter, r *http.Request, status int, allowed []string) {
		h.writeError(w, r, unrouted(r, status, allowed))
	})
	for _, prefix := range []string{"/subscriptions", "/providers/", "/metadata/"} {
		mux.NotFound("", prefix, notFound)
	}
}

// armProtocol is ARM on the wire for the mux: request and correlation IDs
// on every answer, a recovered panic as ARM's 500 naming the request ID.
var armProtocol = &router.Protocol{Name: "arm", RequestIDs: true, Internal: writeInternal}

// metadataProtocol serves /metadata/endpoints, which answers without
// request IDs (as before sign-in, like the real cloud's metadata host).
var metadataProtocol = &router.Protocol{Name: "arm-metadata", Internal: writeInternal}

func writeInternal(w http.ResponseWriter, _ *http.Request) {
	armerr.Write(w, armerr.Internal(w.Header().Get(router.HeaderRequestID)))
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
	case strings.ToLower(ProviderMSI), strings.ToLower(ProviderKeyVault), strings.ToLower(ProviderContainerService), strings.ToLower(ProviderHybridCompute), strings.ToLower(ProviderContainerRegistry), strings.ToLower(ProviderStorage), "microsoft.authorization", "microsoft.insights":
		return newError(http.StatusBadRequest, armerr.CodeInvalidResourceType, fmt.Sprintf("The resource type at '%s' could not be found in the namespace '%s'.", r.URL.Path, id.Provider))
	}
	return newError(http.StatusBadRequest, armerr.CodeInvalidResourceNS, fmt.Sprintf("The resource namespace '%s' is invalid or not served by Ward. Ward serves Microsoft.Resources, %s, %s, %s, %s, %s and Microsoft.Authorization.",
		id.Provider, ProviderMSI, ProviderKeyVault, ProviderContainerService, ProviderHybridCompute, ProviderContainerRegistry))
}
