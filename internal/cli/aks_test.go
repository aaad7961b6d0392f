package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestAKSPutBody: the PUT body of ward aks create/update holds only what
// the given flags ask for, the guides' network flags in networkProfile,
// and each node, SSH or add-on flag Ward does not act on is named on
// stderr with why, in the order of az's flag table.
func TestAKSPutBody(t *testing.T) {
	const subnet = "/subscriptions/s/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/aks"
	const uai = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/cp"
	cl := []string{"-n", "c1", "-g", "rg"}
	for _, tc := range []struct {
		name       string
		args       []string
		wantBody   string // the body as JSON (sorted keys)
		wantReport []string
	}{
		{"nothing asked", cl, `{"properties":{}}`, nil},
		{"the guides' create, pasted", append([]string{"--node-count", "3", "--generate-ssh-keys", "--network-plugin", "azure", "--vnet-subnet-id", subnet,
			"--service-cidr", "10.2.0.0/24", "--dns-service-ip", "10.2.0.10", "--docker-bridge-address", "172.17.0.1/16", "--enable-oidc-issuer", "-k", "1.30.0"}, cl...),
			`{"properties":{"kubernetesVersion":"1.30.0","networkProfile":{"dnsServiceIP":"10.2.0.10","dockerBridgeCidr":"172.17.0.1/16","networkPlugin":"azure","serviceCidr":"10.2.0.0/24"},"oidcIssuerProfile":{"enabled":true}}}`,
			[]string{"ward: --generate-ssh-keys accepted and not acted on: Ward runs no nodes.",
				"ward: --node-count 3 accepted and not acted on: Ward runs no nodes; node pools only carry identities.",
				"ward: --vnet-subnet-id " + subnet + " accepted and not acted on: Ward runs no network."}},
		{"update enables the issuer and workload identity", append([]string{"--enable-oidc-issuer", "--enable-workload-identity"}, cl...),
			`{"properties":{"oidcIssuerProfile":{"enabled":true},"securityProfile":{"workloadIdentity":{"enabled":true}}}}`, nil},
		{"turning workload identity off is sent", append([]string{"--enable-workload-identity=false"}, cl...),
			`{"properties":{"securityProfile":{"workloadIdentity":{"enabled":false}}}}`, nil},
		{"a user-assigned control-plane identity", append([]string{"--assign-identity", uai, "-l", "westeurope", "--dns-name-prefix", "c1dns"}, cl...),
			`{"identity":{"type":"UserAssigned","userAssignedIdentities":{"` + uai + `":{}}},"location":"westeurope","properties":{"dnsPrefix":"c1dns"}}`, nil},
		{"a system-assigned identity and a kubelet identity", append([]string{"--enable-managed-identity", "--assign-kubelet-identity", uai}, cl...),
			`{"identity":{"type":"SystemAssigned"},"properties":{"identityProfile":{"kubeletidentity":{"resourceId":"` + uai + `"}}}}`, nil},
		{"az's yes and no-wait", append([]string{"--yes", "--no-wait"}, cl...), `{"properties":{}}`,
			[]string{"ward: --no-wait accepted and not acted on: Ward's writes complete before it answers.", "ward: --yes accepted and not acted on: Ward does not prompt."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := &aksPut{}
			cmd := &cobra.Command{Use: "create"}
			v.flags(cmd)
			if err := cmd.ParseFlags(tc.args); err != nil {
				t.Fatal(err)
			}
			body, err := v.body(cmd.Flags().Changed)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(body)
			if string(b) != tc.wantBody {
				t.Errorf("body of %q =\n%s\nwant\n%s", tc.args, b, tc.wantBody)
			}
			var report bytes.Buffer
			v.report(env{errOut: &report, changed: cmd.Flags().Changed})
			got := strings.Split(strings.TrimSpace(report.String()), "\n")
			if report.Len() == 0 {
				got = nil
			}
			if strings.Join(got, "\n") != strings.Join(tc.wantReport, "\n") {
				t.Errorf("reported\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.wantReport, "\n"))
			}
		})
	}
}
