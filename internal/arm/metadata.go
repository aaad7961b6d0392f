package arm

import (
	"net/http"

	"github.com/ward-id/ward/internal/audience"
	"github.com/ward-id/ward/internal/datahost"
)

// Cloud metadata: GET /metadata/endpoints, which tells a client where a
// cloud's services are before it signs in. Three generations of clients
// read it, each in its own shape:
//
//   - api-version 2022-09-01 and later, and no api-version: one object
//     (Terraform's go-azure-sdk, the current SDKs). go-azure-sdk treats a
//     cloud as Azure Stack, and refuses it, unless authentication.tenant is
//     "common" and identityProvider "AAD"; it needs suffixes.storage set.
//   - 2019-05-01 and 2020-06-01: an array of those objects, as Azure answers
//     them (az reads this shape from ARM_CLOUD_METADATA_URL: it iterates
//     the array and takes every endpoint and suffix from it).
//   - before 2019-05-01: the legacy object msrestazure reads for
//     `az cloud register --endpoint-resource-manager` (api-version
//     2015-01-01: galleryEndpoint, graphEndpoint, authentication).
//
// The object carries the legacy fields as well, so a client that reads
// either generation from it finds what it looks for.

// cloudName is the cloud's name in the metadata; it must not be
// AzureStackCloud, which go-azure-sdk refuses.
const cloudName = "Ward"

// cloudMetadata is the current object for a Ward at publicURL (no trailing
// slash).
func cloudMetadata(publicURL, acrSuffix, storageSuffix string) map[string]any {
	base := publicURL + "/"
	return map[string]any{
		"name":            cloudName,
		"portal":          base,
		"resourceManager": base,
		"authentication": map[string]any{
			"loginEndpoint": base,
			// az uses the first audience as the resource of its ARM tokens.
			"audiences":        []string{audience.ManagementCore, audience.Management, base},
			"tenant":           "common",
			"identityProvider": "AAD",
		},
		// Ward's Graph-shaped API is on the same listener; az uses
		// microsoftGraphResourceId both as Graph's base URL and as the
		// resource of its Graph tokens.
		"graph":                    base,
		"graphAudience":            base,
		"microsoftGraphResourceId": base,
		"media":                    "",
		"batch":                    "",
		"sqlManagement":            "",
		"vmImageAliasDoc":          "",
		"activeDirectoryDataLake":  "",
		"suffixes":                 metadataSuffixes(publicURL, acrSuffix, storageSuffix),
		// The legacy (2015-01-01) fields.
		"galleryEndpoint": "",
		"graphEndpoint":   base,
		"portalEndpoint":  base,
	}
}

// metadataSuffixes are the DNS suffixes clients append to a resource's
// name to reach its data plane (https://<name>.<suffix>). One entry per
// data plane Ward serves; a new data plane adds its suffix here (e.g. the
// container registry's acrLoginServer).
func metadataSuffixes(publicURL, acrSuffix, storageSuffix string) map[string]string {
	out := map[string]string{
		// Key Vault: https://<vault>.<keyVaultDns>/.
		"keyVaultDns": vaultSuffix(publicURL),
		// Storage: clients build https://<account>.blob.<storage>/. It
		// must not be empty (go-azure-sdk refuses the cloud).
		"storage": datahost.Suffix(publicURL, ""),
	}
	// The Blob data plane's own suffix when it serves (the same host and port).
	if storageSuffix != "" {
		out["storage"] = storageSuffix
	}
	// Container registries: https://<registry>.<acrLoginServer>/ (absent
	// when the server runs without registries).
	if acrSuffix != "" {
		out["acrLoginServer"] = acrSuffix
	}
	return out
}

// serveMetadata answers GET /metadata/endpoints in the shape the
// api-version asks for (see above). It needs no authentication.
func (h *Handler) serveMetadata(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query().Get("api-version")
	if v == "" {
		writeJSON(w, http.StatusOK, cloudMetadata(h.publicURL, h.acrSuffix(), h.storageSuffix()))
		return
	}
	if err := checkAPIVersion(r, metadataAPIVersions, "metadata"); err != nil {
		h.writeError(w, r, err)
		return
	}
	if v >= "2019-05-01" && v < "2022-09-01" {
		writeJSON(w, http.StatusOK, []map[string]any{cloudMetadata(h.publicURL, h.acrSuffix(), h.storageSuffix())})
		return
	}
	writeJSON(w, http.StatusOK, cloudMetadata(h.publicURL, h.acrSuffix(), h.storageSuffix()))
}

// vaultSuffix is the DNS suffix of Ward's vault hosts (vault.Hosts derives
// the same).
func vaultSuffix(publicURL string) string { return datahost.Suffix(publicURL, "vault") }
