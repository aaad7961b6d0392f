package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/deploy"
	"github.com/ward-id/ward/internal/shellquote"
)

// systemIdentity is az's name for the system-assigned identity in
// --identities and --assign-identity lists.
const systemIdentity = "[system]"

// machineView is a machine as az connectedmachine prints it: properties
// flattened, the resource group added.
func machineView(m client.Machine) map[string]any {
	out := clusterView(m.Raw)
	delete(out, "oidcIssuerProfile")
	return out
}

func connectedMachineCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "connectedmachine", Short: "Connected machines (Azure Arc-shaped): servers whose `ward agent` serves their managed identities"}
	identity := &cobra.Command{Use: "identity", Short: "Attach or detach a connected machine's managed identities"}
	identity.AddCommand(
		g.command("assign", "Attach identities to a connected machine (needs Microsoft.ManagedIdentity/userAssignedIdentities/assign/action on each)", &machineIdentity{assign: true}),
		g.command("remove", "Detach identities from a connected machine ([system] deletes its system-assigned identity)", &machineIdentity{}))
	credential := &cobra.Command{Use: "credential", Short: "The key a machine's agent authenticates with"}
	credential.AddCommand(g.command("reset", "Revoke the machine agent's key (it stops serving within a second) and print a new one-time join token", &machineCredentialReset{}))
	create := g.command("create", "Create a connected machine and print the one-time join token its agent registers with", &machineCreate{})
	create.Long = "Create a connected machine with a system-assigned identity (and the user-assigned identities of --assign-identity).\n" +
		"The output carries wardJoinToken, valid once and for --join-token-lifetime; stderr says what to run on the machine."
	cmd.AddCommand(create,
		g.command("show", "Show a connected machine", &machineShow{}),
		g.command("list", "List connected machines", &machineList{}),
		g.command("delete", "Delete a connected machine with its system-assigned identity; its agent stops serving within a second", &machineDelete{}),
		identity, credential)
	return cmd
}

// machineRef names one machine on the command line.
type machineRef struct{ nameGroup }

func (r *machineRef) flags(cmd *cobra.Command) { r.bind(cmd, "machine name") }

// machineCreate is `ward connectedmachine create`.
type machineCreate struct {
	machineRef
	location      string
	tags          []string
	identities    []string
	tokenLifetime time.Duration
}

func (v *machineCreate) flags(cmd *cobra.Command) {
	v.machineRef.flags(cmd)
	f := cmd.Flags()
	f.StringVarP(&v.location, "location", "l", "", "location (default: the resource group's)")
	f.StringArrayVar(&v.tags, "tags", nil, "space-separated tags: key[=value]")
	f.StringSliceVar(&v.identities, "assign-identity", nil, "identities: [system] and/or user-assigned identity resource IDs (default: [system])")
	f.DurationVar(&v.tokenLifetime, "join-token-lifetime", time.Hour, "how long the join token is valid (1s to 24h)")
}

func (*machineCreate) inSubscription() {}

func (v *machineCreate) run(ctx context.Context, e env, cn *conn) (any, error) {
	tags, err := parseTags(v.tags)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"tags": tags, "properties": map[string]any{}}
	if v.location != "" {
		body["location"] = v.location
	}
	if len(v.identities) > 0 {
		body["identity"] = identityBlock(v.identities, false, nil)
	}
	out, err := cn.client.PutMachine(ctx, cn.sub, v.group, v.name, body)
	if err != nil {
		return nil, err
	}
	view := machineView(out)
	token, expires := out.Properties.WardJoinToken, out.Properties.WardJoinTokenExpiresOn
	if v.tokenLifetime != time.Hour && token != "" {
		// The create response's token has the default lifetime; replace it.
		jt, err := cn.client.ResetMachineCredential(ctx, cn.sub, v.group, v.name, int64(v.tokenLifetime/time.Second))
		if err != nil {
			return nil, err
		}
		token, expires = jt.JoinToken, jt.ExpiresOn
		view["wardJoinToken"], view["wardJoinTokenExpiresOn"] = token, expires
	}
	if token != "" {
		fmt.Fprint(e.errOut, joinInstructions(cn, token, expires))
	}
	return view, nil
}

// joinInstructions tells the operator what to run on the machine.
func joinInstructions(cn *conn, token, expires string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nOn the machine, as root (the join token is valid once, until %s):\n\n", expires)
	fmt.Fprintf(&b, "  %s\n", shellquote.Join("ward", "agent", "join", "--server", cn.server, "--ca-file", "/etc/ward/ca.pem", "--token", token))
	fmt.Fprintf(&b, "\nCopy Ward's CA (%s) to /etc/ward/ca.pem first. Then run the agent; the recommended\n", caHint(cn))
	b.WriteString("mode on a plain machine is Azure Arc's (only root and the himds group can read its challenge files):\n\n")
	b.WriteString("  install -m 0644 ward-agent.service /etc/systemd/system/ && systemctl enable --now ward-agent\n\n")
	b.WriteString("ward-agent.service (deploy/agent/ward-agent.service in Ward's source):\n\n")
	unit, _ := deploy.Agent.ReadFile("agent/ward-agent.service")
	for _, l := range strings.Split(strings.TrimRight(string(unit), "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	b.WriteString("\nPrograms on the machine then use ManagedIdentityCredential with IDENTITY_ENDPOINT=http://127.0.0.1:40342/metadata/identity/oauth2/token\nand IMDS_ENDPOINT=http://127.0.0.1:40342 (Azure Arc).\n\n")
	return b.String()
}

func caHint(cn *conn) string {
	if cn.profile.CAFile != "" {
		return cn.profile.CAFile
	}
	return "ca.pem in the server's data directory"
}

// machineShow is `ward connectedmachine show`.
type machineShow struct{ machineRef }

func (*machineShow) inSubscription() {}

func (v *machineShow) run(ctx context.Context, _ env, cn *conn) (any, error) {
	return viewOf(machineView)(cn.client.GetMachine(ctx, cn.sub, v.group, v.name))
}

// machineList is `ward connectedmachine list`.
type machineList struct{ inGroup }

func (v *machineList) run(ctx context.Context, _ env, cn *conn) (any, error) {
	return viewsOf(machineView)(cn.client.ListMachines(ctx, cn.sub, v.group))
}

// machineDelete is `ward connectedmachine delete`.
type machineDelete struct{ machineRef }

func (v *machineDelete) flags(cmd *cobra.Command) {
	v.machineRef.flags(cmd)
	cmd.Flags().BoolP("yes", "y", false, "do not prompt for confirmation")
}

func (*machineDelete) inSubscription() {}

func (v *machineDelete) run(ctx context.Context, _ env, cn *conn) (any, error) {
	_, err := cn.client.DeleteMachine(ctx, cn.sub, v.group, v.name)
	return nil, err
}

// machineIdentity is `ward connectedmachine identity assign` and `remove`.
type machineIdentity struct {
	machineRef
	assign     bool
	identities []string
}

func (v *machineIdentity) flags(cmd *cobra.Command) {
	v.machineRef.flags(cmd)
	cmd.Flags().StringSliceVar(&v.identities, "identities", nil, "[system] and/or user-assigned identity resource IDs (space- or comma-separated, repeatable)")
}

func (v *machineIdentity) check(cmd *cobra.Command) error {
	return requireFlags(cmd, "name", "resource-group", "identities")
}

func (*machineIdentity) inSubscription() {}

func (v *machineIdentity) run(ctx context.Context, _ env, cn *conn) (any, error) {
	cur, err := cn.client.GetMachine(ctx, cn.sub, v.group, v.name)
	if err != nil {
		return nil, err
	}
	return viewOf(identityOutput)(cn.client.PatchMachine(ctx, cn.sub, v.group, v.name, map[string]any{"identity": identityBlock(v.identities, !v.assign, &cur.Identity)}))
}

// identityBlock is the identity of a PUT (cur nil) or of a PATCH that adds
// or removes the given identities on cur.
func identityBlock(ids []string, remove bool, cur *client.ManagedIdentity) map[string]any {
	system := false
	user := map[string]any{}
	if cur != nil {
		system = cur.HasSystemAssigned()
		for id := range cur.UserAssignedIdentities {
			user[id] = map[string]any{}
		}
	}
	for _, id := range splitList(ids) {
		if strings.EqualFold(id, systemIdentity) {
			system = !remove
			continue
		}
		if remove {
			for k := range user {
				if strings.EqualFold(k, id) {
					delete(user, k)
				}
			}
			user[id] = nil
		} else {
			user[id] = map[string]any{}
		}
	}
	attached := 0
	for _, v := range user {
		if v != nil {
			attached++
		}
	}
	t := "None"
	switch {
	case system && attached > 0:
		t = "SystemAssigned, UserAssigned"
	case system:
		t = "SystemAssigned"
	case attached > 0:
		t = "UserAssigned"
	}
	out := map[string]any{"type": t}
	if len(user) > 0 && (attached > 0 || remove) {
		out["userAssignedIdentities"] = user
	}
	return out
}

// splitList reads az list values: repeated flags, commas or spaces.
func splitList(in []string) []string {
	var out []string
	for _, v := range in {
		out = append(out, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })...)
	}
	return out
}

// identityOutput is what az prints after identity assign/remove: the
// identity block as the server wrote it.
func identityOutput(m client.Machine) map[string]any {
	ident, _ := m.Raw["identity"].(map[string]any)
	out := map[string]any{"type": ident["type"], "systemAssignedIdentity": ident["principalId"], "userAssignedIdentities": ident["userAssignedIdentities"]}
	if out["userAssignedIdentities"] == nil {
		out["userAssignedIdentities"] = map[string]any{}
	}
	return out
}

// machineCredentialReset is `ward connectedmachine credential reset`.
type machineCredentialReset struct {
	machineRef
	lifetime time.Duration
}

func (v *machineCredentialReset) flags(cmd *cobra.Command) {
	v.machineRef.flags(cmd)
	cmd.Flags().DurationVar(&v.lifetime, "join-token-lifetime", time.Hour, "how long the new join token is valid (1s to 24h)")
}

func (*machineCredentialReset) inSubscription() {}

func (v *machineCredentialReset) run(ctx context.Context, e env, cn *conn) (any, error) {
	jt, err := cn.client.ResetMachineCredential(ctx, cn.sub, v.group, v.name, int64(v.lifetime/time.Second))
	if err != nil {
		return nil, err
	}
	fmt.Fprint(e.errOut, joinInstructions(cn, jt.JoinToken, jt.ExpiresOn))
	return jt, nil
}

// aksNodepoolCmd is `ward aks nodepool`: a cluster's node pools and the
// user-assigned identities their nodes' agents serve besides the kubelet
// identity.
func aksNodepoolCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "nodepool", Short: "Node pools: the identities each pool's nodes serve through ward agent"}
	identity := &cobra.Command{Use: "identity", Short: "User-assigned identities a node pool's nodes serve (besides the kubelet identity)"}
	identity.AddCommand(
		g.command("assign", "Attach user-assigned identities to a node pool (needs assign/action on each)", &poolIdentityChange{assign: true}),
		g.command("remove", "Detach user-assigned identities from a node pool", &poolIdentityChange{}),
		g.command("list", "List the identities a node pool's agents serve", &poolIdentityList{}))
	cmd.AddCommand(
		g.command("add", "Add a node pool (its agents run as ward-system/ward-agent-<name>)", &poolAdd{}),
		g.command("show", "Show a node pool", &poolShow{}),
		g.command("list", "List a cluster's node pools", &poolList{}),
		g.command("delete", "Delete a node pool; its agents are refused from their next request", &poolDelete{}),
		g.command("upgrade", "Accepted for az compatibility: Ward runs no nodes, so there is no node image or version to upgrade (shows the pool)", &poolUpgrade{}),
		identity)
	return cmd
}

// poolCluster is --cluster-name and --resource-group/-g: the cluster whose
// pools a verb addresses.
type poolCluster struct{ cluster, group string }

func (r *poolCluster) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.cluster, "cluster-name", "", "cluster name")
	cmd.Flags().StringVarP(&r.group, "resource-group", "g", "", "resource group")
}

func (r *poolCluster) check(cmd *cobra.Command) error {
	return requireFlags(cmd, "cluster-name", "resource-group")
}

// poolRef names one node pool of a cluster.
type poolRef struct {
	poolCluster
	name string
}

func (r *poolRef) flags(cmd *cobra.Command) {
	r.poolCluster.flags(cmd)
	cmd.Flags().StringVarP(&r.name, "name", "n", "", "node pool name (the default pool is nodepool1)")
	cmd.Flags().StringVar(&r.name, "nodepool-name", "", "node pool name (same as --name)")
}

func (r *poolRef) check(cmd *cobra.Command) error {
	return requireFlags(cmd, "cluster-name", "resource-group", "name")
}

// poolAdd is `ward aks nodepool add`.
type poolAdd struct{ poolRef }

func (*poolAdd) inSubscription() {}

func (v *poolAdd) run(ctx context.Context, _ env, cn *conn) (any, error) {
	return viewOf(poolView)(cn.client.PutAgentPool(ctx, cn.sub, v.group, v.cluster, v.name, map[string]any{"properties": map[string]any{}}))
}

// poolView is a node pool as the server returned it, as az prints it.
func poolView(p client.AgentPool) map[string]any { return p.Raw }

// poolShow is `ward aks nodepool show`.
type poolShow struct{ poolRef }

func (*poolShow) inSubscription() {}

func (v *poolShow) run(ctx context.Context, _ env, cn *conn) (any, error) {
	return viewOf(poolView)(cn.client.GetAgentPool(ctx, cn.sub, v.group, v.cluster, v.name))
}

// poolUpgrade is `ward aks nodepool upgrade`: the guides run it with
// --node-image-only after a change; Ward runs no nodes, so it checks the
// pool exists, says so and shows it.
type poolUpgrade struct {
	poolRef
	nodeImageOnly, yes, noWait bool
	version                    string
}

func (v *poolUpgrade) flags(cmd *cobra.Command) {
	v.poolRef.flags(cmd)
	f := cmd.Flags()
	f.BoolVar(&v.nodeImageOnly, "node-image-only", false, "upgrade only the node image (nothing to do in Ward)")
	f.StringVarP(&v.version, "kubernetes-version", "k", "", "Kubernetes version (nothing to do in Ward)")
	f.BoolVarP(&v.yes, "yes", "y", false, "do not prompt (Ward does not prompt)")
	f.BoolVar(&v.noWait, "no-wait", false, "do not wait (Ward's answers are complete)")
}

func (*poolUpgrade) inSubscription() {}

func (v *poolUpgrade) run(ctx context.Context, e env, cn *conn) (any, error) {
	p, err := cn.client.GetAgentPool(ctx, cn.sub, v.group, v.cluster, v.name)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(e.errOut, "ward: node pool '%s' unchanged: Ward runs no nodes, so there is no node image or Kubernetes version to upgrade. Its identities are served as before.\n", v.name)
	return poolView(p), nil
}

// poolList is `ward aks nodepool list`.
type poolList struct{ poolCluster }

func (*poolList) inSubscription() {}

func (v *poolList) run(ctx context.Context, _ env, cn *conn) (any, error) {
	return viewsOf(poolView)(cn.client.ListAgentPools(ctx, cn.sub, v.group, v.cluster))
}

// poolDelete is `ward aks nodepool delete`.
type poolDelete struct{ poolRef }

func (*poolDelete) inSubscription() {}

func (v *poolDelete) run(ctx context.Context, _ env, cn *conn) (any, error) {
	_, err := cn.client.DeleteAgentPool(ctx, cn.sub, v.group, v.cluster, v.name)
	return nil, err
}

// attachedIdentities reads the pool's user-assigned identities.
func (r *poolRef) attachedIdentities(ctx context.Context, cl *client.Client, sub string) (map[string]client.UserAssignedIdentity, error) {
	cur, err := cl.GetAgentPool(ctx, sub, r.group, r.cluster, r.name)
	if err != nil {
		return nil, err
	}
	return cur.Properties.WardUserAssignedIdentities, nil
}

// poolIdentityList is `ward aks nodepool identity list`.
type poolIdentityList struct{ poolRef }

func (*poolIdentityList) inSubscription() {}

func (v *poolIdentityList) run(ctx context.Context, _ env, cn *conn) (any, error) {
	attached, err := v.attachedIdentities(ctx, cn.client, cn.sub)
	if err != nil {
		return nil, err
	}
	return servedIdentities(ctx, cn.client, cn.sub, v.poolRef, attached)
}

// poolIdentityChange is `ward aks nodepool identity assign` and `remove`.
type poolIdentityChange struct {
	poolRef
	assign     bool
	identities []string
}

func (v *poolIdentityChange) flags(cmd *cobra.Command) {
	v.poolRef.flags(cmd)
	cmd.Flags().StringSliceVar(&v.identities, "identities", nil, "user-assigned identity resource IDs (space- or comma-separated, repeatable)")
}

func (v *poolIdentityChange) check(cmd *cobra.Command) error {
	return requireFlags(cmd, "cluster-name", "resource-group", "name", "identities")
}

func (*poolIdentityChange) inSubscription() {}

func (v *poolIdentityChange) run(ctx context.Context, _ env, cn *conn) (any, error) {
	attached, err := v.attachedIdentities(ctx, cn.client, cn.sub)
	if err != nil {
		return nil, err
	}
	next := map[string]any{}
	for id := range attached {
		next[id] = map[string]any{}
	}
	for _, id := range splitList(v.identities) {
		for k := range next {
			if strings.EqualFold(k, id) {
				delete(next, k)
			}
		}
		if v.assign {
			next[id] = map[string]any{}
		}
	}
	out, err := cn.client.PutAgentPool(ctx, cn.sub, v.group, v.cluster, v.name, map[string]any{"properties": map[string]any{"wardUserAssignedIdentities": next}})
	if err != nil {
		return nil, err
	}
	return servedIdentities(ctx, cn.client, cn.sub, v.poolRef, out.Properties.WardUserAssignedIdentities)
}

// servedIdentities lists what a pool's agents serve: the cluster's kubelet
// identity (the default, as on AKS nodes) and the pool's identities.
func servedIdentities(ctx context.Context, cl *client.Client, sub string, ref poolRef, attached map[string]client.UserAssignedIdentity) (any, error) {
	cluster, err := cl.GetCluster(ctx, sub, ref.group, ref.cluster)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	if k, ok := cluster.Kubelet(); ok {
		out = append(out, map[string]any{"kind": "kubelet", "default": true, "resourceId": k.ResourceID, "clientId": k.ClientID, "principalId": k.ObjectID})
	}
	ids := make([]string, 0, len(attached))
	for id := range attached {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		v := attached[id]
		out = append(out, map[string]any{"kind": "user", "default": false, "resourceId": id, "clientId": nullIfEmpty(v.ClientID), "principalId": nullIfEmpty(v.PrincipalID)})
	}
	return out, nil
}

// nullIfEmpty is s, or JSON null for an ID the server left out (an
// attachment whose identity was deleted since has none).
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
