package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/ward-id/ward/deploy"
)

// agentInstall is the node agent's part of `ward aks show-install`:
// deploy/agent with Ward's URL and CA filled in, and what the DaemonSet
// does on the nodes.
func agentInstall(cluster installTarget, server, caFile, image string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "---\n# Ward node agent for cluster %v: IMDS (169.254.169.254:80) on every node, serving the\n", cluster.Name)
	b.WriteString("# kubelet identity and the node pool's identities (ward aks nodepool identity assign).\n")
	b.WriteString("# It attests with its service account's projected token (audience api://WardAgent) from\n")
	b.WriteString("# the cluster's issuer; the DaemonSet puts 169.254.169.254/32 on each node's loopback\n")
	b.WriteString("# interface (--setup-imds-address) and, with --host-network-only, answers host-network\n")
	b.WriteString("# processes only, not pods. Pools other than nodepool1: copy the DaemonSet and the\n")
	b.WriteString("# ServiceAccount as ward-agent-<pool> with a nodeSelector on the pool's nodes.\n")
	if cluster.Issuer == "" {
		fmt.Fprintf(&b, "# The cluster has no OIDC issuer yet, so agents cannot attest: %s\n", cluster.enableIssuerCommand())
	}
	var ca []byte
	if caFile != "" {
		ca, _ = os.ReadFile(caFile)
	}
	for _, f := range deploy.AgentFiles {
		data, err := deploy.Agent.ReadFile("agent/" + f)
		if err != nil {
			return "", err
		}
		text := withImage(string(data), image)
		if f == "configmap.yaml" {
			caValue := `""`
			if len(ca) > 0 {
				caValue = "|\n    " + strings.ReplaceAll(strings.TrimSpace(string(ca)), "\n", "\n    ")
			}
			text = strings.NewReplacer(`WARD_SERVER: "https://ward.example.com:8443"`, fmt.Sprintf("WARD_SERVER: %q", strings.TrimSuffix(server, "/")),
				`ca.pem: ""`, "ca.pem: "+caValue).Replace(text)
		}
		b.WriteString("---\n# agent/" + f + "\n" + text)
	}
	return b.String(), nil
}
