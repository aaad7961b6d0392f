package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/deploy"
)

// systemIdentity is az's name for the system-assigned identity in
// --identities and --assign-identity lists.
const systemIdentity = "[system]"

// machineView is a machine as az connectedmachine prints it: properties
// flattened, the resource group added.
func machineView(m map[string]any) map[string]any {
	out := clusterView(m)
	delete(out, "oidcIssuerProfile")
	return out
}

// machineRef names one machine on the command line.
type machineRef struct {
	name, group string
}

func (r *machineRef) flags(c *cobra.Command) {
	c.Flags().StringVarP(&r.name, "name", "n", "", "machine name")
	c.Flags().StringVarP(&r.group, "resource-group", "g", "", "resource group")
}

func (r *machineRef) require(c *cobra.Command) error {
	return requireFlags(c, "name", "resource-group")
}

func connectedMachineCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "connectedmachine", Short: "Connected machines (Azure Arc-shaped): servers whose `ward agent` serves their managed identities"}
	identity := &cobra.Command{Use: "identity", Short: "Attach or detach a connected machine's managed identities"}
	identity.AddCommand((&machineIdentity{assign: true}).command(g), (&machineIdentity{}).command(g))
	credential := &cobra.Command{Use: "credential", Short: "The key a machine's agent authenticates with"}
	credential.AddCommand((&machineCredentialReset{}).command(g))
	cmd.AddCommand((&machineCreate{}).command(g), (&machineShow{}).command(g), (&machineList{}).command(g), (&machineDelete{}).command(g), identity, credential)
	return cmd
}

type machineCreate struct {
	ref           machineRef
	location      string
	tags          []string
	identities    []string
	tokenLifetime time.Duration
}

func (v *machineCreate) command(g *Globals) *cobra.Command {
	c := &cobra.Command{Use: "create", Short: "Create a connected machine and print the one-time join token its agent registers with",
		Long: "Create a connected machine with a system-assigned identity (and the user-assigned identities of --assign-identity).\n" +
			"The output carries wardJoinToken, valid once and for --join-token-lifetime; stderr says what to run on the machine.",
		PreRunE: func(cmd *cobra.Command, args []string) error { return v.ref.require(cmd) }}
	v.ref.flags(c)
	c.Flags().StringVarP(&v.location, "location", "l", "", "location (default: the resource group's)")
	c.Flags().StringArrayVar(&v.tags, "tags", nil, "space-separated tags: key[=value]")
	c.Flags().StringSliceVar(&v.identities, "assign-identity", nil, "identities: [system] and/or user-assigned identity resource IDs (default: [system])")
	c.Flags().DurationVar(&v.tokenLifetime, "join-token-lifetime", time.Hour, "how long the join token is valid (1s to 24h)")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		return g.runConn(func(ctx context.Context, cn *conn) (any, error) {
			sub, err := cn.subscription()
			if err != nil {
				return nil, err
			}
			return v.run(ctx, cmd.ErrOrStderr(), cn, sub)
		})(cmd, args)
	}
	return c
}

func (v *machineCreate) run(ctx context.Context, stderr io.Writer, cn *conn, sub string) (any, error) {
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
	out, err := cn.client.PutMachine(ctx, sub, v.ref.group, v.ref.name, body)
	if err != nil {
		return nil, err
	}
	view := machineView(out)
	token, _ := view["wardJoinToken"].(string)
	if v.tokenLifetime != time.Hour && token != "" {
		// The create response's token has the default lifetime; replace it.
		jt, err := cn.client.ResetMachineCredential(ctx, sub, v.ref.group, v.ref.name, int64(v.tokenLifetime/time.Second))
		if err != nil {
			return nil, err
		}
		token, view["wardJoinToken"], view["wardJoinTokenExpiresOn"] = jt.JoinToken, jt.JoinToken, jt.ExpiresOn
	}
	if token != "" {
		fmt.Fprint(stderr, joinInstructions(cn, token, fmt.Sprint(view["wardJoinTokenExpiresOn"])))
	}
	return view, nil
}

// joinInstructions tells the operator what to run on the machine.
func joinInstructions(cn *conn, token, expires string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nOn the machine, as root (the join token is valid once, until %s):\n\n", expires)
	fmt.Fprintf(&b, "  ward agent join --server %s --ca-file /etc/ward/ca.pem --token '%s'\n", cn.server, token)
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

type machineShow struct{ ref machineRef }

func (v *machineShow) command(g *Globals) *cobra.Command {
	c := &cobra.Command{Use: "show", Short: "Show a connected machine",
		PreRunE: func(cmd *cobra.Command, args []string) error { return v.ref.require(cmd) },
		RunE: g.run(func(ctx context.Context, cl *client.Client, sub string) (any, error) {
			out, err := cl.GetMachine(ctx, sub, v.ref.group, v.ref.name)
			if err != nil {
				return nil, err
			}
			return machineView(out), nil
		})}
	v.ref.flags(c)
	return c
}

type machineList struct{ group string }

func (v *machineList) command(g *Globals) *cobra.Command {
	c := &cobra.Command{Use: "list", Short: "List connected machines",
		RunE: g.run(func(ctx context.Context, cl *client.Client, sub string) (any, error) {
			items, err := cl.ListMachines(ctx, sub, v.group)
			if err != nil {
				return nil, err
			}
			out := []map[string]any{}
			for _, it := range items {
				out = append(out, machineView(it))
			}
			return out, nil
		})}
	c.Flags().StringVarP(&v.group, "resource-group", "g", "", "resource group (default: the whole subscription)")
	return c
}

type machineDelete struct{ ref machineRef }

func (v *machineDelete) command(g *Globals) *cobra.Command {
	c := &cobra.Command{Use: "delete", Short: "Delete a connected machine with its system-assigned identity; its agent stops serving within a second",
		PreRunE: func(cmd *cobra.Command, args []string) error { return v.ref.require(cmd) },
		RunE: g.run(func(ctx context.Context, cl *client.Client, sub string) (any, error) {
			_, err := cl.DeleteMachine(ctx, sub, v.ref.group, v.ref.name)
			return nil, err
		})}
	v.ref.flags(c)
	c.Flags().BoolP("yes", "y", false, "do not prompt for confirmation")
	return c
}

type machineIdentity struct {
	assign     bool
	ref        machineRef
	identities []string
}

func (v *machineIdentity) command(g *Globals) *cobra.Command {
	use, short := "remove", "Detach identities from a connected machine ([system] deletes its system-assigned identity)"
	if v.assign {
		use, short = "assign", "Attach identities to a connected machine (needs Microsoft.ManagedIdentity/userAssignedIdentities/assign/action on each)"
	}
	c := &cobra.Command{Use: use, Short: short,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			return requireFlags(cmd, "name", "resource-group", "identities")
		},
		RunE: g.run(func(ctx context.Context, cl *client.Client, sub string) (any, error) {
			cur, err := cl.GetMachine(ctx, sub, v.ref.group, v.ref.name)
			if err != nil {
				return nil, err
			}
			out, err := cl.PatchMachine(ctx, sub, v.ref.group, v.ref.name, map[string]any{"identity": identityBlock(v.identities, !v.assign, cur)})
			if err != nil {
				return nil, err
			}
			return identityOutput(out), nil
		})}
	v.ref.flags(c)
	c.Flags().StringSliceVar(&v.identities, "identities", nil, "[system] and/or user-assigned identity resource IDs (space- or comma-separated, repeatable)")
	return c
}

// identityBlock is the identity of a PUT (cur nil) or of a PATCH that adds
// or removes the given identities on cur.
func identityBlock(ids []string, remove bool, cur map[string]any) map[string]any {
	system := false
	user := map[string]any{}
	if cur != nil {
		ident, _ := cur["identity"].(map[string]any)
		t, _ := ident["type"].(string)
		system = strings.Contains(strings.ToLower(t), "systemassigned")
		if ua, ok := ident["userAssignedIdentities"].(map[string]any); ok {
			for id := range ua {
				user[id] = map[string]any{}
			}
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

// identityOutput is what az prints after identity assign/remove.
func identityOutput(m map[string]any) map[string]any {
	ident, _ := m["identity"].(map[string]any)
	out := map[string]any{"type": ident["type"], "systemAssignedIdentity": ident["principalId"], "userAssignedIdentities": ident["userAssignedIdentities"]}
	if out["userAssignedIdentities"] == nil {
		out["userAssignedIdentities"] = map[string]any{}
	}
	return out
}

type machineCredentialReset struct {
	ref      machineRef
	lifetime time.Duration
}

func (v *machineCredentialReset) command(g *Globals) *cobra.Command {
	c := &cobra.Command{Use: "reset", Short: "Revoke the machine agent's key (it stops serving within a second) and print a new one-time join token",
		PreRunE: func(cmd *cobra.Command, args []string) error { return v.ref.require(cmd) }}
	c.RunE = func(cmd *cobra.Command, args []string) error {
		return g.runConn(func(ctx context.Context, cn *conn) (any, error) {
			sub, err := cn.subscription()
			if err != nil {
				return nil, err
			}
			jt, err := cn.client.ResetMachineCredential(ctx, sub, v.ref.group, v.ref.name, int64(v.lifetime/time.Second))
			if err != nil {
				return nil, err
			}
			fmt.Fprint(cmd.ErrOrStderr(), joinInstructions(cn, jt.JoinToken, jt.ExpiresOn))
			return jt, nil
		})(cmd, args)
	}
	v.ref.flags(c)
	c.Flags().DurationVar(&v.lifetime, "join-token-lifetime", time.Hour, "how long the new join token is valid (1s to 24h)")
	return c
}

// aksNodepoolCmd is `ward aks nodepool`: a cluster's node pools and the
// user-assigned identities their nodes' agents serve besides the kubelet
// identity.
func aksNodepoolCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "nodepool", Short: "Node pools: the identities each pool's nodes serve through ward agent"}
	identity := &cobra.Command{Use: "identity", Short: "User-assigned identities a node pool's nodes serve (besides the kubelet identity)"}
	identity.AddCommand((&poolIdentity{op: "assign"}).command(g), (&poolIdentity{op: "remove"}).command(g), (&poolIdentity{op: "list"}).command(g))
	cmd.AddCommand((&poolVerb{op: "add"}).command(g), (&poolVerb{op: "show"}).command(g), (&poolVerb{op: "list"}).command(g), (&poolVerb{op: "delete"}).command(g), identity)
	return cmd
}

type poolRef struct{ cluster, group, name string }

func (r *poolRef) flags(c *cobra.Command, named bool) {
	c.Flags().StringVar(&r.cluster, "cluster-name", "", "cluster name")
	c.Flags().StringVarP(&r.group, "resource-group", "g", "", "resource group")
	if named {
		c.Flags().StringVarP(&r.name, "name", "n", "", "node pool name (the default pool is nodepool1)")
		c.Flags().StringVar(&r.name, "nodepool-name", "", "node pool name (same as --name)")
	}
}

type poolVerb struct {
	op  string
	ref poolRef
}

func (v *poolVerb) command(g *Globals) *cobra.Command {
	short := map[string]string{"add": "Add a node pool (its agents run as ward-system/ward-agent-<name>)", "show": "Show a node pool",
		"list": "List a cluster's node pools", "delete": "Delete a node pool; its agents are refused from their next request"}[v.op]
	c := &cobra.Command{Use: v.op, Short: short,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if v.op == "list" {
				return requireFlags(cmd, "cluster-name", "resource-group")
			}
			return requireFlags(cmd, "cluster-name", "resource-group", "name")
		},
		RunE: g.run(func(ctx context.Context, cl *client.Client, sub string) (any, error) {
			switch v.op {
			case "add":
				return cl.PutAgentPool(ctx, sub, v.ref.group, v.ref.cluster, v.ref.name, map[string]any{"properties": map[string]any{}})
			case "show":
				return cl.GetAgentPool(ctx, sub, v.ref.group, v.ref.cluster, v.ref.name)
			case "list":
				return cl.ListAgentPools(ctx, sub, v.ref.group, v.ref.cluster)
			}
			_, err := cl.DeleteAgentPool(ctx, sub, v.ref.group, v.ref.cluster, v.ref.name)
			return nil, err
		})}
	v.ref.flags(c, v.op != "list")
	return c
}

type poolIdentity struct {
	op         string
	ref        poolRef
	identities []string
}

func (v *poolIdentity) command(g *Globals) *cobra.Command {
	short := map[string]string{"assign": "Attach user-assigned identities to a node pool (needs assign/action on each)",
		"remove": "Detach user-assigned identities from a node pool", "list": "List the identities a node pool's agents serve"}[v.op]
	c := &cobra.Command{Use: v.op, Short: short,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if v.op == "list" {
				return requireFlags(cmd, "cluster-name", "resource-group", "name")
			}
			return requireFlags(cmd, "cluster-name", "resource-group", "name", "identities")
		},
		RunE: g.run(func(ctx context.Context, cl *client.Client, sub string) (any, error) {
			cur, err := cl.GetAgentPool(ctx, sub, v.ref.group, v.ref.cluster, v.ref.name)
			if err != nil {
				return nil, err
			}
			props, _ := cur["properties"].(map[string]any)
			attached, _ := props["wardUserAssignedIdentities"].(map[string]any)
			if v.op == "list" {
				return poolIdentityList(ctx, cl, sub, v.ref, attached)
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
				if v.op == "assign" {
					next[id] = map[string]any{}
				}
			}
			out, err := cl.PutAgentPool(ctx, sub, v.ref.group, v.ref.cluster, v.ref.name, map[string]any{"properties": map[string]any{"wardUserAssignedIdentities": next}})
			if err != nil {
				return nil, err
			}
			props, _ = out["properties"].(map[string]any)
			return poolIdentityList(ctx, cl, sub, v.ref, props["wardUserAssignedIdentities"].(map[string]any))
		})}
	v.ref.flags(c, true)
	if v.op != "list" {
		c.Flags().StringSliceVar(&v.identities, "identities", nil, "user-assigned identity resource IDs (space- or comma-separated, repeatable)")
	}
	return c
}

// poolIdentityList lists what a pool's agents serve: the cluster's kubelet
// identity (the default, as on AKS nodes) and the pool's identities.
func poolIdentityList(ctx context.Context, cl *client.Client, sub string, ref poolRef, attached map[string]any) (any, error) {
	cluster, err := cl.GetCluster(ctx, sub, ref.group, ref.cluster)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	if props, ok := cluster["properties"].(map[string]any); ok {
		if k, ok := props["identityProfile"].(map[string]any)["kubeletidentity"].(map[string]any); ok {
			out = append(out, map[string]any{"kind": "kubelet", "default": true, "resourceId": k["resourceId"], "clientId": k["clientId"], "principalId": k["objectId"]})
		}
	}
	ids := make([]string, 0, len(attached))
	for id := range attached {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		v, _ := attached[id].(map[string]any)
		out = append(out, map[string]any{"kind": "user", "default": false, "resourceId": id, "clientId": v["clientId"], "principalId": v["principalId"]})
	}
	return out, nil
}
