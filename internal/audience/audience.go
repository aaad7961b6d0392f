// Package audience names the token audiences Ward mints for and accepts, as
// Entra ID and Azure spell them: one place, so that a rename breaks a test
// instead of one copy. Tests keep the literal strings on purpose.
package audience

// TokenExchange is the audience Entra ID expects in a workload identity
// assertion (a federated credential's default audience).
const TokenExchange = "api://AzureADTokenExchange"

// The resources clients ask tokens for.
const (
	Management = "https://management.azure.com/"
	Vault      = "https://vault.azure.net"
)

// ManagementAliases lists every spelling of the management API's audience that
// ARM accepts, besides Ward's public URL.
func ManagementAliases() []string {
	return []string{"https://management.azure.com", "https://management.azure.com/",
		"https://management.core.windows.net", "https://management.core.windows.net/"}
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
