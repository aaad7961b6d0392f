package client

import (
	"encoding/json"
	"testing"
)

// TestClusterDecodes: one body fills the typed fields the CLI acts on and
// Raw, the whole body it displays; absent properties are zero values.
func TestClusterDecodes(t *testing.T) {
	cases := []struct {
		name                        string
		body                        string
		wantIssuer, wantKubeletOID  string
		wantWorkloadIdentity, inRaw bool
	}{
		{"full", `{"id":"/subscriptions/s/resourcegroups/rg/providers/Microsoft.ContainerService/managedClusters/c","name":"c","location":"westeurope",
			"properties":{"oidcIssuerProfile":{"enabled":true,"issuerURL":"https://ward.test/oidc/t/c/"},"securityProfile":{"workloadIdentity":{"enabled":true}},
			"identityProfile":{"kubeletidentity":{"resourceId":"/x","clientId":"cid","objectId":"oid"}},"kubernetesVersion":"1.30"}}`,
			"https://ward.test/oidc/t/c/", "oid", true, true},
		{"bare", `{"name":"c","properties":{}}`, "", "", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c Cluster
			if err := json.Unmarshal([]byte(tc.body), &c); err != nil {
				t.Fatal(err)
			}
			k, _ := c.Kubelet()
			if c.Name != "c" || c.Properties.OIDCIssuerProfile.IssuerURL != tc.wantIssuer || k.ObjectID != tc.wantKubeletOID ||
				c.Properties.SecurityProfile.WorkloadIdentity.Enabled != tc.wantWorkloadIdentity {
				t.Fatalf("decoded %+v", c)
			}
			_, has := c.Raw["properties"].(map[string]any)["kubernetesVersion"]
			if c.Raw["name"] != "c" || has != tc.inRaw {
				t.Fatalf("Raw = %v", c.Raw)
			}
		})
	}
}
