package arm

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/vault"
)

const (
	ProviderKeyVault = "Microsoft.KeyVault"
	TypeVault        = resourceid.TypeVault
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

// toVault is a vault's answer: what Ward computes, with what the user
// declared filled in (echo.go). publicNetworkAccess is answered as sent;
// Ward serves a vault on its one listener whatever it says.
func (h *Handler) toVault(v storage.Vault) any {
	j := h.vaultView(v)
	var sent struct {
		Properties struct {
			PublicNetworkAccess string `json:"publicNetworkAccess"`
		} `json:"properties"`
	}
	if json.Unmarshal(v.Echo, &sent) == nil && sent.Properties.PublicNetworkAccess != "" {
		j.Properties.PublicNetworkAccess = sent.Properties.PublicNetworkAccess
	}
	return answerWith(j, v.Echo, nil)
}

func (h *Handler) vaultView(v storage.Vault) vaultJSON {
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
	declared
}

// vaultEchoDrop are the paths of a vault request not echoed: computed.
var vaultEchoDrop = [][]string{{"id"}, {"name"}, {"type"}, {"properties", "vaultUri"}, {"properties", "provisioningState"}}

// mountDeletedVaults serves Key Vault's soft-delete surface. Ward deletes
// a vault outright, secrets and all, the way Azure deletes and then purges
// one: it keeps no deleted vaults. So a deleted vault is never found (404,
// which Terraform's azurerm requires before it creates a vault), the list
// is empty, and purging a name that holds no live vault succeeds at once
// (202 with an operation already Succeeded) — the provider purges every
// vault it destroys, and Ward's delete already did. Purging the name of a live vault is 404, as in Azure: there
// is no deleted vault of that name.
func (h *Handler) mountDeletedVaults(add func(method, pattern string, a router.Access, fn func(*request) error)) {
	const base = pSub + "/providers/Microsoft.KeyVault"
	read := router.Action("Microsoft.KeyVault/locations/deletedVaults/read")
	notFound := func(q *request) error {
		return newError(http.StatusNotFound, armerr.CodeResourceNotFound, fmt.Sprintf(
			"The deleted vault '%s' was not found in location '%s': Ward deletes vaults outright and keeps none to recover or purge.",
			pathParam(q, "vaultName"), pathParam(q, "location")))
	}
	add("GET", base+"/deletedVaults", read, func(q *request) error {
		if err := checkAPIVersion(q.r, vaultAPIVersions, TypeVault); err != nil {
			return err
		}
		writeList(q.w, q.r, []any{}, "")
		return nil
	})
	add("GET", base+"/locations/{location}/deletedVaults/{vaultName}", read, func(q *request) error {
		if err := checkAPIVersion(q.r, vaultAPIVersions, TypeVault); err != nil {
			return err
		}
		return notFound(q)
	})
	add("POST", base+"/locations/{location}/deletedVaults/{vaultName}/purge", router.Action("Microsoft.KeyVault/locations/deletedVaults/purge/action"), func(q *request) error {
		if err := checkAPIVersion(q.r, vaultAPIVersions, TypeVault); err != nil {
			return err
		}
		if live, err := h.vaults.VaultExists(q.ctx(), pathParam(q, "vaultName")); err != nil {
			return err
		} else if live {
			return notFound(q)
		}
		// 202 pointing at a finished operation: go-azure-sdk polls a 200
		// without one as the deleted vault's provisioningState, which is 404.
		h.writeAcceptedDelete(q, ProviderKeyVault, pathParam(q, "location"))
		return nil
	})
}
