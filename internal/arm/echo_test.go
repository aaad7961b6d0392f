package arm_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ward-id/ward/internal/server/servertest"
)

// TestRegistryAndStorageAccountEcho: a registry and a storage account
// answer every property their PUT declared that Ward does not model, on
// PUT, GET and list; a PATCH merges into what was declared; a PUT replaces
// it; and what Ward computes (id, provisioningState, loginServer,
// primaryEndpoints, …) is never taken from the request.
func TestRegistryAndStorageAccountEcho(t *testing.T) {
	s := servertest.Start(t)
	tok := s.Token(t, "https://management.azure.com/")
	if _, _, err := s.Client.CreateOrUpdateGroup(context.Background(), s.Admin.SubscriptionID, "rg", "westeurope", nil); err != nil {
		t.Fatal(err)
	}
	group := "/subscriptions/" + s.Admin.SubscriptionID + "/resourceGroups/rg"
	for _, tc := range []struct {
		name, path, version string
		created             int
		// declared are properties Ward stores but does not act on; each
		// must read back as sent.
		declared string
		// forged are computed properties a request may carry; forgedWant
		// maps a path of the answer to the value Ward must answer instead.
		forged     string
		forgedWant map[string]string
		// patch changes one declared property and removes another (null);
		// patchWant is what the answer then holds at a path ("" absent),
		// and kept a declared property the PATCH left alone.
		patch     string
		patchWant map[string]string
		kept      string
		// defaults are what an undeclared property answers with.
		defaults map[string]string
	}{{
		name: "registry", path: group + "/providers/Microsoft.ContainerRegistry/registries/echoacr", version: "?api-version=2023-11-01-preview", created: http.StatusCreated,
		declared: `{"location":"westeurope","tags":{"env":"test"},"sku":{"name":"Premium"},"properties":{"adminUserEnabled":false,
			"publicNetworkAccess":"Disabled","zoneRedundancy":"Enabled","networkRuleBypassOptions":"None","anonymousPullEnabled":false,
			"networkRuleSet":{"defaultAction":"Deny","ipRules":[{"action":"Allow","value":"203.0.113.0/24"}]},
			"policies":{"quarantinePolicy":{"status":"disabled"},"trustPolicy":{"type":"Notary","status":"disabled"},
				"retentionPolicy":{"days":7,"status":"enabled"},"exportPolicy":{"status":"enabled"}}}}`,
		forged: `{"location":"westeurope","id":"/subscriptions/x/resourceGroups/evil/providers/Microsoft.ContainerRegistry/registries/evil",
			"name":"evil","type":"Microsoft.Evil/things","properties":{"loginServer":"evil.example.com","provisioningState":"Failed",
			"creationDate":"2000-01-01T00:00:00Z","roleAssignmentMode":"AbacRepositoryPermissions","adminUserEnabled":false}}`,
		forgedWant: map[string]string{"name": "echoacr", "type": "Microsoft.ContainerRegistry/registries", "properties.provisioningState": "Succeeded",
			"properties.roleAssignmentMode": "LegacyRegistryPermissions"},
		patch:     `{"tags":{"env":"prod"},"properties":{"publicNetworkAccess":"Enabled","zoneRedundancy":null,"networkRuleSet":{"defaultAction":"Allow"}}}`,
		patchWant: map[string]string{"properties.publicNetworkAccess": "Enabled", "properties.zoneRedundancy": "Disabled", "properties.networkRuleSet.defaultAction": "Allow", "tags.env": "prod"},
		kept:      "properties.policies.retentionPolicy.days",
		defaults:  map[string]string{"properties.publicNetworkAccess": "Enabled", "properties.zoneRedundancy": "Disabled", "properties.networkRuleBypassOptions": "AzureServices"},
	}, {
		name: "storage account", path: group + "/providers/Microsoft.Storage/storageAccounts/echosa", version: "?api-version=2025-08-01", created: http.StatusOK,
		declared: `{"location":"westeurope","tags":{"env":"test"},"kind":"StorageV2","sku":{"name":"Standard_LRS"},"properties":{
			"allowSharedKeyAccess":false,"minimumTlsVersion":"TLS1_0","allowBlobPublicAccess":true,"publicNetworkAccess":"Disabled",
			"supportsHttpsTrafficOnly":false,"accessTier":"Cool","isHnsEnabled":false,"defaultToOAuthAuthentication":true,
			"networkAcls":{"bypass":"AzureServices","defaultAction":"Deny","ipRules":[{"value":"203.0.113.7","action":"Allow"}],"virtualNetworkRules":[]},
			"encryption":{"keySource":"Microsoft.Storage","services":{"blob":{"enabled":true,"keyType":"Account"}}}}}`,
		forged: `{"location":"westeurope","id":"/evil","name":"evil","kind":"StorageV2","properties":{"provisioningState":"Failed",
			"primaryEndpoints":{"blob":"https://evil.example.com/","dfs":"https://evil.example.com/"},"primaryLocation":"eastus",
			"statusOfPrimary":"unavailable","creationTime":"2000-01-01T00:00:00Z"}}`,
		forgedWant: map[string]string{"name": "echosa", "type": "Microsoft.Storage/storageAccounts", "properties.provisioningState": "Succeeded",
			"properties.primaryLocation": "westeurope", "properties.statusOfPrimary": "available", "properties.primaryEndpoints.dfs": ""},
		patch:     `{"properties":{"minimumTlsVersion":"TLS1_2","allowBlobPublicAccess":null,"networkAcls":{"defaultAction":"Allow"}}}`,
		patchWant: map[string]string{"properties.minimumTlsVersion": "TLS1_2", "properties.allowBlobPublicAccess": "false", "properties.networkAcls.defaultAction": "Allow", "tags.env": "test"},
		kept:      "properties.networkAcls.ipRules",
		defaults:  map[string]string{"properties.minimumTlsVersion": "TLS1_2", "properties.publicNetworkAccess": "Enabled", "properties.allowBlobPublicAccess": "false", "properties.accessTier": "Hot"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			do := func(method, path, body string, want int) map[string]any {
				t.Helper()
				var r io.Reader
				if body != "" {
					r = strings.NewReader(body)
				}
				resp, b := s.Do(t, method, path, tok, r)
				if resp.StatusCode != want {
					t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, b, want)
				}
				var m map[string]any
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatalf("%s %s: %v in %s", method, path, err, b)
				}
				return m
			}
			var sent map[string]any
			if err := json.Unmarshal([]byte(tc.declared), &sent); err != nil {
				t.Fatal(err)
			}
			list := func() map[string]any {
				t.Helper()
				page := do("GET", tc.path[:strings.LastIndex(tc.path, "/")]+tc.version, "", http.StatusOK)
				for _, v := range page["value"].([]any) {
					if m := v.(map[string]any); strings.EqualFold(m["id"].(string), tc.path) {
						return m
					}
				}
				t.Fatalf("list lacks %s: %v", tc.path, page)
				return nil
			}
			answers := map[string]map[string]any{
				"PUT": do("PUT", tc.path+tc.version, tc.declared, tc.created),
				"GET": do("GET", tc.path+tc.version, "", http.StatusOK),
			}
			answers["list"] = list()
			for what, got := range answers {
				for _, d := range diffSent("", sent, got) {
					t.Errorf("%s: %s", what, d)
				}
				if id, _ := got["id"].(string); !strings.EqualFold(id, tc.path) {
					t.Errorf("%s: id = %q, want %s", what, id, tc.path)
				}
			}

			// A PATCH merges into what was declared.
			got := do("PATCH", tc.path+tc.version, tc.patch, http.StatusOK)
			for what, got := range map[string]map[string]any{"PATCH": got, "GET after PATCH": do("GET", tc.path+tc.version, "", http.StatusOK)} {
				for path, want := range tc.patchWant {
					if v := at(got, path); v != want {
						t.Errorf("%s: %s = %q, want %q", what, path, v, want)
					}
				}
				if at(got, tc.kept) == "" {
					t.Errorf("%s dropped %s, which it did not name: %v", what, tc.kept, got["properties"])
				}
			}

			// A PUT replaces it, and cannot set what Ward computes.
			for what, got := range map[string]map[string]any{"PUT": do("PUT", tc.path+tc.version, tc.forged, http.StatusOK), "GET": do("GET", tc.path+tc.version, "", http.StatusOK)} {
				if id, _ := got["id"].(string); !strings.EqualFold(id, tc.path) {
					t.Errorf("forged %s: id = %q, want %s", what, id, tc.path)
				}
				for path, want := range tc.forgedWant {
					if v := at(got, path); v != want {
						t.Errorf("forged %s: %s = %q, want %q", what, path, v, want)
					}
				}
				for path, want := range tc.defaults {
					if v := at(got, path); v != want {
						t.Errorf("forged %s (declares none): %s = %q, want the default %q", what, path, v, want)
					}
				}
				if b, _ := json.Marshal(got); strings.Contains(string(b), "evil") || strings.Contains(string(b), "2000-01-01") || strings.Contains(string(b), "Failed") {
					t.Errorf("forged %s answers a forged value: %s", what, b)
				}
			}
		})
	}
}

// at is the value at a dotted path of an answer, as text ("" when absent).
func at(m map[string]any, path string) string {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		if v, ok = o[k]; !ok {
			return ""
		}
	}
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestBlobServiceEcho: an account's blobServices/default answers what its
// PUTs declared (as Terraform's blob_properties sends them) over Azure's
// defaults; a later PUT merges into it, a PUT of the account keeps it, and
// the id and name stay Ward's.
func TestBlobServiceEcho(t *testing.T) {
	s := servertest.Start(t)
	tok := s.Token(t, "https://management.azure.com/")
	if _, _, err := s.Client.CreateOrUpdateGroup(context.Background(), s.Admin.SubscriptionID, "rg", "westeurope", nil); err != nil {
		t.Fatal(err)
	}
	acct := "/subscriptions/" + s.Admin.SubscriptionID + "/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/echoblobsa"
	svc := acct + "/blobServices/default"
	const v = "?api-version=2025-08-01"
	if resp, b := s.Do(t, "PUT", acct+v, tok, strings.NewReader(`{"location":"westeurope","sku":{"name":"Standard_LRS"},"kind":"StorageV2"}`)); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT account = %d %s", resp.StatusCode, b)
	}
	get := func(what string) map[string]any {
		t.Helper()
		resp, b := s.Do(t, "GET", svc+v, tok, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: GET = %d %s", what, resp.StatusCode, b)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	put := func(body string, want int) {
		t.Helper()
		if resp, b := s.Do(t, "PUT", svc+v, tok, strings.NewReader(body)); resp.StatusCode != want {
			t.Fatalf("PUT %s = %d %s, want %d", body, resp.StatusCode, b, want)
		}
	}
	for _, step := range []struct {
		name, put string
		want      map[string]string
	}{
		{"defaults", "", map[string]string{"properties.isVersioningEnabled": "false", "properties.deleteRetentionPolicy.enabled": "false", "properties.cors.corsRules": "[]", "name": "default"}},
		{"declared", `{"id":"/evil","name":"evil","properties":{"isVersioningEnabled":true,"deleteRetentionPolicy":{"enabled":true,"days":7},
			"changeFeed":{"enabled":false},"lastAccessTimeTrackingPolicy":{"enable":false},"cors":{"corsRules":[{"allowedOrigins":["https://a.example"],"allowedMethods":["GET"],"allowedHeaders":["*"],"exposedHeaders":["*"],"maxAgeInSeconds":60}]}}}`,
			map[string]string{"properties.isVersioningEnabled": "true", "properties.deleteRetentionPolicy.days": "7", "properties.changeFeed.enabled": "false",
				"properties.lastAccessTimeTrackingPolicy.enable": "false", "properties.cors.corsRules": `[{"allowedHeaders":["*"],"allowedMethods":["GET"],"allowedOrigins":["https://a.example"],"exposedHeaders":["*"],"maxAgeInSeconds":60}]`,
				"name": "default", "id": acct + "/blobServices/default"}},
		{"merged", `{"properties":{"containerDeleteRetentionPolicy":{"enabled":true,"days":3}}}`,
			map[string]string{"properties.isVersioningEnabled": "true", "properties.containerDeleteRetentionPolicy.days": "3", "properties.deleteRetentionPolicy.days": "7"}},
	} {
		if step.put != "" {
			put(step.put, http.StatusOK)
		}
		got := get(step.name)
		for path, want := range step.want {
			if g := at(got, path); g != want {
				t.Errorf("%s: %s = %s, want %s", step.name, path, g, want)
			}
		}
	}
	// A PUT of the account leaves its blob service alone.
	if resp, b := s.Do(t, "PUT", acct+v, tok, strings.NewReader(`{"location":"westeurope","sku":{"name":"Standard_LRS"},"kind":"StorageV2","tags":{"a":"b"}}`)); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT account again = %d %s", resp.StatusCode, b)
	}
	if g := at(get("after the account's PUT"), "properties.isVersioningEnabled"); g != "true" {
		t.Errorf("after the account's PUT, isVersioningEnabled = %s, want true", g)
	}
	s.RunCases(t, []servertest.Case{
		{Name: "not an object", Method: "PUT", Path: svc + v, Token: tok, Body: `[1]`, Status: http.StatusBadRequest, Code: "InvalidRequestContent"},
		{Name: "not JSON", Method: "PUT", Path: svc + v, Token: tok, Body: `{`, Status: http.StatusBadRequest, Code: "InvalidRequestContent"},
		{Name: "an absent account", Method: "PUT", Path: strings.Replace(svc, "echoblobsa", "absentsa", 1) + v, Token: tok, Body: `{"properties":{}}`, Status: http.StatusNotFound},
		{Name: "anonymous", Method: "PUT", Path: svc + v, Body: `{"properties":{}}`, Status: http.StatusUnauthorized},
	})
}

// TestAgentPoolEcho: a node pool answers what its PUT declared (vmSize,
// count, labels, …: azurerm_kubernetes_cluster_node_pool reads them back),
// Ward's own fields win over a forged body, and a later PUT replaces what
// an earlier one declared.
func TestAgentPoolEcho(t *testing.T) {
	s := servertest.Start(t)
	tok := s.Token(t, "https://management.azure.com/")
	if _, _, err := s.Client.CreateOrUpdateGroup(context.Background(), s.Admin.SubscriptionID, "rg", "westeurope", nil); err != nil {
		t.Fatal(err)
	}
	const v = "?api-version=2025-02-01"
	cl := "/subscriptions/" + s.Admin.SubscriptionID + "/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1"
	if resp, b := s.Do(t, "PUT", cl+v, tok, strings.NewReader(`{"location":"westeurope"}`)); resp.StatusCode/100 != 2 {
		t.Fatalf("PUT cluster = %d %s", resp.StatusCode, b)
	}
	pool := cl + "/agentPools/pool2"
	call := func(method, body string) map[string]any {
		t.Helper()
		var r io.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		resp, b := s.Do(t, method, pool+v, tok, r)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s pool = %d %s", method, resp.StatusCode, b)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	declared := `{"id":"/evil","name":"evil","properties":{"vmSize":"Standard_D2s_v3","count":3,"mode":"User","maxPods":30,
		"nodeLabels":{"team":"a"},"provisioningState":"Failed","wardAgentServiceAccount":"kube-system/evil"}}`
	for _, step := range []struct {
		name, method, body string
		want               map[string]string
	}{
		{"PUT", "PUT", declared, map[string]string{"properties.vmSize": "Standard_D2s_v3", "properties.count": "3", "properties.maxPods": "30",
			"properties.nodeLabels.team": "a", "properties.mode": "User", "name": "pool2",
			"properties.provisioningState": "Succeeded", "properties.wardAgentServiceAccount": "ward-system/ward-agent-pool2"}},
		{"GET", "GET", "", map[string]string{"properties.vmSize": "Standard_D2s_v3", "properties.count": "3", "name": "pool2"}},
		{"PUT again replaces", "PUT", `{"properties":{"vmSize":"Standard_D4s_v3"}}`, map[string]string{"properties.vmSize": "Standard_D4s_v3", "properties.count": ""}},
		{"GET after", "GET", "", map[string]string{"properties.vmSize": "Standard_D4s_v3", "properties.count": "", "properties.nodeLabels": ""}},
	} {
		got := call(step.method, step.body)
		for path, want := range step.want {
			if g := at(got, path); g != want {
				t.Errorf("%s: %s = %q, want %q", step.name, path, g, want)
			}
		}
	}
	// AKS deletes a pool as a long-running operation: 202, then 204 once
	// it is gone (go-azure-sdk takes nothing else).
	for _, want := range []int{http.StatusAccepted, http.StatusNoContent} {
		if resp, b := s.Do(t, "DELETE", pool+v, tok, nil); resp.StatusCode != want {
			t.Fatalf("DELETE pool = %d %s, want %d", resp.StatusCode, b, want)
		}
	}
}

// TestGroupManagedBy: a resource group answers the managedBy its PUT
// declared (Terraform's managed_by); a PATCH without it keeps it, a PUT
// without it clears it, as ARM does.
func TestGroupManagedBy(t *testing.T) {
	s := servertest.Start(t)
	tok := s.Token(t, "https://management.azure.com/")
	g := "/subscriptions/" + s.Admin.SubscriptionID + "/resourceGroups/rg-managed?api-version=2021-04-01"
	owner := "/subscriptions/" + s.Admin.SubscriptionID + "/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1"
	for _, step := range []struct {
		name, method, body, want string
	}{
		{"PUT", "PUT", `{"location":"westeurope","managedBy":"` + owner + `"}`, owner},
		{"GET", "GET", "", owner},
		{"PATCH tags only", "PATCH", `{"tags":{"a":"b"}}`, owner},
		{"PUT without", "PUT", `{"location":"westeurope"}`, ""},
		{"GET after", "GET", "", ""},
	} {
		var r io.Reader
		if step.body != "" {
			r = strings.NewReader(step.body)
		}
		resp, b := s.Do(t, step.method, g, tok, r)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s = %d %s", step.name, resp.StatusCode, b)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if got := at(m, "managedBy"); got != step.want {
			t.Errorf("%s: managedBy = %q, want %q", step.name, got, step.want)
		}
	}
}
