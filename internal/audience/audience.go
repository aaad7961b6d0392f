// Package audience names the token audiences Ward mints for and accepts, as
// Entra ID and Azure spell them: one place, so that a rename breaks a test
// instead of one copy. Tests keep the literal strings on purpose.
package audience

import "strings"

// TokenExchange is the audience Entra ID expects in a workload identity
// assertion (a federated credential's default audience).
const TokenExchange = "api://AzureADTokenExchange"

// The resources clients ask tokens for.
const (
	Management = "https://management.azure.com/"
	// ManagementCore is the management API's older audience, which az
	// still asks for and cloud metadata lists first.
	ManagementCore = "https://management.core.windows.net/"
	Vault          = "https://vault.azure.net"
)

// ManagementAliases lists every spelling of the management API's audience that
// ARM accepts, besides Ward's public URL.
func ManagementAliases() []string {
	return []string{strings.TrimSuffix(Management, "/"), Management,
		strings.TrimSuffix(ManagementCore, "/"), ManagementCore}
}

// DefaultScope is the v2.0 scope that asks for a token for resource, as
// MSAL spells it: "https://management.azure.com/.default".
func DefaultScope(resource string) string {
	return strings.TrimSuffix(resource, "/") + "/.default"
}

// GraphAliases lists the audiences the directory (Graph-shaped) API
// accepts, besides Ward's public URL.
func GraphAliases() []string {
	return []string{"https://graph.microsoft.com", "https://graph.microsoft.com/",
		"00000003-0000-0000-c000-000000000000", "https://graph.windows.net", "https://graph.windows.net/"}
}

// VaultAliases lists the public Key Vault audiences a Ward vault accepts,
// besides its own resource URL.
func VaultAliases() []string {
	return []string{Vault, Vault + "/"}
}

// ContainerRegistry is the resource the ACR exchange expects a token for
// (the kubelet's credential provider asks for it); az acr login sends an
// ARM token instead, which the exchange accepts too.
const ContainerRegistry = "https://containerregistry.azure.net"

// RegistryAliases lists the audiences the registry token exchange accepts:
// the registry's own and the management API's, besides Ward's public URL.
func RegistryAliases() []string {
	return append([]string{ContainerRegistry, ContainerRegistry + "/"}, ManagementAliases()...)
}
