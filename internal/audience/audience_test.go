package audience

import (
	"slices"
	"testing"
)

// TestWireNames spells the names literally: renaming one breaks this test,
// not a client.
func TestWireNames(t *testing.T) {
	cases := []struct {
		name      string
		got, want []string
	}{
		{"token exchange", []string{TokenExchange}, []string{"api://AzureADTokenExchange"}},
		{"management", ManagementAliases(), []string{"https://management.azure.com", "https://management.azure.com/", "https://management.core.windows.net", "https://management.core.windows.net/"}},
		{"graph", GraphAliases(), []string{"https://graph.microsoft.com", "https://graph.microsoft.com/", "00000003-0000-0000-c000-000000000000", "https://graph.windows.net", "https://graph.windows.net/"}},
		{"vault", VaultAliases(), []string{"https://vault.azure.net", "https://vault.azure.net/"}},
	}
	for _, tc := range cases {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	if Management != "https://management.azure.com/" || ManagementCore != "https://management.core.windows.net/" {
		t.Errorf("Management = %q, ManagementCore = %q", Management, ManagementCore)
	}
	if got := DefaultScope(Management); got != "https://management.azure.com/.default" {
		t.Errorf("DefaultScope(Management) = %q", got)
	}
	if got := DefaultScope(Vault); got != "https://vault.azure.net/.default" {
		t.Errorf("DefaultScope(Vault) = %q", got)
	}
}
