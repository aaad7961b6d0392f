package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The guides' command sequences (../shared/seeds, the az commands users
// paste), replayed twice: with Debian's az 2.45 against one Ward and with
// `ward` (same verbs, same flags) against another; afterwards both Wards
// must hold the same resources with the same key fields (guideInventory).
//
// The guides presuppose a few things they do not create (a vault, a
// registry, a storage account, the group a scope names); those steps are
// marked setup. Where az 2.45 itself cannot run a pasted command, the step
// says why and, on az's Ward, runs through `ward` instead, so that the
// comparison still covers it:
//
//   - `az role assignment create` crashes client-side, always, and `az role
//     assignment list` once it has results (AttributeError: ... has no
//     attribute 'config': Debian's az 2.45 role module against the
//     azure-mgmt-authorization 3.0 Debian ships, Azure/azure-cli#26896),
//     after Ward answered the assignee's Graph lookups;
//     The same call fails inside `az aks create/update
//     --assign-kubelet-identity` (it grants the control-plane identity
//     Managed Identity Operator on the kubelet identity) and, with a
//     warning only, `--vnet-subnet-id` (Network Contributor on the subnet,
//     which ward does not grant either);
//   - `--enable-workload-identity` is not an option of az 2.45's aks
//     create/update (az 2.47 added it);
//   - az prompts before changing a cluster's identity; a script passes
//     --yes, which the steps add (ward accepts it);
//   - az 2.45's aks create reads ~/.ssh/id_rsa.pub when the command has no
//     --generate-ssh-keys (newer az needs no key); the test makes one with
//     ssh-keygen, as a user's machine has;
//   - `az extension add --name aks-preview` needs the internet (no step).
//
// Guide 003 creates its bring-your-own-identity cluster under the name of
// the one it created before; the replay names it myManagedCluster2.
//
// Guide 004 (production practice) has no az commands.

// guideStep is one pasted command.
type guideStep struct {
	args    []string // after "az"; ${NAME} is a value captured before, ${SUB} the subscription
	capture string   // keep the trimmed stdout as ${capture}
	setup   bool     // not in the guide: something it presupposes
	azLimit string   // what az 2.45 prints when it cannot run this as pasted
	why     string   // why, for the log
	// same reports what to compare of the two runs' outputs (normalized),
	// when the output itself is what the guide reads.
	same bool
}

// Known limits of az 2.45 (see above).
const (
	azRoleCrash       = "has no attribute 'config'"
	azRoleCrashWhy    = "az 2.45 crashes in role assignment create/list (Azure/azure-cli#26896)"
	azNoWorkloadID    = "unrecognized arguments: --enable-workload-identity"
	azNoWorkloadWhy   = "az 2.45 has no --enable-workload-identity (added in 2.47)"
	azKubeletGrant    = "Could not grant Managed Identity Operator permission"
	azKubeletGrantWhy = "az 2.45 grants the control-plane identity Managed Identity Operator on the kubelet identity through the role assignment call that crashes (#26896)"
	azNoSSHKey        = "An RSA key file or key value must be supplied"
	azNoSSHKeyWhy     = "az 2.45's aks create needs ~/.ssh/id_rsa.pub without --generate-ssh-keys, and ssh-keygen is not here to make one"
)

func s(args ...string) guideStep { return guideStep{args: args} }

func capture(name string, args ...string) guideStep { return guideStep{args: args, capture: name} }

func setup(args ...string) guideStep { return guideStep{args: args, setup: true} }

func azCrash(args ...string) guideStep {
	return guideStep{args: args, azLimit: azRoleCrash, why: azRoleCrashWhy}
}

func guideSequences() map[string][]guideStep {
	const (
		subnet = "/subscriptions/${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/aks"
	)
	return map[string][]guideStep{
		// System-, user-assigned and kubelet identities with az aks.
		"000 managed identities in AKS": {
			s("account", "set", "--subscription", "${SUB}"),
			s("group", "create", "--name", "rg-guide", "--location", "westeurope"),
			s("aks", "create", "--resource-group", "rg-guide", "--name", "aks-guide", "--enable-managed-identity", "--generate-ssh-keys"),
			s("aks", "update", "--resource-group", "rg-guide", "--name", "aks-guide", "--enable-managed-identity", "--yes"),
			s("aks", "nodepool", "upgrade", "--resource-group", "rg-guide", "--cluster-name", "aks-guide", "--name", "nodepool1", "--node-image-only"),
			capture("CLIENT_ID", "aks", "show", "--name", "aks-guide", "--resource-group", "rg-guide", "--query", "identity.principalId", "--output", "tsv"),
			setup("group", "create", "--name", "rg-net", "--location", "westeurope"),
			azCrash("role", "assignment", "create", "--assignee", "${CLIENT_ID}", "--role", "Network Contributor", "--scope", "/subscriptions/${SUB}/resourceGroups/rg-net"),
			s("identity", "create", "--name", "app-id", "--resource-group", "rg-guide"),
			capture("APP_CLIENT_ID", "identity", "show", "--name", "app-id", "--resource-group", "rg-guide", "--query", "clientId", "-o", "tsv"),
			setup("keyvault", "create", "--name", "kv-guide-000", "--resource-group", "rg-guide", "--enable-rbac-authorization"),
			azCrash("role", "assignment", "create", "--assignee", "${APP_CLIENT_ID}", "--role", "Key Vault Secrets User", "--scope", "/subscriptions/${SUB}/resourceGroups/rg-guide/providers/Microsoft.KeyVault/vaults/kv-guide-000"),
			s("identity", "create", "--name", "cp-id", "--resource-group", "rg-guide"),
			capture("CP_ID", "identity", "show", "--name", "cp-id", "--resource-group", "rg-guide", "--query", "id", "-o", "tsv"),
			s("aks", "create", "--resource-group", "rg-guide", "--name", "aks-uami", "--network-plugin", "azure", "--vnet-subnet-id", subnet,
				"--dns-service-ip", "10.2.0.10", "--service-cidr", "10.2.0.0/24", "--assign-identity", "${CP_ID}", "--generate-ssh-keys"),
			s("aks", "update", "--resource-group", "rg-guide", "--name", "aks-guide", "--enable-managed-identity", "--assign-identity", "${CP_ID}", "--yes"),
			s("identity", "create", "--name", "kubelet-id", "--resource-group", "rg-guide"),
			capture("KUBELET_CLIENT_ID", "identity", "show", "--name", "kubelet-id", "--resource-group", "rg-guide", "--query", "clientId", "-o", "tsv"),
			capture("KUBELET_ID", "identity", "show", "--name", "kubelet-id", "--resource-group", "rg-guide", "--query", "id", "-o", "tsv"),
			setup("acr", "create", "--name", "acrguide000", "--resource-group", "rg-guide", "--sku", "Basic"),
			azCrash("role", "assignment", "create", "--assignee", "${KUBELET_CLIENT_ID}", "--role", "acrpull", "--scope", "/subscriptions/${SUB}/resourceGroups/rg-guide/providers/Microsoft.ContainerRegistry/registries/acrguide000"),
			{args: []string{"aks", "create", "--resource-group", "rg-guide", "--name", "aks-kubelet", "--network-plugin", "azure", "--vnet-subnet-id", subnet,
				"--dns-service-ip", "10.2.0.10", "--service-cidr", "10.2.0.0/24", "--assign-identity", "${CP_ID}", "--assign-kubelet-identity", "${KUBELET_ID}", "--generate-ssh-keys"},
				azLimit: azKubeletGrant, why: azKubeletGrantWhy},
			{args: []string{"aks", "update", "--resource-group", "rg-guide", "--name", "aks-guide", "--enable-managed-identity", "--assign-identity", "${CP_ID}", "--assign-kubelet-identity", "${KUBELET_ID}", "--yes"},
				azLimit: azKubeletGrant, why: azKubeletGrantWhy},
			{args: []string{"aks", "show", "--name", "aks-guide", "--resource-group", "rg-guide", "--query", "identityProfile.kubeletidentity.resourceId", "-o", "tsv"}, same: true},
		},
		// Workload identity federation, step by step.
		"001 workload identity": {
			setup("group", "create", "--name", "myResourceGroup", "--location", "eastus"),
			{args: []string{"aks", "create", "--resource-group", "myResourceGroup", "--name", "myAKSCluster", "--enable-oidc-issuer", "--enable-workload-identity"}, azLimit: azNoWorkloadID, why: azNoWorkloadWhy},
			{args: []string{"aks", "update", "--resource-group", "myResourceGroup", "--name", "myAKSCluster", "--enable-oidc-issuer", "--enable-workload-identity"}, azLimit: azNoWorkloadID, why: azNoWorkloadWhy},
			s("identity", "create", "--name", "myIdentity", "--resource-group", "myResourceGroup", "--location", "eastus"),
			capture("USER_ASSIGNED_CLIENT_ID", "identity", "show", "--resource-group", "myResourceGroup", "--name", "myIdentity", "--query", "clientId", "-o", "tsv"),
			setup("storage", "account", "create", "--name", "guidestorage001", "--resource-group", "myResourceGroup", "--location", "eastus", "--sku", "Standard_LRS"),
			azCrash("role", "assignment", "create", "--role", "Storage Blob Data Contributor", "--assignee", "${USER_ASSIGNED_CLIENT_ID}",
				"--scope", "/subscriptions/${SUB}/resourceGroups/myResourceGroup/providers/Microsoft.Storage/storageAccounts/guidestorage001"),
			capture("AKS_OIDC_ISSUER", "aks", "show", "--resource-group", "myResourceGroup", "--name", "myAKSCluster", "--query", "oidcIssuerProfile.issuerUrl", "-o", "tsv"),
			s("identity", "federated-credential", "create", "--name", "myFederatedIdentity", "--identity-name", "myIdentity", "--resource-group", "myResourceGroup",
				"--issuer", "${AKS_OIDC_ISSUER}", "--subject", "system:serviceaccount:default:workload-identity-sa"),
			azCrash("role", "assignment", "list", "--assignee", "${USER_ASSIGNED_CLIENT_ID}", "--all", "-o", "table"),
			azCrash("role", "assignment", "create", "--role", "Storage Blob Data Reader", "--assignee", "${USER_ASSIGNED_CLIENT_ID}",
				"--scope", "/subscriptions/${SUB}/resourceGroups/myResourceGroup/providers/Microsoft.Storage/storageAccounts/guidestorage001"),
			s("monitor", "activity-log", "list", "--resource-group", "myResourceGroup", "--offset", "1h"),
		},
		// UMI vs SMI; AcrPull for the cluster's identity, by resource ID and by client ID.
		"002 identities and ACR pull": {
			setup("group", "create", "--name", "rg-acr", "--location", "westeurope"),
			s("identity", "create", "--name", "umi-aks", "--resource-group", "rg-acr", "--location", "westeurope"),
			capture("IDENTITY_RESOURCE_ID", "identity", "show", "--name", "umi-aks", "--resource-group", "rg-acr", "--query", "id", "-o", "tsv"),
			s("aks", "create", "--resource-group", "rg-acr", "--name", "myAKSCluster", "--enable-managed-identity", "--assign-identity", "${IDENTITY_RESOURCE_ID}", "--node-count", "3", "--generate-ssh-keys"),
			setup("acr", "create", "--name", "acrguide002", "--resource-group", "rg-acr", "--sku", "Basic"),
			capture("ACR_ID", "acr", "show", "--name", "acrguide002", "--resource-group", "rg-acr", "--query", "id", "-o", "tsv"),
			azCrash("role", "assignment", "create", "--assignee", "${IDENTITY_RESOURCE_ID}", "--role", "AcrPull", "--scope", "${ACR_ID}"),
			capture("CLIENT_ID", "identity", "show", "--name", "umi-aks", "--resource-group", "rg-acr", "--query", "clientId", "-o", "tsv"),
			// The same assignment by client ID: re-running a setup is not an error.
			azCrash("role", "assignment", "create", "--assignee", "${CLIENT_ID}", "--role", "AcrPull", "--scope", "${ACR_ID}"),
		},
		// The AKS identity table: SMI cluster, preview registration, bring your own control-plane identity.
		"003 AKS identities": {
			s("group", "create", "--name", "myResourceGroup", "--location", "westus2"),
			{args: []string{"aks", "create", "-g", "myResourceGroup", "-n", "myManagedCluster", "--enable-managed-identity"}, azLimit: azNoSSHKey, why: azNoSSHKeyWhy},
			{args: []string{"aks", "show", "-g", "myResourceGroup", "-n", "myManagedCluster", "--query", "identity.type", "-o", "tsv"}, same: true},
			{args: []string{"aks", "show", "-g", "myResourceGroup", "-n", "myManagedCluster", "--query", "servicePrincipalProfile.clientId", "-o", "tsv"}, same: true},
			s("feature", "register", "--name", "UserAssignedIdentityPreview", "--namespace", "Microsoft.ContainerService"),
			{args: []string{"feature", "list", "-o", "tsv", "--query", "[?contains(name, 'Microsoft.ContainerService/UserAssignedIdentityPreview')].{Name:name,State:properties.state}"}, same: true},
			s("provider", "register", "--namespace", "Microsoft.ContainerService"),
			s("identity", "create", "--name", "myIdentity", "--resource-group", "myResourceGroup"),
			{args: []string{"identity", "list", "--query", "[].{Name:name, Location:location}", "-o", "tsv"}, same: true},
			capture("IDENTITY_ID", "identity", "show", "--name", "myIdentity", "--resource-group", "myResourceGroup", "--query", "id", "-o", "tsv"),
			s("aks", "create", "--resource-group", "myResourceGroup", "--name", "myManagedCluster2", "--network-plugin", "azure", "--vnet-subnet-id", subnet,
				"--docker-bridge-address", "172.17.0.1/16", "--dns-service-ip", "10.2.0.10", "--service-cidr", "10.2.0.0/24", "--enable-managed-identity", "--assign-identity", "${IDENTITY_ID}"),
			{args: []string{"aks", "show", "-g", "myResourceGroup", "-n", "myManagedCluster2", "--query", "identity.type", "-o", "tsv"}, same: true},
		},
	}
}

// guideRun is one replay: a tool against its own Ward.
type guideRun struct {
	t    *testing.T
	w    *ward
	az   *azCLI // nil: the run is ward's
	vars map[string]string
	outs []string // outputs of steps marked same, normalized
}

func (g *guideRun) expand(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = os.Expand(a, func(k string) string {
			if v, ok := g.vars[k]; ok {
				return v
			}
			g.t.Fatalf("step %v uses ${%s}, which no step before captured", args, k)
			return ""
		})
	}
	return out
}

func (g *guideRun) step(st guideStep) {
	g.t.Helper()
	args := g.expand(st.args)
	var out, errOut string
	var code int
	tool := "ward"
	if g.az != nil {
		tool = "az"
		out, errOut, code = g.az.run(args...)
		if code != 0 && st.azLimit != "" && strings.Contains(errOut, st.azLimit) {
			g.t.Logf("%s: on az's Ward through ward instead", st.why)
			tool = "ward (for az)"
			out, errOut, code = g.w.cli(args...)
		}
	} else {
		out, errOut, code = g.w.cli(args...)
	}
	if code != 0 {
		g.t.Fatalf("%s %s exited %d:\n%s\n%s", tool, strings.Join(args, " "), code, out, tail([]byte(errOut), 3000))
	}
	if st.capture != "" {
		v := strings.TrimSpace(out)
		if v == "" {
			g.t.Fatalf("%s %s printed nothing to capture as %s", tool, strings.Join(args, " "), st.capture)
		}
		g.vars[st.capture] = v
	}
	if st.same {
		g.outs = append(g.outs, strings.Join(args, " ")+" → "+g.normalize(out))
	}
}

// normalize makes one Ward's IDs comparable with another's.
func (g *guideRun) normalize(s string) string {
	s = strings.ReplaceAll(s, g.w.admin.SubscriptionID, "{sub}")
	s = strings.ReplaceAll(s, g.w.admin.TenantID, "{tenant}")
	s = strings.ReplaceAll(s, g.w.base, "{ward}")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ToLower(strings.TrimSpace(s))
}

// TestGuidesReplay replays each guide with az and with ward and compares
// what the two Wards hold afterwards.
func TestGuidesReplay(t *testing.T) {
	skipIfShort(t, "drives Debian's az through four guides")
	// Mostly waiting on az (its own Wards, config and ports): runs beside
	// the other such tests (hack/test.sh -parallel).
	t.Parallel()
	if _, err := exec.LookPath("az"); err != nil {
		needOrSkip(t, false, "az (azure-cli) is not installed", "apt-get install -y azure-cli")
	}
	guides := guideSequences()
	names := make([]string, 0, len(guides))
	for n := range guides {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		steps := guides[name]
		t.Run(name, func(t *testing.T) {
			// az spends most of a replay asleep (its retries of the role
			// assignments it cannot make take minutes), so the guides run
			// side by side.
			t.Parallel()
			runs := map[string]*guideRun{}
			for _, tool := range []string{"az", "ward"} {
				w := startWard(t, "")
				r := &guideRun{t: t, w: w, vars: map[string]string{"SUB": w.admin.SubscriptionID}}
				if tool == "az" {
					r.az = newAzCLI(t, w)
					home := t.TempDir() // ssh keys and kubeconfig stay in the test
					r.az.env = append(r.az.env, "HOME="+home)
					// A user's machine has an SSH key, which az 2.45's aks create
					// reads when the command has no --generate-ssh-keys.
					if kg, err := exec.LookPath("ssh-keygen"); err == nil {
						if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
							t.Fatal(err)
						}
						if out, err := exec.Command(kg, "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", filepath.Join(home, ".ssh", "id_rsa")).CombinedOutput(); err != nil {
							t.Fatalf("ssh-keygen: %v %s", err, out)
						}
					}
					r.az.login(w)
				}
				for _, st := range steps {
					r.step(st)
				}
				runs[tool] = r
			}
			azInv, wardInv := guideInventory(t, runs["az"]), guideInventory(t, runs["ward"])
			if a, b := strings.Join(azInv, "\n"), strings.Join(wardInv, "\n"); a != b {
				t.Errorf("after the guide, az's Ward holds:\n%s\n\nward's holds:\n%s", a, b)
			}
			if a, b := strings.Join(runs["az"].outs, "\n"), strings.Join(runs["ward"].outs, "\n"); a != b {
				t.Errorf("the guide's reads differ; az printed:\n%s\n\nward printed:\n%s", a, b)
			}
			t.Logf("both hold:\n%s", strings.Join(azInv, "\n"))
		})
	}
}

var guid = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// guideInventory is what a guide left in a Ward, by name, with the key
// fields the guides read: groups; resources; each cluster's identity
// (type, user-assigned identities, kubelet identity), OIDC issuer,
// workload identity and network profile; each identity's federated
// credentials; role assignments by role, scope and principal (named by the
// identity or cluster it belongs to).
func guideInventory(t *testing.T, r *guideRun) []string {
	t.Helper()
	w, sub := r.w, "/subscriptions/"+r.w.admin.SubscriptionID
	get := func(path string) map[string]any {
		st, b, _ := w.request("GET", path, "")
		if st != 200 {
			t.Fatalf("GET %s: %d %v", path, st, b)
		}
		return b
	}
	str := func(v any) string {
		b, _ := json.Marshal(v)
		return r.normalize(string(b))
	}
	var out []string
	principals := map[string]string{tokenOID(t, w.adminToken()): "admin"}
	for _, g := range get(sub + "/resourcegroups?api-version=2021-04-01")["value"].([]any) {
		out = append(out, "group "+r.normalize(g.(map[string]any)["name"].(string)))
	}
	for _, it := range get(sub + "/resources?api-version=2021-04-01")["value"].([]any) {
		res := it.(map[string]any)
		id, typ := res["id"].(string), strings.ToLower(res["type"].(string))
		line := "resource " + r.normalize(id)
		switch typ {
		case "microsoft.managedidentity/userassignedidentities":
			b := get(id + "?api-version=2023-01-31")
			principals[b["properties"].(map[string]any)["principalId"].(string)] = "identity " + res["name"].(string)
			for _, f := range get(id + "/federatedIdentityCredentials?api-version=2023-01-31")["value"].([]any) {
				p := f.(map[string]any)["properties"].(map[string]any)
				// The issuer is a cluster's: its IDs differ from one Ward to the other.
				issuer := guid.ReplaceAllString(str(p["issuer"]), "{id}")
				out = append(out, fmt.Sprintf("fic %s/%s issuer=%s subject=%s audiences=%s", res["name"], f.(map[string]any)["name"], issuer, p["subject"], str(p["audiences"])))
			}
		case "microsoft.containerservice/managedclusters":
			b := get(id + "?api-version=2024-05-01")
			ident, _ := b["identity"].(map[string]any)
			props := b["properties"].(map[string]any)
			if pid, ok := ident["principalId"].(string); ok {
				principals[pid] = "cluster " + res["name"].(string)
			}
			var uamis []string
			for k := range asMap(ident["userAssignedIdentities"]) {
				uamis = append(uamis, r.normalize(k))
			}
			sort.Strings(uamis)
			kubelet := asMap(asMap(props["identityProfile"])["kubeletidentity"])
			if oid, ok := kubelet["objectId"].(string); ok {
				if principals[oid] == "" {
					principals[oid] = "kubelet of " + res["name"].(string)
				}
			}
			net := asMap(props["networkProfile"])
			line += fmt.Sprintf(" identity=%v uami=%v kubelet=%s oidc=%v workloadIdentity=%v network=%v/%v/%v sp=%v", ident["type"], uamis, str(kubelet["resourceId"]),
				asMap(props["oidcIssuerProfile"])["enabled"], asMap(asMap(props["securityProfile"])["workloadIdentity"])["enabled"],
				net["networkPlugin"], net["serviceCidr"], net["dnsServiceIP"], asMap(props["servicePrincipalProfile"])["clientId"])
		}
		out = append(out, line)
	}
	for _, it := range get(sub + "/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01")["value"].([]any) {
		p := it.(map[string]any)["properties"].(map[string]any)
		who := principals[p["principalId"].(string)]
		if who == "" {
			who = "principal " + guid.ReplaceAllString(p["principalId"].(string), "?")
		}
		role := p["roleDefinitionId"].(string)
		out = append(out, fmt.Sprintf("assignment %s at %s to %s", r.normalize(role[strings.LastIndex(role, "/")+1:]), r.normalize(p["scope"].(string)), who))
	}
	sort.Strings(out)
	return out
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
