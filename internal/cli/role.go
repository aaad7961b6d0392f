package cli

import (
	"context"
	"fmt"
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
	for _, sp := range sps {
		if strings.EqualFold(sp.AppID, assignee) || strings.EqualFold(sp.ID, assignee) || sp.DisplayName == assignee {
			return sp.ID, nil
		}
	}
	var ids []client.Identity
	if sub != "" {
		var err error
		if ids, err = c.ListIdentities(ctx, sub, ""); err != nil {
			return "", err
		}
	}
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
	definition := &cobra.Command{Use: "definition", Short: "Role definitions"}
	var assignee, objectID, principalType, role, scope, name, ids string
	var all bool

	defaultScope := func(c *conn) (string, error) {
		if scope != "" {
			return scope, nil
		}
		sub, err := c.subscription()
		if err != nil {
			return "", fmt.Errorf("give --scope, or select a subscription: %w", err)
		}
		return "/subscriptions/" + sub, nil
	}

	create := &cobra.Command{
		Use:   "create",
		Short: "Assign a role to a principal at a scope",
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if assignee == "" && objectID == "" {
				return fmt.Errorf("the following arguments are required: --assignee or --assignee-object-id")
			}
			return requireFlags(cmd, "role", "scope")
		},
		RunE: g.runConn(func(ctx context.Context, c *conn) (any, error) {
			roleID, roleName, err := resolveRole(ctx, c.client, scope, role)
			if err != nil {
				return nil, err
			}
			pid := objectID
			if pid == "" {
				if pid, err = resolveAssignee(ctx, c.client, c.sub, assignee); err != nil {
					return nil, err
				}
			}
			n := name
			if n == "" {
				n = uuid.NewString()
			}
			a, err := c.client.CreateRoleAssignment(ctx, scope, n, roleID, pid, principalType)
			if err != nil {
				return nil, err
			}
			return roleAssignmentView(a, roleName), nil
		}),
	}
	create.Flags().StringVar(&assignee, "assignee", "", "client ID, object ID or display name of the principal")
	create.Flags().StringVar(&objectID, "assignee-object-id", "", "object (principal) ID, used as given")
	create.Flags().StringVar(&principalType, "assignee-principal-type", "", "ServicePrincipal, User, Group, ...")
	create.Flags().StringVar(&role, "role", "", "role name or ID")
	create.Flags().StringVar(&scope, "scope", "", "scope, e.g. /subscriptions/<sub>/resourceGroups/<rg>")
	create.Flags().StringVar(&name, "name", "", "assignment GUID (default: new)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List role assignments",
		RunE: g.runConn(func(ctx context.Context, c *conn) (any, error) {
			sc := "/"
			if !all {
				var err error
				if sc, err = defaultScope(c); err != nil {
					return nil, err
				}
			}
			filter := ""
			if !all {
				filter = "atScope()"
			}
			if assignee != "" {
				pid, err := resolveAssignee(ctx, c.client, c.sub, assignee)
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
				if role != "" && !strings.EqualFold(rn, role) && !strings.HasSuffix(strings.ToLower(rid), strings.ToLower(role)) {
					continue
				}
				v := roleAssignmentView(a, rn)
				v["principalName"] = principals[strings.ToLower(a.Properties.PrincipalID)]
				out = append(out, v)
			}
			return tableView{value: out, table: roleAssignmentTable(out)}, nil
		}),
	}
	list.Flags().StringVar(&assignee, "assignee", "", "only this principal's assignments")
	list.Flags().StringVar(&role, "role", "", "only this role")
	list.Flags().StringVar(&scope, "scope", "", "scope (default: the subscription)")
	list.Flags().BoolVar(&all, "all", false, "every assignment, at every scope")

	del := &cobra.Command{
		Use:   "delete",
		Short: "Delete role assignments by --ids, or by --assignee/--role/--scope",
		RunE: g.runConn(func(ctx context.Context, c *conn) (any, error) {
			if ids != "" {
				for _, id := range strings.Fields(ids) {
					if err := c.client.DeleteRoleAssignment(ctx, id); err != nil {
						return nil, err
					}
				}
				return nil, nil
			}
			if assignee == "" && role == "" {
				return nil, fmt.Errorf("give --ids, or --assignee and/or --role (with --scope) to choose what to delete")
			}
			sc, err := defaultScope(c)
			if err != nil {
				return nil, err
			}
			filter := "atScope()"
			if assignee != "" {
				pid, err := resolveAssignee(ctx, c.client, c.sub, assignee)
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
			if role != "" {
				if roleID, _, err = resolveRole(ctx, c.client, sc, role); err != nil {
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
		}),
	}
	del.Flags().StringVar(&ids, "ids", "", "space-separated assignment resource IDs")
	del.Flags().StringVar(&assignee, "assignee", "", "principal")
	del.Flags().StringVar(&role, "role", "", "role name or ID")
	del.Flags().StringVar(&scope, "scope", "", "scope (default: the subscription)")

	var defName, custom string
	defList := &cobra.Command{
		Use:   "list",
		Short: "List role definitions",
		RunE: g.runConn(func(ctx context.Context, c *conn) (any, error) {
			filter := ""
			if defName != "" && !guidRE.MatchString(defName) {
				filter = "roleName eq '" + strings.ReplaceAll(defName, "'", "''") + "'"
			} else if custom != "" {
				filter = "type eq 'CustomRole'"
			}
			sc := scope
			if sc == "" {
				// Roles are listed at the subscription, as az does, or at
				// the root when none is selected.
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
				if defName != "" && guidRE.MatchString(defName) && !strings.EqualFold(r.Name, defName) {
					continue
				}
				out = append(out, roleDefinitionView(r))
			}
			return out, nil
		}),
	}
	defList.Flags().StringVarP(&defName, "name", "n", "", "role name or ID")
	defList.Flags().StringVar(&custom, "custom-role-only", "", "only custom roles (true)")
	defList.Flags().StringVar(&scope, "scope", "", "scope (default: the subscription)")

	assignment.AddCommand(create, list, del)
	definition.AddCommand(defList)
	definition.AddCommand(roleDefinitionCmds(g)...)
	cmd.AddCommand(assignment, definition)
	return cmd
}
