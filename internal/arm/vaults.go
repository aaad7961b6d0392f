package arm

import (
	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/vault"
)

const (
	ProviderKeyVault = "Microsoft.KeyVault"
	TypeVault        = "Microsoft.KeyVault/vaults"
)

// vaultAPIVersions: az 2.45 and azure-mgmt-keyvault 10.1 send 2022-07-01
// (the package also knows 2016-10-01 to 2021-10-01), Go armkeyvault 1.5
// 2024-11-01, @azure/arm-keyvault 4.0 2025-05-01 and 5.0 2026-02-01.
var vaultAPIVersions = []string{"2016-10-01", "2018-02-14", "2019-09-01", "2020-04-01-preview", "2021-04-01-preview", "2021-06-01-preview",
	"2021-10-01", "2022-07-01", "2023-02-01", "2023-07-01", "2024-04-01-preview", "2024-11-01", "2024-12-01-preview", "2025-05-01", "2026-02-01"}

type vaultJSON struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties struct {
		TenantID string `json:"tenantId"`
		SKU      struct {
			Family string `json:"family"`
			Name   string `json:"name"`
		} `json:"sku"`
		AccessPolicies          []struct{} `json:"accessPolicies"`
		EnableRbacAuthorization bool       `json:"enableRbacAuthorization"`
		VaultURI                string     `json:"vaultUri"`
		ProvisioningState       string     `json:"provisioningState"`
		PublicNetworkAccess     string     `json:"publicNetworkAccess"`
	} `json:"properties"`
}

func (h *Handler) toVault(v storage.Vault) vaultJSON {
	j := vaultJSON{ID: vault.ResourceID(v), Name: v.Name, Type: TypeVault, Location: v.Location, Tags: v.Tags}
	if j.Tags == nil {
		j.Tags = map[string]string{}
	}
	p := &j.Properties
	p.TenantID, p.SKU.Family, p.SKU.Name = v.TenantID, "A", v.SKU
	p.AccessPolicies, p.EnableRbacAuthorization = []struct{}{}, true
	p.VaultURI, p.ProvisioningState, p.PublicNetworkAccess = h.vaults.Hosts.URI(v.Name), "Succeeded", "Enabled"
	return j
}

type vaultBody struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties *struct {
		TenantID string `json:"tenantId"`
		SKU      struct {
			Name string `json:"name"`
		} `json:"sku"`
	} `json:"properties"`
}
