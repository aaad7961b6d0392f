package arm

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/ward-id/ward/internal/armerr"
)

func TestCheckAPIVersion(t *testing.T) {
	known := []string{"2021-10-01", "2022-07-01-preview", "2023-07-01", "2025-05-01"}
	cases := []struct {
		name    string
		version string // "" sends no api-version
		typ     string
		code    string // "" when accepted
	}{
		{"known", "2023-07-01", TypeVault, ""},
		{"known preview", "2022-07-01-preview", TypeVault, ""},
		{"oldest known", "2021-10-01", TypeVault, ""},
		{"newest known", "2025-05-01", TypeVault, ""},
		{"newer than the newest", "2026-02-01", TypeVault, ""},
		{"newer preview", "2025-05-02-preview", TypeVault, ""},
		{"far future", "2099-12-31", TypeVault, ""},
		{"missing", "", TypeVault, armerr.CodeMissingAPIVersion},
		{"same date as the newest, as a preview", "2025-05-01-preview", TypeVault, armerr.CodeInvalidAPIVersion},
		{"between known ones", "2024-01-01", TypeVault, armerr.CodeInvalidAPIVersion},
		{"older than the oldest", "2015-06-01", TypeVault, armerr.CodeInvalidAPIVersion},
		{"malformed: no zero padding", "2026-2-1", TypeVault, armerr.CodeInvalidAPIVersion},
		{"malformed: not a date", "2026-02-30", TypeVault, armerr.CodeInvalidAPIVersion},
		{"malformed: month 13", "2026-13-01", TypeVault, armerr.CodeInvalidAPIVersion},
		{"malformed: other suffix", "2026-02-01-beta", TypeVault, armerr.CodeInvalidAPIVersion},
		{"malformed: upper-case suffix", "2026-02-01-PREVIEW", TypeVault, armerr.CodeInvalidAPIVersion},
		{"malformed: trailing text", "2026-02-01x", TypeVault, armerr.CodeInvalidAPIVersion},
		{"malformed: a word", "latest", TypeVault, armerr.CodeInvalidAPIVersion},
		{"malformed: data-plane style", "7.4", TypeVault, armerr.CodeInvalidAPIVersion},
		{"managed identity types answer as ARM does", "2015-06-01", TypeIdentity, armerr.CodeNoRegisteredProvider},
		{"managed identity types: newer accepted", "2030-01-31", TypeIdentity, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			target := "/subscriptions/s?"
			if tc.version != "" {
				target += url.Values{"api-version": {tc.version}}.Encode()
			}
			err := checkAPIVersion(httptest.NewRequest(http.MethodGet, target, nil), known, tc.typ)
			var ae *armerr.Error
			switch {
			case tc.code == "" && err != nil:
				t.Errorf("api-version %q (%s): refused with %v; want accepted", tc.version, tc.typ, err)
			case tc.code != "" && (!errors.As(err, &ae) || ae.Code != tc.code || ae.Status != http.StatusBadRequest):
				t.Errorf("api-version %q (%s): got %v; want 400 %s", tc.version, tc.typ, err, tc.code)
			}
		})
	}
}

// TestAPIVersionLists: every list is well formed, sorted and free of
// duplicates (so "newest" is its last entry), and holds what the clients
// Ward is tested with send today.
func TestAPIVersionLists(t *testing.T) {
	lists := map[string][]string{
		"subscriptions":        subscriptionAPIVersions,
		"resourceGroups":       resourceGroupAPIVersions,
		"identities":           identityAPIVersions,
		"federatedCredentials": federatedCredentialAPIVersions,
		"metadata":             metadataAPIVersions,
		"authorization":        authorizationAPIVersions,
		"vaults":               vaultAPIVersions,
		"managedClusters":      clusterAPIVersions,
		"activityLog":          activityAPIVersions,
	}
	for name, l := range lists {
		for i, v := range l {
			if _, ok := apiVersionDate(v); !ok {
				t.Errorf("%s: %q is not a well-formed api-version", name, v)
			}
			if i > 0 && l[i-1] >= v {
				t.Errorf("%s: %q follows %q: keep the list sorted and unique", name, v, l[i-1])
			}
		}
	}
	sent := []struct {
		client, list, version string
	}{
		{"az 2.45", "subscriptions", "2019-11-01"},
		{"Python azure-mgmt-resource 22", "subscriptions", "2021-01-01"},
		{"Go armsubscriptions 1.3, @azure/arm-resources-subscriptions 2.1", "subscriptions", "2022-12-01"},
		{"az 2.45, Go armresources 1.2", "resourceGroups", "2021-04-01"},
		{"Python azure-mgmt-resource 22", "resourceGroups", "2022-09-01"},
		{"Go armresources/v3 3.0, @azure/arm-resources 8.0", "resourceGroups", "2025-04-01"},
		{"Python azure-mgmt-msi 6.1 (default)", "identities", "2018-11-30"},
		{"az 2.45", "identities", "2022-01-31-preview"},
		{"Go armmsi 1.3, @azure/arm-msi 2.2", "identities", "2024-11-30"},
		{"az 2.45, Python azure-mgmt-msi 6.1", "federatedCredentials", "2022-01-31-preview"},
		{"Go armmsi 1.3, @azure/arm-msi 2.2", "federatedCredentials", "2024-11-30"},
		{"az 2.45 (role definitions)", "authorization", "2018-01-01-preview"},
		{"az 2.45 (role assignments)", "authorization", "2020-04-01-preview"},
		{"Go armauthorization/v2 2.2, @azure/arm-authorization 9.0, Python azure-mgmt-authorization 3.0", "authorization", "2022-04-01"},
		{"az 2.45, Python azure-mgmt-keyvault 10.1", "vaults", "2022-07-01"},
		{"Go armkeyvault 1.5", "vaults", "2024-11-01"},
		{"@azure/arm-keyvault 4.0", "vaults", "2025-05-01"},
		{"@azure/arm-keyvault 5.0", "vaults", "2026-02-01"},
		{"az 2.45, Python azure-mgmt-containerservice 21.1", "managedClusters", "2022-11-01"},
		{"Go armcontainerservice/v6 6.6", "managedClusters", "2025-02-01"},
		{"@azure/arm-containerservice 25.5", "managedClusters", "2026-06-01"},
		{"msrestazure (az cloud register)", "metadata", "2015-01-01"},
	}
	for _, s := range sent {
		if !slices.Contains(lists[s.list], s.version) {
			t.Errorf("%s sends %s api-version %s; add it to the list", s.client, s.list, s.version)
		}
	}
}
