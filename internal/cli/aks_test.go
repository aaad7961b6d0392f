package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ward-id/ward/client"
)

func TestAKSVerbs(t *testing.T) {
	e := newVerbEnv(t)
	if _, _, err := e.srv.Client.CreateOrUpdateGroup(context.Background(), e.srv.Admin.SubscriptionID, "rg", "westeurope", nil); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "sa.key")
	cl := []string{"-n", "c1", "-g", "rg"}
	e.runSteps(t, []step{
		{"create needs name and group", &aksPut{}, []string{"-n", "c1"}, nil, "--resource-group/-g"},
		{"create without issuer", &aksPut{}, cl, []string{`"name": "c1"`, `"resourceGroup": "rg"`, `"type": "SystemAssigned"`}, ""},
		{"flags need the issuer", &aksAPIServerFlags{}, cl, nil, "has no OIDC issuer: ward aks update -n c1 -g rg --enable-oidc-issuer"},
		{"update enables the issuer", &aksPut{}, append([]string{"--enable-oidc-issuer", "--enable-workload-identity"}, cl...), []string{`"issuerUrl": "https://`, `"workloadIdentity"`}, ""},
		{"show", &aksShow{}, cl, []string{`"name": "c1"`, `"issuerUrl"`}, ""},
		{"list", &aksList{}, []string{"-g", "rg"}, []string{`"name": "c1"`}, ""},
		{"apiserver flags", &aksAPIServerFlags{}, cl, []string{"--service-account-issuer=https://", "openid/v1/jwks"}, ""},
		{"get-token checks the service account first", &aksGetToken{}, []string{"--cluster", "c1", "-g", "rg", "--service-account", "Bad_Name"}, nil, "not valid in Kubernetes"},
		{"get-token", &aksGetToken{}, []string{"--cluster", "c1", "-g", "rg", "--service-account", "shop/app", "--duration", "20m"}, []string{`"token": "ey`}, ""},
		{"signing key to a file", &aksSigningKey{}, append([]string{"--file", keyFile}, cl...), []string{`"privateKeyFile": "` + keyFile + `"`, `"kid"`}, ""},
		{"rotate", &aksRotate{}, cl, []string{"kid"}, ""},
		{"show-install", &aksShowInstall{}, cl, []string{"# Ward workload identity webhook for cluster c1", "AZURE_TENANT_ID: \"" + e.srv.Admin.TenantID + "\"", "loopback address"}, ""},
		// The guides' create, pasted: network flags stored, node flags reported
		// (--attach-acr acts: TestCLIACR).
		{"the guides' flags", &aksPut{}, []string{"-n", "c2", "-g", "rg", "--node-count", "3", "--generate-ssh-keys", "--network-plugin", "azure",
			"--vnet-subnet-id", "/subscriptions/s/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/aks", "--service-cidr", "10.2.0.0/24",
			"--dns-service-ip", "10.2.0.10", "--docker-bridge-address", "172.17.0.1/16", "--enable-oidc-issuer", "-k", "1.30.0"},
			[]string{`"networkPlugin": "azure"`, `"serviceCidr": "10.2.0.0/24"`, `"dnsServiceIP": "10.2.0.10"`, `"dockerBridgeCidr": "172.17.0.1/16"`, `"kubernetesVersion": "1.30.0"`,
				"ward: --node-count 3 accepted and not acted on: Ward runs no nodes", "--generate-ssh-keys accepted"}, ""},
		{"get-credentials says why there are none", &aksGetCredentials{}, cl, nil, "Ward hosts its OIDC issuer and identities, not its Kubernetes API server"},
		{"get-credentials of an absent cluster", &aksGetCredentials{}, []string{"-n", "nope", "-g", "rg"}, nil, "ResourceNotFound"},
		{"nodepool upgrade --node-image-only", &poolUpgrade{}, []string{"--cluster-name", "c1", "-g", "rg", "-n", "nodepool1", "--node-image-only"},
			[]string{`"name": "nodepool1"`, "ward: node pool 'nodepool1' unchanged: Ward runs no nodes"}, ""},
		{"delete", &aksDelete{}, append([]string{"-y"}, cl...), nil, ""},
		{"show after delete", &aksShow{}, cl, nil, "ResourceNotFound"},
	})
	if b, err := os.ReadFile(keyFile); err != nil || !strings.Contains(string(b), "PRIVATE KEY") {
		t.Errorf("--file wrote %.40q, %v; want a PEM private key", b, err)
	}
	if _, err := os.Stat(strings.TrimSuffix(keyFile, ".key") + ".pub"); err != nil {
		t.Errorf("public key beside --file: %v", err)
	}
}

// TestAKSStorageFailure: a storage failure reaches the CLI as the server's
// clean 500 error, not a hang or a garbled answer.
func TestAKSStorageFailure(t *testing.T) {
	e := newVerbEnv(t)
	e.srv.Store.Fail("ListClusters", errors.New("disk on fire"))
	_, _, err := e.exec(t, &aksList{})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.StatusCode != 500 {
		t.Fatalf("list with a failing store = %v, want a 500 from the server", err)
	}
	if strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("the server's 500 leaks the storage error: %v", err)
	}
}
