package arm_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/ward-id/ward/internal/server/servertest"
)

// TestCloudMetadata reads /metadata/endpoints as each generation of client
// does: Terraform's go-azure-sdk and current SDKs (2022-09-01, one object),
// az's ARM_CLOUD_METADATA_URL (2019-05-01, an array), msrestazure under
// `az cloud register` (2015-01-01, the legacy fields), and no api-version.
func TestCloudMetadata(t *testing.T) {
	s := servertest.Start(t)
	base := s.URL + "/"
	host := strings.TrimPrefix(s.URL, "https://127.0.0.1")
	cases := []struct {
		name, query string
		array       bool
	}{
		{"go-azure-sdk", "?api-version=2022-09-01", false},
		{"a later version", "?api-version=2025-01-01", false},
		{"no api-version", "", false},
		{"az ARM_CLOUD_METADATA_URL", "?api-version=2019-05-01", true},
		{"2020-06-01", "?api-version=2020-06-01", true},
		{"msrestazure", "?api-version=2015-01-01", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// No token: clients read it before signing in.
			resp, b := s.Do(t, "GET", "/metadata/endpoints"+tc.query, "", nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET = %d %s", resp.StatusCode, b)
			}
			var doc map[string]any
			if tc.array {
				var arr []map[string]any
				if err := json.Unmarshal(b, &arr); err != nil || len(arr) != 1 {
					t.Fatalf("want an array of one cloud, got %s (%v)", b, err)
				}
				doc = arr[0]
			} else if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatalf("want one object, got %s (%v)", b, err)
			}
			auth, _ := doc["authentication"].(map[string]any)
			suffixes, _ := doc["suffixes"].(map[string]any)
			auds, _ := auth["audiences"].([]any)
			checks := []struct {
				field string
				got   any
				want  any
			}{
				{"name", doc["name"], "Ward"},
				{"resourceManager", doc["resourceManager"], base},
				{"microsoftGraphResourceId", doc["microsoftGraphResourceId"], base},
				{"graphAudience", doc["graphAudience"], base},
				{"authentication.loginEndpoint", auth["loginEndpoint"], base},
				{"authentication.tenant", auth["tenant"], "common"},
				{"authentication.identityProvider", auth["identityProvider"], "AAD"},
				{"authentication.audiences[0]", first(auds), "https://management.core.windows.net/"},
				{"suffixes.keyVaultDns", suffixes["keyVaultDns"], "vault.localhost" + host},
				{"suffixes.storage", suffixes["storage"], "localhost" + host},
				{"graphEndpoint (legacy)", doc["graphEndpoint"], base},
				{"galleryEndpoint (legacy)", doc["galleryEndpoint"], ""},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %v, want %v (body %s)", c.field, c.got, c.want, b)
				}
			}
		})
	}
	for _, bad := range []string{"2021-01-01", "yesterday"} {
		resp, b := s.Do(t, "GET", "/metadata/endpoints?api-version="+bad, "", nil)
		if resp.StatusCode != http.StatusBadRequest || errorCode(t, b) != "InvalidApiVersionParameter" {
			t.Errorf("api-version %s = %d %s, want 400 InvalidApiVersionParameter", bad, resp.StatusCode, b)
		}
	}
}

func first(v []any) any {
	if len(v) == 0 {
		return nil
	}
	return v[0]
}
