// Package resourceid parses and formats Azure Resource Manager resource IDs
// and scopes the way ARM does: segment names (subscriptions, resourceGroups,
// providers, resource types) and resource names compare case-insensitively,
// while the original spelling is kept for display.
package resourceid

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is returned for a string that is not an ARM resource ID or scope.
var ErrInvalid = errors.New("invalid resource id")

// TypeName is one "type/name" pair below a provider namespace.
type TypeName struct {
	Type string
	Name string // empty for a collection path such as .../userAssignedIdentities
}

// ID is a parsed ARM path: the root "/", a subscription, a resource group, or
// a resource (possibly nested) under a provider namespace.
type ID struct {
	Subscription  string
	ResourceGroup string
	// Provider is the namespace after "/providers/", e.g. Microsoft.ManagedIdentity.
	Provider string
	// Types holds the type/name pairs below the provider, outermost first.
	Types []TypeName
	// Collection is set when the path names a collection instead of one item:
	// "resourcegroups" under a subscription, or a resource type with no name.
	Collection string
}

// Parse splits an ARM path such as
// /subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id/federatedIdentityCredentials/f.
// A trailing collection name (e.g. ".../federatedIdentityCredentials") is
// reported in Collection. Parse does not decide whether a type exists; callers do.
func Parse(path string) (ID, error) {
	var id ID
	p := strings.Trim(path, "/")
	if p == "" {
		return id, nil
	}
	segs := strings.Split(p, "/")
	for _, s := range segs {
		if s == "" {
			return ID{}, fmt.Errorf("%w: empty segment in %q", ErrInvalid, path)
		}
	}
	i := 0
	if strings.EqualFold(segs[i], "subscriptions") {
		if i+1 >= len(segs) {
			id.Collection = "subscriptions"
			return id, nil
		}
		id.Subscription = segs[i+1]
		i += 2
		if i < len(segs) && strings.EqualFold(segs[i], "resourceGroups") {
			if i+1 >= len(segs) {
				id.Collection = "resourceGroups"
				return id, nil
			}
			id.ResourceGroup = segs[i+1]
			i += 2
		}
	}
	if i >= len(segs) {
		return id, nil
	}
	if !strings.EqualFold(segs[i], "providers") {
		return ID{}, fmt.Errorf("%w: unexpected segment %q in %q", ErrInvalid, segs[i], path)
	}
	if i+1 >= len(segs) {
		return ID{}, fmt.Errorf("%w: missing provider namespace in %q", ErrInvalid, path)
	}
	id.Provider = segs[i+1]
	i += 2
	for i < len(segs) {
		if strings.EqualFold(segs[i], "providers") {
			// Extension resources (/providers/X/.../providers/Y/...) belong to
			// later features; refuse them clearly rather than misroute.
			return ID{}, fmt.Errorf("%w: extension resources are not supported in %q", ErrInvalid, path)
		}
		if i+1 >= len(segs) {
			id.Collection = segs[i]
			return id, nil
		}
		id.Types = append(id.Types, TypeName{Type: segs[i], Name: segs[i+1]})
		i += 2
	}
	return id, nil
}

// TypeMatches reports whether the ID's provider and type chain equal the given
// fully qualified type, e.g. "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
// case-insensitively. The collection segment, if any, counts as the last type.
func (id ID) TypeMatches(fullType string) bool {
	parts := strings.Split(fullType, "/")
	if len(parts) < 2 || !strings.EqualFold(parts[0], id.Provider) {
		return false
	}
	types := make([]string, 0, len(id.Types)+1)
	for _, t := range id.Types {
		types = append(types, t.Type)
	}
	if id.Collection != "" {
		types = append(types, id.Collection)
	}
	if len(types) != len(parts)-1 {
		return false
	}
	for i, t := range types {
		if !strings.EqualFold(t, parts[i+1]) {
			return false
		}
	}
	return true
}

// SubscriptionID formats /subscriptions/{sub}.
func SubscriptionID(sub string) string { return "/subscriptions/" + sub }

// ResourceGroupID formats a resource group ID with ARM's canonical spelling.
func ResourceGroupID(sub, rg string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg
}

// Resource types as ARM spells them; a type's RBAC actions are the type
// followed by /read, /write, /delete or /<operation>/action.
const (
	TypeResourceGroup       = "Microsoft.Resources/resourceGroups"
	TypeIdentity            = "Microsoft.ManagedIdentity/userAssignedIdentities"
	TypeFederatedCredential = TypeIdentity + "/federatedIdentityCredentials"
	TypeManagedCluster      = "Microsoft.ContainerService/managedClusters"
	TypeVault               = "Microsoft.KeyVault/vaults"
	TypeRegistry            = "Microsoft.ContainerRegistry/registries"
	TypeStorageAccount      = "Microsoft.Storage/storageAccounts"
	TypeMachine             = "Microsoft.HybridCompute/machines"
	TypeRoleAssignment      = "Microsoft.Authorization/roleAssignments"
	TypeRoleDefinition      = "Microsoft.Authorization/roleDefinitions"
	// TypeActivityLog is the Azure Monitor activity log collection.
	TypeActivityLog = "Microsoft.Insights/eventtypes/values"
)

// ResourceID formats the ID of a top-level resource of type typ (a
// provider and one type, e.g. TypeVault) in a group.
func ResourceID(sub, rg, typ, name string) string {
	return ResourceGroupID(sub, rg) + "/providers/" + typ + "/" + name
}

// ClusterID formats a managed cluster's ID.
func ClusterID(sub, rg, name string) string { return ResourceID(sub, rg, TypeManagedCluster, name) }

// VaultID formats a key vault's ID.
func VaultID(sub, rg, name string) string { return ResourceID(sub, rg, TypeVault, name) }

// RegistryID formats a container registry's ID.
func RegistryID(sub, rg, name string) string { return ResourceID(sub, rg, TypeRegistry, name) }

// ReturnedID formats a top-level resource's ID as ARM returns it for
// identities and managed clusters: with a lower-case "resourcegroups"
// segment (clients treat IDs case-insensitively).
func ReturnedID(sub, rg, typ, name string) string {
	return "/subscriptions/" + sub + "/resourcegroups/" + rg + "/providers/" + typ + "/" + name
}

// IdentityID formats a user-assigned identity ID, as ARM returns it.
func IdentityID(sub, rg, name string) string { return ReturnedID(sub, rg, TypeIdentity, name) }

// FederatedCredentialID formats the ID of a federated identity credential.
func FederatedCredentialID(sub, rg, identity, name string) string {
	return IdentityID(sub, rg, identity) + "/federatedIdentityCredentials/" + name
}

// Key returns the case-folded form of an ID, used as a storage key so that
// lookups are case-insensitive like ARM's.
func Key(id string) string { return strings.ToLower(id) }
