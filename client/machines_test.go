package client

import (
	"encoding/json"
	"testing"
)

// TestMachineDecodes: one body fills the typed fields the CLI acts on (the
// join token, the identity block it patches) and Raw, the whole body it
// displays; absent properties are zero values.
func TestMachineDecodes(t *testing.T) {
	const ua = "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app"
	cases := []struct {
		name              string
		body              string
		wantToken, wantPC string
		wantSystem        bool
		wantUser          map[string]UserAssignedIdentity
	}{
		{"created", `{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/m","name":"m","location":"westeurope","tags":{},
			"identity":{"type":"SystemAssigned, UserAssigned","principalId":"sys","tenantId":"t","userAssignedIdentities":{"` + ua + `":{"principalId":"p","clientId":"c"}}},
			"properties":{"status":"Disconnected","vmId":"v","wardJoinToken":"jt","wardJoinTokenExpiresOn":"2026-12-06T12:00:00Z"}}`,
			"jt", "Disconnected", true, map[string]UserAssignedIdentity{ua: {PrincipalID: "p", ClientID: "c"}}},
		{"identity deleted since", `{"name":"m","identity":{"type":"userassigned","userAssignedIdentities":{"` + ua + `":{"wardWarning":"deleted"}}},"properties":{}}`,
			"", "", false, map[string]UserAssignedIdentity{ua: {WardWarning: "deleted"}}},
		{"bare", `{"name":"m"}`, "", "", false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var m Machine
			if err := json.Unmarshal([]byte(tc.body), &m); err != nil {
				t.Fatal(err)
			}
			if m.Name != "m" || m.Properties.WardJoinToken != tc.wantToken || m.Properties.Status != tc.wantPC || m.Identity.HasSystemAssigned() != tc.wantSystem {
				t.Fatalf("decoded %+v", m)
			}
			if len(m.Identity.UserAssignedIdentities) != len(tc.wantUser) {
				t.Fatalf("user-assigned = %v, want %v", m.Identity.UserAssignedIdentities, tc.wantUser)
			}
			for id, want := range tc.wantUser {
				if got := m.Identity.UserAssignedIdentities[id]; got != want {
					t.Fatalf("user-assigned %s = %+v, want %+v", id, got, want)
				}
			}
			if m.Raw["name"] != "m" {
				t.Fatalf("Raw = %v", m.Raw)
			}
			if props, ok := m.Raw["properties"].(map[string]any); tc.wantToken != "" && (!ok || props["vmId"] != "v") {
				t.Fatalf("Raw lacks the properties no type names: %v", m.Raw)
			}
		})
	}
}

// TestAgentPoolDecodes: the pool's identities and agent service account
// are typed; Raw is the body as the server wrote it.
func TestAgentPoolDecodes(t *testing.T) {
	const body = `{"id":"/x/agentPools/gpu","name":"gpu","type":"Microsoft.ContainerService/managedClusters/agentPools",
		"properties":{"provisioningState":"Succeeded","wardAgentServiceAccount":"ward-system/ward-agent-gpu","wardUserAssignedIdentities":{"/ua/app":{"principalId":"p","clientId":"c"}}}}`
	var p AgentPool
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	if p.Name != "gpu" || p.Properties.WardAgentServiceAccount != "ward-system/ward-agent-gpu" ||
		p.Properties.WardUserAssignedIdentities["/ua/app"] != (UserAssignedIdentity{PrincipalID: "p", ClientID: "c"}) {
		t.Fatalf("decoded %+v", p)
	}
	if p.Raw["type"] != "Microsoft.ContainerService/managedClusters/agentPools" || p.Raw["properties"].(map[string]any)["provisioningState"] != "Succeeded" {
		t.Fatalf("Raw = %v", p.Raw)
	}
}

// TestRegistryDecodes: the login server is typed; Raw keeps the rest.
func TestRegistryDecodes(t *testing.T) {
	cases := []struct{ name, body, wantLogin string }{
		{"full", `{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/teamacr","name":"teamacr","location":"westeurope",
			"sku":{"name":"Basic","tier":"Basic"},"properties":{"loginServer":"teamacr.azurecr.localhost:8443","roleAssignmentMode":"LegacyRegistryPermissions"}}`,
			"teamacr.azurecr.localhost:8443"},
		{"bare", `{"name":"teamacr"}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r Registry
			if err := json.Unmarshal([]byte(tc.body), &r); err != nil {
				t.Fatal(err)
			}
			if r.Name != "teamacr" || r.Properties.LoginServer != tc.wantLogin || r.Raw["name"] != "teamacr" {
				t.Fatalf("decoded %+v", r)
			}
		})
	}
	var bad Registry
	if err := json.Unmarshal([]byte(`{"name":7}`), &bad); err == nil {
		t.Fatal("a registry whose name is a number decoded")
	}
}
