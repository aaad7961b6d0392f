package cli

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
)

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func roleAssignmentView(a client.RoleAssignment, roleName string) map[string]any {
	return map[string]any{"id": a.ID, "name": a.Name, "type": a.Type, "principalId": a.Properties.PrincipalID,
		"principalType": a.Properties.PrincipalType, "roleDefinitionId": a.Properties.RoleDefinitionID,
		"roleDefinitionName": roleName, "scope": a.Properties.Scope, "createdOn": a.Properties.CreatedOn}
}

// roleAssignmentTable is az's table of role assignments: Principal, Role,
// Scope (its transform_assignment_list), which fits a terminal where the
// IDs would not.
func roleAssignmentTable(views []map[string]any) func() any {
	return func() any {
		out := make([]map[string]any, 0, len(views))
		for _, v := range views {
			principal := v["principalName"]
			if principal == "" || principal == nil {
				principal = v["principalId"]
			}
			out = append(out, map[string]any{"Principal": principal, "Role": v["roleDefinitionName"], "Scope": v["scope"]})
		}
		return orderedTable{cols: []string{"Principal", "Role", "Scope"}, rows: out}
	}
}

// principalNames maps object IDs to the names az shows for principals:
// a service principal's appId, an identity's client ID. Lookups the caller
// may not make are skipped.
func principalNames(ctx context.Context, c *conn) map[string]string {
	names := map[string]string{}
	if sps, err := c.client.ListServicePrincipals(ctx, ""); err == nil {
		for _, sp := range sps {
			names[strings.ToLower(sp.ID)] = sp.AppID
		}
	}
	if c.sub != "" {
		if ids, err := c.client.ListIdentities(ctx, c.sub, ""); err == nil {
			for _, id := range ids {
				names[strings.ToLower(id.Properties.PrincipalID)] = id.Properties.ClientID
			}
		}
	}
	return names
}

// resolveRole finds a role by name or ID and returns its resource ID and name.
func resolveRole(ctx context.Context, c *client.Client, scope, role string) (string, string, error) {
	roles, err := c.ListRoleDefinitions(ctx, scope, "")
	if err != nil {
		return "", "", err
	}
	for _, r := range roles {
		if strings.EqualFold(r.Properties.RoleName, role) || strings.EqualFold(r.Name, role) || strings.EqualFold(r.ID, role) {
			return r.ID, r.Properties.RoleName, nil
		}
	}
	return "", "", fmt.Errorf("role '%s' does not exist", role)
}

// resolveAssignee maps a client ID, object ID or display name to an object ID.
func resolveAssignee(ctx context.Context, c *client.Client, sub, assignee string) (string, error) {
	sps, err := c.ListServicePrincipals(ctx, "")
	if err != nil {
		return "", err
	}
	if id, ok := matchServicePrincipal(sps, assignee); ok {
		return id, nil
	}
	var ids []client.Identity
	if sub != "" {
		var err error
		if ids, err = c.ListIdentities(ctx, sub, ""); err != nil {
			return "", err
		}
	}
	return matchIdentity(ids, assignee)
}

// matchServicePrincipal is the object ID of the service principal that
// --assignee names: by application (client) ID or object ID in any case,
// or by display name exactly, as az matches it.
func matchServicePrincipal(sps []client.ServicePrincipal, assignee string) (string, bool) {
	for _, sp := range sps {
		if strings.EqualFold(sp.AppID, assignee) || strings.EqualFold(sp.ID, assignee) || sp.DisplayName == assignee {
			return sp.ID, true
		}
	}
	return "", false
}

// matchIdentity is the principal ID of the managed identity that
// --assignee names (its client ID, principal ID or resource ID), or az's
// error for an assignee found nowhere.
func matchIdentity(ids []client.Identity, assignee string) (string, error) {
	for _, id := range ids {
		if strings.EqualFold(id.Properties.ClientID, assignee) || strings.EqualFold(id.Properties.PrincipalID, assignee) || strings.EqualFold(id.ID, assignee) {
			return id.Properties.PrincipalID, nil
		}
	}
	return "", fmt.Errorf("cannot find user or service principal in graph database for '%s'. If the assignee is an object ID, use --assignee-object-id and --assignee-principal-type", assignee)
}

func roleCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "role", Short: "Role definitions and role assignments (Azure RBAC)"}
	assignment := &cobra.Command{Use: "assignment", Short: "Role assignments"}
	assignment.AddCommand(
		g.command("create", "Assign a role to a principal at a scope", &roleAssignmentCreate{}),
		g.command("list", "List role assignments", &roleAssignmentList{}),
		g.command("delete", "Delete role assignments by --ids, or by --assignee/--role/--scope", &roleAssignmentDelete{}),
	)
	definition := &cobra.Command{Use: "definition", Short: "Role definitions"}
	definition.AddCommand(g.command("list", "List role definitions", &roleDefinitionList{}))
	definition.AddCommand(roleDefinitionCmds(g)...)
	cmd.AddCommand(assignment, definition)
	return cmd
}

// scopeOrSubscription is --scope, or the selected subscription's scope.
func scopeOrSubscription(c *conn, scope string) (string, error) {
	if scope != "" {
		return scope, nil
	}
	sub, err := c.subscription()
	if err != nil {
		return "", fmt.Errorf("give --scope, or select a subscription: %w", err)
	}
	return "/subscriptions/" + sub, nil
}

// roleAssignmentCreate is `ward role assignment create`.
type roleAssignmentCreate struct {
	assignee, objectID, principalType, role, scope, name string
}

func (v *roleAssignmentCreate) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&v.assignee, "assignee", "", "client ID, object ID or display name of the principal")
	f.StringVar(&v.objectID, "assignee-object-id", "", "object (principal) ID, used as given")
	f.StringVar(&v.principalType, "assignee-principal-type", "", "ServicePrincipal, User, Group, ...")
	f.StringVar(&v.role, "role", "", "role name or ID")
	f.StringVar(&v.scope, "scope", "", "scope, e.g. /subscriptions/<sub>/resourceGroups/<rg>")
	f.StringVar(&v.name, "name", "", "assignment GUID (default: new)")
}

func (v *roleAssignmentCreate) check(cmd *cobra.Command) error {
	if v.assignee == "" && v.objectID == "" {
		return fmt.Errorf("the following arguments are required: --assignee or --assignee-object-id")
	}
	return requireFlags(cmd, "role", "scope")
}

func (v *roleAssignmentCreate) run(ctx context.Context, e env, c *conn) (any, error) {
	roleID, roleName, err := resolveRole(ctx, c.client, v.scope, v.role)
	if err != nil {
		return nil, err
	}
	pid := v.objectID
	if pid == "" {
		if pid, err = resolveAssignee(ctx, c.client, c.sub, v.assignee); err != nil {
			return nil, err
		}
	}
	n := v.name
	if n == "" {
		n = uuid.NewString()
	}
	a, err := c.client.CreateRoleAssignment(ctx, v.scope, n, roleID, pid, v.principalType)
	var ce *client.Error
	if errors.As(err, &ce) && ce.Code == "RoleAssignmentExists" {
		// As az does: the assignment a setup script asks for is there,
		// so running the script again succeeds and shows it.
		if existing, ok, lerr := findAssignment(ctx, c, v.scope, pid, roleID); lerr != nil {
			return nil, lerr
		} else if ok {
			fmt.Fprintln(e.errOut, "ward: the role assignment already exists; showing it.")
			return roleAssignmentView(existing, roleName), nil
		}
	}
	if err != nil {
		return nil, err
	}
	return roleAssignmentView(a, roleName), nil
}

// findAssignment finds the assignment of role to principal at exactly
// scope.
func findAssignment(ctx context.Context, c *conn, scope, principalID, roleID string) (client.RoleAssignment, bool, error) {
	list, err := c.client.ListRoleAssignments(ctx, scope, "principalId eq '"+principalID+"'")
	if err != nil {
		return client.RoleAssignment{}, false, err
	}
	a, ok := matchAssignment(list, scope, principalID, roleID)
	return a, ok, nil
}

// matchAssignment is the assignment in list of role to principal at
// exactly scope (not above it): scopes compared without case or a
// trailing slash, roles by their GUID whatever scope their ID names.
func matchAssignment(list []client.RoleAssignment, scope, principalID, roleID string) (client.RoleAssignment, bool) {
	norm := func(s string) string { return strings.ToLower(strings.TrimSuffix(s, "/")) }
	for _, a := range list {
		if norm(a.Properties.Scope) == norm(scope) && strings.EqualFold(a.Properties.PrincipalID, principalID) &&
			strings.EqualFold(path.Base(a.Properties.RoleDefinitionID), path.Base(roleID)) {
			return a, true
		}
	}
	return client.RoleAssignment{}, false
}

// roleAssignmentList is `ward role assignment list`.
type roleAssignmentList struct {
	assignee, role, scope string
	all                   bool
}

func (v *roleAssignmentList) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&v.assignee, "assignee", "", "only this principal's assignments")
	f.StringVar(&v.role, "role", "", "only this role")
	f.StringVar(&v.scope, "scope", "", "scope (default: the subscription)")
	f.BoolVar(&v.all, "all", false, "every assignment, at every scope")
}

func (v *roleAssignmentList) run(ctx context.Context, _ env, c *conn) (any, error) {
	sc, filter := "/", ""
	if !v.all {
		var err error
		if sc, err = scopeOrSubscription(c, v.scope); err != nil {
			return nil, err
		}
		filter = "atScope()"
	}
	if v.assignee != "" {
		pid, err := resolveAssignee(ctx, c.client, c.sub, v.assignee)
		if err != nil {
			return nil, err
		}
		if filter != "" {
			filter += " and "
		}
		filter += "assignedTo('" + pid + "')"
	}
	items, err := c.client.ListRoleAssignments(ctx, sc, filter)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	if roles, err := c.client.ListRoleDefinitions(ctx, "/", ""); err == nil {
		for _, r := range roles {
			names[strings.ToLower(r.Name)] = r.Properties.RoleName
		}
	}
	principals := principalNames(ctx, c)
	out := []map[string]any{}
	for _, a := range items {
		rid := a.Properties.RoleDefinitionID
		rn := names[strings.ToLower(rid[strings.LastIndex(rid, "/")+1:])]
		if v.role != "" && !strings.EqualFold(rn, v.role) && !strings.HasSuffix(strings.ToLower(rid), strings.ToLower(v.role)) {
			continue
		}
		view := roleAssignmentView(a, rn)
		view["principalName"] = principals[strings.ToLower(a.Properties.PrincipalID)]
		out = append(out, view)
	}
	return tableView{value: out, table: roleAssignmentTable(out)}, nil
}

// roleAssignmentDelete is `ward role assignment delete`.
type roleAssignmentDelete struct {
	ids, assignee, role, scope string
}

func (v *roleAssignmentDelete) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&v.ids, "ids", "", "space-separated assignment resource IDs")
	f.StringVar(&v.assignee, "assignee", "", "principal")
	f.StringVar(&v.role, "role", "", "role name or ID")
	f.StringVar(&v.scope, "scope", "", "scope (default: the subscription)")
}

func (v *roleAssignmentDelete) run(ctx context.Context, _ env, c *conn) (any, error) {
	if v.ids != "" {
		for _, id := range strings.Fields(v.ids) {
			if err := c.client.DeleteRoleAssignment(ctx, id); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	if v.assignee == "" && v.role == "" {
		return nil, fmt.Errorf("give --ids, or --assignee and/or --role (with --scope) to choose what to delete")
	}
	sc, err := scopeOrSubscription(c, v.scope)
	if err != nil {
		return nil, err
	}
	filter := "atScope()"
	if v.assignee != "" {
		pid, err := resolveAssignee(ctx, c.client, c.sub, v.assignee)
		if err != nil {
			return nil, err
		}
		filter += " and assignedTo('" + pid + "')"
	}
	items, err := c.client.ListRoleAssignments(ctx, sc, filter)
	if err != nil {
		return nil, err
	}
	var roleID string
	if v.role != "" {
		if roleID, _, err = resolveRole(ctx, c.client, sc, v.role); err != nil {
			return nil, err
		}
	}
	for _, a := range items {
		if !strings.EqualFold(strings.TrimRight(a.Properties.Scope, "/"), strings.TrimRight(sc, "/")) {
			continue
		}
		if roleID != "" && !strings.EqualFold(a.Properties.RoleDefinitionID[strings.LastIndex(a.Properties.RoleDefinitionID, "/")+1:], roleID[strings.LastIndex(roleID, "/")+1:]) {
			continue
		}
		if err := c.client.DeleteRoleAssignment(ctx, a.ID); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// roleDefinitionList is `ward role definition list`.
type roleDefinitionList struct {
	name, custom, scope string
}

func (v *roleDefinitionList) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&v.name, "name", "n", "", "role name or ID")
	f.StringVar(&v.custom, "custom-role-only", "", "only custom roles (true)")
	f.StringVar(&v.scope, "scope", "", "scope (default: the subscription)")
}

func (v *roleDefinitionList) run(ctx context.Context, _ env, c *conn) (any, error) {
	filter := ""
	byID := v.name != "" && guidRE.MatchString(v.name)
	if v.name != "" && !byID {
		filter = "roleName eq '" + strings.ReplaceAll(v.name, "'", "''") + "'"
	} else if v.custom != "" {
		filter = "type eq 'CustomRole'"
	}
	sc := v.scope
	if sc == "" {
		// Roles are listed at the subscription, as az does, or at the
		// root when none is selected.
		sc = "/"
		if c.sub != "" {
			sc = "/subscriptions/" + c.sub
		}
	}
	roles, err := c.client.ListRoleDefinitions(ctx, sc, filter)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, r := range roles {
		if byID && !strings.EqualFold(r.Name, v.name) {
			continue
		}
		out = append(out, roleDefinitionView(r))
	}
	return out, nil
}
