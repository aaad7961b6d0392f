package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
)

// `ward policy`: Azure Policy definitions and assignments and the
// compliance of existing resources, with az's verbs and flags.

func policyCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Azure Policy: definitions, assignments and compliance states"}
	definition := &cobra.Command{Use: "definition", Short: "Policy definitions (built-in and custom)"}
	create := noArgs(g.command("create", "Create or replace a custom policy definition", &policyDefinitionCreate{}))
	create.Long = `Create a custom policy definition at the subscription, as 'az policy definition create' does.

--rules is the policy rule as inline JSON, a file path or @file.json:

  {"if": {"allOf": [
     {"field": "type", "equals": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"},
     {"field": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/issuer", "notIn": "[parameters('issuers')]"}]},
   "then": {"effect": "[parameters('effect')]"}}

--params declares its parameters the same way. See docs/policy.md for the
aliases, operators, functions and effects Ward evaluates.`
	definition.AddCommand(
		noArgs(g.command("list", "List the built-in definitions and the subscription's custom ones", &policyDefinitionList{})),
		noArgs(g.command("show", "Show a definition by name (custom, else built-in) or ID", &policyDefinitionShow{})),
		create,
	)
	assignment := &cobra.Command{Use: "assignment", Short: "Policy assignments"}
	assignment.AddCommand(
		noArgs(g.command("create", "Assign a policy definition at a scope", &policyAssignmentCreate{})),
		noArgs(g.command("list", "List the assignments at a scope", &policyAssignmentList{})),
		noArgs(g.command("delete", "Delete an assignment", &policyAssignmentDelete{})),
	)
	state := &cobra.Command{Use: "state", Short: "Compliance of existing resources"}
	state.AddCommand(noArgs(g.command("list", "List the policy states of the subscription's or a group's resources", &policyStateList{})))
	cmd.AddCommand(definition, assignment, state)
	return cmd
}

// readJSONArg reads a JSON argument as az does: @file, a file path, or
// inline JSON.
func readJSONArg(flag, arg string) (json.RawMessage, error) {
	if arg == "" {
		return nil, nil
	}
	data := []byte(arg)
	switch {
	case strings.HasPrefix(arg, "@"):
		b, err := os.ReadFile(arg[1:])
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", flag, err)
		}
		data = b
	case !strings.HasPrefix(strings.TrimSpace(arg), "{") && !strings.HasPrefix(strings.TrimSpace(arg), "["):
		if b, err := os.ReadFile(arg); err == nil {
			data = b
		}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !json.Valid(data) {
		return nil, fmt.Errorf("--%s is not valid JSON (inline, a file path or @file.json)", flag)
	}
	return json.RawMessage(data), nil
}

// policyDefinitionView is a definition as az prints it: properties
// flattened beside id, name and type.
func policyDefinitionView(d client.PolicyDefinition) map[string]any {
	p := d.Properties
	return map[string]any{"id": d.ID, "name": d.Name, "type": d.Type, "displayName": p.DisplayName, "policyType": p.PolicyType,
		"mode": p.Mode, "description": p.Description, "metadata": p.Metadata, "parameters": p.Parameters, "policyRule": p.PolicyRule}
}

func policyAssignmentView(a client.PolicyAssignment) map[string]any {
	p := a.Properties
	notScopes := p.NotScopes
	if notScopes == nil {
		notScopes = []string{}
	}
	return map[string]any{"id": a.ID, "name": a.Name, "type": a.Type, "location": a.Location, "displayName": p.DisplayName,
		"description": p.Description, "policyDefinitionId": p.PolicyDefinitionID, "scope": p.Scope, "notScopes": notScopes,
		"parameters": p.Parameters, "enforcementMode": p.EnforcementMode}
}

// policyDefinitionList is `ward policy definition list`.
type policyDefinitionList struct{}

func (*policyDefinitionList) flags(*cobra.Command) {}
func (*policyDefinitionList) inSubscription()      {}

func (*policyDefinitionList) run(ctx context.Context, _ env, c *conn) (any, error) {
	return viewsOf(policyDefinitionView)(c.client.ListPolicyDefinitions(ctx, c.sub))
}

// policyDefinitionShow is `ward policy definition show`.
type policyDefinitionShow struct{ name string }

func (v *policyDefinitionShow) flags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&v.name, "name", "n", "", "the definition's name (a GUID for built-ins) or resource ID")
}
func (v *policyDefinitionShow) check(cmd *cobra.Command) error { return requireFlags(cmd, "name") }
func (*policyDefinitionShow) inSubscription()                  {}

func (v *policyDefinitionShow) run(ctx context.Context, _ env, c *conn) (any, error) {
	d, err := c.client.GetPolicyDefinition(ctx, c.sub, v.name)
	if err != nil {
		return nil, err
	}
	return policyDefinitionView(d), nil
}

// policyDefinitionCreate is `ward policy definition create`.
type policyDefinitionCreate struct {
	name, rules, params, displayName, description, mode string
	metadata                                            []string
}

func (v *policyDefinitionCreate) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&v.name, "name", "n", "", "the definition's name")
	f.StringVar(&v.rules, "rules", "", "the policy rule as JSON: inline, a file path or @file.json")
	f.StringVar(&v.params, "params", "", "the parameters' declarations as JSON: inline, a file path or @file.json")
	f.StringVar(&v.displayName, "display-name", "", "display name")
	f.StringVar(&v.description, "description", "", "description")
	f.StringVar(&v.mode, "mode", "Indexed", "All or Indexed (az's default)")
	f.StringSliceVar(&v.metadata, "metadata", nil, "metadata as key=value pairs")
}
func (v *policyDefinitionCreate) check(cmd *cobra.Command) error {
	return requireFlags(cmd, "name", "rules")
}
func (*policyDefinitionCreate) inSubscription() {}

func (v *policyDefinitionCreate) run(ctx context.Context, _ env, c *conn) (any, error) {
	rules, err := readJSONArg("rules", v.rules)
	if err != nil {
		return nil, err
	}
	p := client.PolicyDefinitionProperties{DisplayName: v.displayName, Description: v.description, Mode: v.mode, PolicyRule: rules}
	if raw, err := readJSONArg("params", v.params); err != nil {
		return nil, err
	} else if raw != nil {
		if err := json.Unmarshal(raw, &p.Parameters); err != nil {
			return nil, fmt.Errorf("--params must be a JSON object of parameter declarations: %w", err)
		}
	}
	if len(v.metadata) > 0 {
		m := map[string]string{}
		for _, kv := range v.metadata {
			k, val, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("--metadata %q is not key=value", kv)
			}
			m[k] = val
		}
		p.Metadata, _ = json.Marshal(m)
	}
	d, err := c.client.PutPolicyDefinition(ctx, c.sub, v.name, p)
	if err != nil {
		return nil, err
	}
	return policyDefinitionView(d), nil
}

// policyScope is az's: --scope, else the group, else the subscription.
func policyScope(c *conn, scope, group string) (string, error) {
	if scope != "" {
		return scope, nil
	}
	sub, err := c.subscription()
	if err != nil {
		return "", fmt.Errorf("give --scope, or select a subscription: %w", err)
	}
	if group != "" {
		return "/subscriptions/" + sub + "/resourceGroups/" + group, nil
	}
	return "/subscriptions/" + sub, nil
}

// policyAssignmentCreate is `ward policy assignment create`.
type policyAssignmentCreate struct {
	name, policy, scope, group, params, notScopes, mode, displayName, description, location string
}

func (v *policyAssignmentCreate) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&v.name, "name", "n", "", "the assignment's name (default: a random one, as az makes)")
	f.StringVar(&v.policy, "policy", "", "the definition's name (custom, else built-in) or resource ID")
	f.StringVar(&v.scope, "scope", "", "scope: '/', a subscription, a group or a resource ID (default: the group, else the subscription)")
	f.StringVarP(&v.group, "resource-group", "g", "", "assign at this resource group")
	f.StringVarP(&v.params, "params", "p", "", `parameter values as JSON ({"name": {"value": ...}}): inline, a file path or @file.json`)
	f.StringVar(&v.notScopes, "not-scopes", "", "space-separated scopes the assignment does not apply to")
	f.StringVarP(&v.mode, "enforcement-mode", "e", "Default", "Default (deny denies) or DoNotEnforce (only report)")
	f.StringVar(&v.displayName, "display-name", "", "display name")
	f.StringVar(&v.description, "description", "", "description")
	f.StringVarP(&v.location, "location", "l", "", "location (kept as given; Ward's effects need none)")
}

func (v *policyAssignmentCreate) check(cmd *cobra.Command) error {
	if err := requireFlags(cmd, "policy"); err != nil {
		return fmt.Errorf("usage error: --policy NAME_OR_ID (policy set definitions are not served by Ward): %w", err)
	}
	if !strings.EqualFold(v.mode, "Default") && !strings.EqualFold(v.mode, "DoNotEnforce") {
		return fmt.Errorf("--enforcement-mode: %q is not one of Default, DoNotEnforce", v.mode)
	}
	return nil
}

func (v *policyAssignmentCreate) run(ctx context.Context, _ env, c *conn) (any, error) {
	scope, err := policyScope(c, v.scope, v.group)
	if err != nil {
		return nil, err
	}
	defID := v.policy
	if !strings.HasPrefix(defID, "/") {
		d, err := c.client.GetPolicyDefinition(ctx, c.sub, v.policy)
		if err != nil {
			return nil, err
		}
		defID = d.ID
	}
	a := client.PolicyAssignment{Location: v.location, Properties: client.PolicyAssignmentProperties{DisplayName: v.displayName, Description: v.description,
		PolicyDefinitionID: defID, Scope: scope, EnforcementMode: v.mode}}
	if raw, err := readJSONArg("params", v.params); err != nil {
		return nil, err
	} else if raw != nil {
		if err := json.Unmarshal(raw, &a.Properties.Parameters); err != nil {
			return nil, fmt.Errorf(`--params must be a JSON object {"name": {"value": ...}}: %w`, err)
		}
	}
	for _, ns := range strings.Fields(v.notScopes) {
		if !strings.HasPrefix(ns, "/") {
			return nil, fmt.Errorf("invalid resource ID value in --not-scopes: '%s'", ns)
		}
		a.Properties.NotScopes = append(a.Properties.NotScopes, ns)
	}
	name := v.name
	if name == "" {
		id := uuid.New()
		name = base64.RawURLEncoding.EncodeToString(id[:])
	}
	out, err := c.client.PutPolicyAssignment(ctx, scope, name, a)
	if err != nil {
		return nil, err
	}
	return policyAssignmentView(out), nil
}

// policyAssignmentList is `ward policy assignment list`.
type policyAssignmentList struct {
	scope, group string
	all          bool
}

func (v *policyAssignmentList) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&v.scope, "scope", "", "scope (default: the group, else the subscription)")
	f.StringVarP(&v.group, "resource-group", "g", "", "list at this resource group")
	f.BoolVar(&v.all, "disable-scope-strict-match", false, "also list the assignments above and below the scope")
}

func (v *policyAssignmentList) run(ctx context.Context, _ env, c *conn) (any, error) {
	scope, err := policyScope(c, v.scope, v.group)
	if err != nil {
		return nil, err
	}
	list, err := c.client.ListPolicyAssignments(ctx, scope)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	norm := func(s string) string { return strings.Trim(strings.ToLower(s), "/") }
	for _, a := range list {
		if v.all || norm(a.Properties.Scope) == norm(scope) {
			out = append(out, policyAssignmentView(a))
		}
	}
	return out, nil
}

// policyAssignmentDelete is `ward policy assignment delete`.
type policyAssignmentDelete struct{ name, scope, group string }

func (v *policyAssignmentDelete) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&v.name, "name", "n", "", "the assignment's name")
	f.StringVar(&v.scope, "scope", "", "scope (default: the group, else the subscription)")
	f.StringVarP(&v.group, "resource-group", "g", "", "the assignment's resource group")
}
func (v *policyAssignmentDelete) check(cmd *cobra.Command) error { return requireFlags(cmd, "name") }

func (v *policyAssignmentDelete) run(ctx context.Context, _ env, c *conn) (any, error) {
	scope, err := policyScope(c, v.scope, v.group)
	if err != nil {
		return nil, err
	}
	_, err = c.client.DeletePolicyAssignment(ctx, scope, v.name)
	return nil, err
}

// policyStateList is `ward policy state list`.
type policyStateList struct {
	group, filter, assignment string
	top                       int
}

func (v *policyStateList) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&v.group, "resource-group", "g", "", "the group's resources (default: the subscription's)")
	f.StringVar(&v.filter, "filter", "", "OData filter, e.g. \"complianceState eq 'NonCompliant'\"")
	f.StringVarP(&v.assignment, "policy-assignment", "a", "", "only the states of this assignment (name)")
	f.IntVar(&v.top, "top", 0, "at most this many states")
}
func (*policyStateList) inSubscription() {}

func (v *policyStateList) run(ctx context.Context, _ env, c *conn) (any, error) {
	scope, err := policyScope(c, "", v.group)
	if err != nil {
		return nil, err
	}
	filter := v.filter
	if v.assignment != "" {
		clause := "policyAssignmentName eq '" + strings.ReplaceAll(v.assignment, "'", "''") + "'"
		if filter == "" {
			filter = clause
		} else {
			filter += " and " + clause
		}
	}
	return c.client.QueryPolicyStates(ctx, scope, filter, v.top)
}
