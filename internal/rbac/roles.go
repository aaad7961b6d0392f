package rbac

// Permission is one permission block of a role definition.
type Permission struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

// RoleDefinition is a built-in or custom role.
type RoleDefinition struct {
	ID               string // GUID
	Name             string // roleName
	Type             string // BuiltInRole or CustomRole
	Description      string
	AssignableScopes []string
	Permissions      []Permission
}

// Role types.
const (
	BuiltInRole = "BuiltInRole"
	CustomRole  = "CustomRole"
)

// Built-in role IDs Ward relies on by name.
const (
	OwnerID                  = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	ContributorID            = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	ReaderID                 = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	KeyVaultSecretsUserID    = "4633458b-17de-408a-b874-0445c86b69e6"
	KeyVaultSecretsOfficerID = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
	AcrPullID                = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
	AcrPushID                = "8311e382-0749-4cb8-b61a-304f252e45ec"
	AcrDeleteID              = "c2f4ef07-c644-48eb-af81-4b1b4947fb11"
	// Storage Blob Data roles: the Blob data plane's dataActions.
	StorageBlobDataReaderID      = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
	StorageBlobDataContributorID = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
	StorageBlobDataOwnerID       = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
	// Directory roles. The first three carry the GUIDs of Entra's directory
	// role templates of the same names; Application Owner is Ward's: the
	// role a service principal's creator holds at the principal's own scope.
	ApplicationAdministratorID = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	ApplicationDeveloperID     = "cf1c38e5-3621-4004-a7cb-879624dced7c"
	ReportsReaderID            = "4a5d8f65-41da-4de4-8968-e035b65339cf"
	ApplicationOwnerID         = "dc72856d-7ea9-4413-93ac-e66e98a4852d"
)

var common = []string{"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.Resources/deployments/*",
	"Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*"}

func with(extra ...string) []string { return append(append([]string{}, extra...), common...) }

var builtIns = []RoleDefinition{
	{ID: OwnerID, Name: "Owner", Description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
		Permissions: []Permission{{Actions: []string{"*"}}}},
	{ID: ContributorID, Name: "Contributor", Description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
		Permissions: []Permission{{Actions: []string{"*"}, NotActions: []string{
			"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action",
			"Microsoft.Blueprint/blueprintAssignments/write", "Microsoft.Blueprint/blueprintAssignments/delete",
			"Microsoft.Compute/galleries/share/action", "Microsoft.Purview/consents/write", "Microsoft.Purview/consents/delete",
			"Microsoft.Resources/deploymentStacks/manageDenySetting/action", "Microsoft.Subscription/cancel/action", "Microsoft.Subscription/enable/action"}}}},
	{ID: ReaderID, Name: "Reader", Description: "View all resources, but does not allow you to make any changes.",
		Permissions: []Permission{{Actions: []string{"*/read"}}}},
	{ID: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", Name: "User Access Administrator", Description: "Lets you manage user access to Azure resources.",
		Permissions: []Permission{{Actions: []string{"*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"}}}},
	{ID: "f58310d9-a9f6-439a-9e8d-f62e7b41a168", Name: "Role Based Access Control Administrator", Description: "Manage access to Azure resources by assigning roles using Azure RBAC.",
		Permissions: []Permission{{Actions: []string{"Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete", "*/read", "Microsoft.Support/*"}}}},
	{ID: "4d97b98b-1d4f-4787-a291-c67834d212e7", Name: "Network Contributor", Description: "Lets you manage networks, but not access to them.",
		Permissions: []Permission{{Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.Network/*",
			"Microsoft.ResourceHealth/availabilityStatuses/read", "Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*"}}}},
	// The registry roles grant control-plane actions (not dataActions), as
	// Azure's do; the registry's token service checks them at the registry.
	{ID: AcrPullID, Name: "AcrPull", Description: "acr pull",
		Permissions: []Permission{{Actions: []string{"Microsoft.ContainerRegistry/registries/pull/read"}}}},
	{ID: AcrPushID, Name: "AcrPush", Description: "acr push",
		Permissions: []Permission{{Actions: []string{"Microsoft.ContainerRegistry/registries/pull/read", "Microsoft.ContainerRegistry/registries/push/write"}}}},
	{ID: AcrDeleteID, Name: "AcrDelete", Description: "acr delete",
		Permissions: []Permission{{Actions: []string{"Microsoft.ContainerRegistry/registries/artifacts/delete"}}}},
	{ID: KeyVaultSecretsUserID, Name: "Key Vault Secrets User", Description: "Read secret contents. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		Permissions: []Permission{{DataActions: []string{"Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"}}}},
	{ID: KeyVaultSecretsOfficerID, Name: "Key Vault Secrets Officer", Description: "Perform any action on the secrets of a key vault, except manage permissions. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		Permissions: []Permission{{Actions: with("Microsoft.KeyVault/checkNameAvailability/read", "Microsoft.KeyVault/deletedVaults/read",
			"Microsoft.KeyVault/locations/*/read", "Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/operations/read"),
			DataActions: []string{"Microsoft.KeyVault/vaults/secrets/*"}}}},
	{ID: StorageBlobDataReaderID, Name: "Storage Blob Data Reader", Description: "Read and list Azure Storage containers and blobs.",
		Permissions: []Permission{{Actions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/read", "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"},
			DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"}}}},
	{ID: StorageBlobDataContributorID, Name: "Storage Blob Data Contributor", Description: "Read, write, and delete Azure Storage containers and blobs.",
		Permissions: []Permission{{Actions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/delete", "Microsoft.Storage/storageAccounts/blobServices/containers/read",
			"Microsoft.Storage/storageAccounts/blobServices/containers/write", "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"},
			DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
				"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
				"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action"}}}},
	{ID: StorageBlobDataOwnerID, Name: "Storage Blob Data Owner", Description: "Provides full access to Azure Storage blob containers and data, including assigning POSIX access control.",
		Permissions: []Permission{{Actions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/*", "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"},
			DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"}}}},
	{ID: "17d1049b-9a84-46fb-8f53-869881c3d3ab", Name: "Storage Account Contributor", Description: "Permits management of storage accounts. Provides access to the account key, which can be used to access data via Shared Key authorization.",
		Permissions: []Permission{{Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.Insights/diagnosticSettings/*", "Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action",
			"Microsoft.ResourceHealth/availabilityStatuses/read", "Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read",
			"Microsoft.Storage/storageAccounts/*", "Microsoft.Support/*"}}}},
	{ID: "3913510d-42f4-4e42-8a64-420c390055eb", Name: "Monitoring Metrics Publisher", Description: "Enables publishing metrics against Azure resources.",
		Permissions: []Permission{{Actions: []string{"Microsoft.Insights/Register/Action", "Microsoft.Support/*", "Microsoft.Resources/subscriptions/resourceGroups/read"},
			DataActions: []string{"Microsoft.Insights/Metrics/Write", "Microsoft.Insights/Telemetry/Write"}}}},
	{ID: "f1a07417-d97a-45cb-824c-7a7467783830", Name: "Managed Identity Operator", Description: "Read and Assign User Assigned Identity",
		Permissions: []Permission{{Actions: with("Microsoft.ManagedIdentity/userAssignedIdentities/*/read", "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action")}}},
	{ID: "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59", Name: "Managed Identity Contributor", Description: "Create, Read, Update, and Delete User Assigned Identity",
		Permissions: []Permission{{Actions: with("Microsoft.ManagedIdentity/userAssignedIdentities/read", "Microsoft.ManagedIdentity/userAssignedIdentities/write",
			"Microsoft.ManagedIdentity/userAssignedIdentities/delete", "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read",
			"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write", "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/delete",
			"Microsoft.ManagedIdentity/userAssignedIdentities/revokeTokens/action")}}},
	{ID: ApplicationAdministratorID, Name: "Application Administrator", Description: "Create and manage every service principal in the directory, including their credentials (Ward: within the roles the caller could assign itself).",
		Permissions: []Permission{{Actions: []string{"Microsoft.Directory/servicePrincipals/*"}}}},
	{ID: ApplicationDeveloperID, Name: "Application Developer", Description: "Create service principals; the creator becomes their owner and manages them and their credentials.",
		Permissions: []Permission{{Actions: []string{"Microsoft.Directory/servicePrincipals/create"}}}},
	{ID: ReportsReaderID, Name: "Reports Reader", Description: "Read the sign-in log.",
		Permissions: []Permission{{Actions: []string{"Microsoft.Directory/auditLogs/read"}}}},
	{ID: ApplicationOwnerID, Name: "Application Owner", Description: "Owner of one service principal (assigned at its scope /providers/Microsoft.Directory/servicePrincipals/{objectId}): read, update, delete and manage its credentials.",
		Permissions: []Permission{{Actions: []string{"Microsoft.Directory/servicePrincipals/read", "Microsoft.Directory/servicePrincipals/update",
			"Microsoft.Directory/servicePrincipals/delete", "Microsoft.Directory/servicePrincipals/credentials/update"}}}},
}

// BuiltInRoles returns Azure's built-in roles Ward serves, with their real
// GUIDs and permissions, normalized (type, assignable scopes, empty lists).
func BuiltInRoles() []RoleDefinition {
	out := make([]RoleDefinition, len(builtIns))
	for i, r := range builtIns {
		r.Type = BuiltInRole
		r.AssignableScopes = []string{"/"}
		perms := make([]Permission, len(r.Permissions))
		for j, p := range r.Permissions {
			for _, l := range []*[]string{&p.Actions, &p.NotActions, &p.DataActions, &p.NotDataActions} {
				if *l == nil {
					*l = []string{}
				}
			}
			perms[j] = p
		}
		r.Permissions = perms
		out[i] = r
	}
	return out
}
