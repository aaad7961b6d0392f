package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ward-id/ward/client"
)

// TestViews: what the server answers becomes what az prints, as JSON with
// sorted keys: properties flattened and the resource group added for
// clusters and machines, the registry's body with its group, the node pool
// as served, and identity assign/remove's identity block ({} when no
// user-assigned identity is left).
func TestViews(t *testing.T) {
	const machine = `{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/m1","name":"m1","location":"westeurope","tags":{},
		"identity":{"type":"SystemAssigned","principalId":"p","tenantId":"t"},"properties":{"status":"Disconnected","vmId":"v","wardJoinToken":"jt"}}`
	decode := func(body string, into any) {
		t.Helper()
		if err := json.Unmarshal([]byte(body), into); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		view func() any
		want string
	}{
		{"cluster", func() any {
			var c client.Cluster
			decode(`{"id":"/subscriptions/s/resourcegroups/RG/providers/Microsoft.ContainerService/managedClusters/c1","name":"c1",
				"properties":{"oidcIssuerProfile":{"enabled":true,"issuerURL":"https://ward.test/oidc/c1/"},"kubernetesVersion":"1.30.0"}}`, &c)
			return clusterOut(c)
		}, `{"id":"/subscriptions/s/resourcegroups/RG/providers/Microsoft.ContainerService/managedClusters/c1","kubernetesVersion":"1.30.0","name":"c1",` +
			`"oidcIssuerProfile":{"enabled":true,"issuerUrl":"https://ward.test/oidc/c1/"},"resourceGroup":"RG"}`},
		{"machine", func() any {
			var m client.Machine
			decode(machine, &m)
			return machineView(m)
		}, `{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/m1","identity":{"principalId":"p","tenantId":"t","type":"SystemAssigned"},` +
			`"location":"westeurope","name":"m1","resourceGroup":"rg","status":"Disconnected","tags":{},"vmId":"v","wardJoinToken":"jt"}`},
		{"machine identity without user-assigned ones", func() any {
			var m client.Machine
			decode(machine, &m)
			return identityOutput(m)
		}, `{"systemAssignedIdentity":"p","type":"SystemAssigned","userAssignedIdentities":{}}`},
		{"machine identity with a user-assigned one", func() any {
			var m client.Machine
			decode(`{"identity":{"type":"UserAssigned","userAssignedIdentities":{"/ua/app":{"principalId":"p2","clientId":"c2"}}}}`, &m)
			return identityOutput(m)
		}, `{"systemAssignedIdentity":null,"type":"UserAssigned","userAssignedIdentities":{"/ua/app":{"clientId":"c2","principalId":"p2"}}}`},
		{"registry", func() any {
			var r client.Registry
			decode(`{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/teamacr","name":"teamacr",
				"sku":{"name":"Basic","tier":"Basic"},"properties":{"loginServer":"teamacr.azurecr.localhost:8443","adminUserEnabled":false}}`, &r)
			return registryView(r)
		}, `{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/teamacr","name":"teamacr",` +
			`"properties":{"adminUserEnabled":false,"loginServer":"teamacr.azurecr.localhost:8443"},"resourceGroup":"rg","sku":{"name":"Basic","tier":"Basic"}}`},
		{"node pool", func() any {
			var p client.AgentPool
			decode(`{"id":"/x/agentPools/pool2","name":"pool2","properties":{"provisioningState":"Succeeded","wardUserAssignedIdentities":{},"wardAgentServiceAccount":"ward-system/ward-agent-pool2"}}`, &p)
			return poolView(p)
		}, `{"id":"/x/agentPools/pool2","name":"pool2","properties":{"provisioningState":"Succeeded","wardAgentServiceAccount":"ward-system/ward-agent-pool2","wardUserAssignedIdentities":{}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := render(&b, tc.view(), "json", ""); err != nil {
				t.Fatal(err)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, []byte(b.String())); err != nil {
				t.Fatal(err)
			}
			if got := compact.String(); got != tc.want {
				t.Errorf("printed\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
