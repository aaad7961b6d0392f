package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
)

// roleDefinitionView is a role as az prints it: properties flattened.
func roleDefinitionView(r client.RoleDefinition) map[string]any {
	perms := r.Properties.Permissions
	if perms == nil {
		perms = []client.Permission{}
	}
	return map[string]any{"id": r.ID, "name": r.Name, "type": r.Type, "roleName": r.Properties.RoleName,
		"roleType": r.Properties.Type, "description": r.Properties.Description, "assignableScopes": r.Properties.AssignableScopes,
		"permissions": perms}
}

// roleSpec is a role definition as az reads it from --role-definition.
type roleSpec struct {
	// ID is the role's GUID when the JSON names one (update).
	ID    string
	Props client.RoleDefinitionProperties
}

// parseRoleDefinition reads --role-definition as az does: @file, a file
// path, or inline JSON, in az's shape ({"Name", "Description", "Actions",
// "NotActions", "DataActions", "NotDataActions", "AssignableScopes"},
// property names in any case) or the shape 'ward role definition list'
// prints ({"name": GUID, "roleName", "permissions": [...], ...}).
func parseRoleDefinition(arg string) (roleSpec, error) {
	fields, err := readRoleFields(arg)
	if err != nil {
		return roleSpec{}, err
	}
	str, list := fields.str, fields.list
	var spec roleSpec
	var errs []error
	name, err := str("name")
	errs = append(errs, err)
	roleName, err := str("rolename")
	errs = append(errs, err)
	id, err := str("id")
	errs = append(errs, err)
	spec.Props.Description, err = str("description")
	errs = append(errs, err)
	spec.Props.AssignableScopes, err = list("assignablescopes")
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return roleSpec{}, err
	}
	// "name" is the role's name in az's input shape, its GUID in the
	// listed shape (where the name is "roleName").
	switch {
	case roleName != "":
		spec.Props.RoleName = roleName
		if guidRE.MatchString(name) {
			spec.ID = name
		}
	default:
		spec.Props.RoleName = name
	}
	if id != "" {
		g := id[strings.LastIndex(id, "/")+1:]
		if !guidRE.MatchString(g) {
			return roleSpec{}, fmt.Errorf("--role-definition: id %q does not end in a role GUID", id)
		}
		spec.ID = g
	}
	if perms, ok := fields["permissions"]; ok && string(perms) != "null" {
		if err := json.Unmarshal(perms, &spec.Props.Permissions); err != nil {
			return roleSpec{}, fmt.Errorf("--role-definition: permissions: %w", err)
		}
	}
	var p client.Permission
	for key, dst := range map[string]*[]string{"actions": &p.Actions, "notactions": &p.NotActions, "dataactions": &p.DataActions, "notdataactions": &p.NotDataActions} {
		if *dst, err = list(key); err != nil {
			return roleSpec{}, err
		}
	}
	if p.Actions != nil || p.NotActions != nil || p.DataActions != nil || p.NotDataActions != nil {
		if len(spec.Props.Permissions) > 0 {
			return roleSpec{}, errors.New("--role-definition: give either Actions/NotActions/DataActions/NotDataActions or permissions, not both")
		}
		spec.Props.Permissions = []client.Permission{p}
	}
	for i := range spec.Props.Permissions {
		q := &spec.Props.Permissions[i]
		for _, l := range []*[]string{&q.Actions, &q.NotActions, &q.DataActions, &q.NotDataActions} {
			if *l == nil {
				*l = []string{}
			}
		}
	}
	return spec, nil
}

// roleFields are a role definition's JSON properties by lower-case name,
// the ARM shape's "properties" merged into the top level.
type roleFields map[string]json.RawMessage

// readRoleFields reads the JSON object --role-definition names (@file, a
// file path, or inline JSON; a UTF-8 byte order mark is dropped).
func readRoleFields(arg string) (roleFields, error) {
	data := []byte(arg)
	switch {
	case strings.HasPrefix(arg, "@"):
		b, err := os.ReadFile(arg[1:])
		if err != nil {
			return nil, fmt.Errorf("--role-definition: %w", err)
		}
		data = b
	case !strings.HasPrefix(strings.TrimSpace(arg), "{"):
		if b, err := os.ReadFile(arg); err == nil {
			data = b
		}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("--role-definition is not a JSON object (inline, or @file.json): %w", err)
	}
	// Property names are matched without regard to case, as az does; the
	// ARM shape's "properties" object is merged into the top level.
	fields := roleFields{}
	for k, v := range raw {
		fields[strings.ToLower(k)] = v
	}
	if p, ok := fields["properties"]; ok {
		var inner map[string]json.RawMessage
		if err := json.Unmarshal(p, &inner); err != nil {
			return nil, fmt.Errorf("--role-definition: properties: %w", err)
		}
		for k, v := range inner {
			fields[strings.ToLower(k)] = v
		}
	}
	return fields, nil
}

// str is the string property key ("" when absent or null).
func (fields roleFields) str(key string) (string, error) {
	v, ok := fields[key]
	if !ok || string(v) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("--role-definition: %q must be a string", key)
	}
	return s, nil
}

// list is the list-of-strings property key (nil when absent or null).
func (fields roleFields) list(key string) ([]string, error) {
	v, ok := fields[key]
	if !ok || string(v) == "null" {
		return nil, nil
	}
	var l []string
	if err := json.Unmarshal(v, &l); err != nil {
		return nil, fmt.Errorf("--role-definition: %q must be a list of strings", key)
	}
	return l, nil
}

func roleDefinitionCmds(g *Globals) []*cobra.Command {
	create := noArgs(g.command("create", "Create a custom role from a JSON definition", &roleDefinitionCreate{}))
	create.Long = `Create a custom role, as 'az role definition create' does.

--role-definition is inline JSON or @file.json in az's shape:

  {
    "Name": "Vault Reader",
    "Description": "Reads secrets of the team's vaults.",
    "Actions": ["Microsoft.KeyVault/vaults/read"],
    "NotActions": [],
    "DataActions": ["Microsoft.KeyVault/vaults/secrets/getSecret/action"],
    "NotDataActions": [],
    "AssignableScopes": ["/subscriptions/<subscription>"]
  }`
	update := noArgs(g.command("update", "Update a custom role from a JSON definition (found by its id, or by its name)", &roleDefinitionUpdate{}))
	update.Long = `Update a custom role, as 'az role definition update' does.

--role-definition is inline JSON or @file.json: az's shape (see 'ward role
definition create --help') or an element of 'ward role definition list'. The
role is found by its "id" (or GUID "name"), else by its name; the JSON
replaces the role's description, permissions and assignable scopes.`
	del := noArgs(g.command("delete", "Delete a custom role by name or ID", &roleDefinitionDelete{}))
	return []*cobra.Command{create, update, del}
}

// roleDefinitionArg is --role-definition, read with parseRoleDefinition.
type roleDefinitionArg struct{ def string }

func (a *roleDefinitionArg) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&a.def, "role-definition", "", "the role as JSON, inline or @file.json (see --help)")
}

func (a *roleDefinitionArg) check(cmd *cobra.Command) error {
	return requireFlags(cmd, "role-definition")
}

// roleDefinitionCreate is `ward role definition create`.
type roleDefinitionCreate struct{ roleDefinitionArg }

func (v *roleDefinitionCreate) run(ctx context.Context, _ env, c *conn) (any, error) {
	spec, err := parseRoleDefinition(v.def)
	if err != nil {
		return nil, err
	}
	if spec.Props.RoleName == "" {
		return nil, errors.New("--role-definition: please provide role name (\"Name\")")
	}
	if len(spec.Props.AssignableScopes) == 0 {
		return nil, errors.New("--role-definition: please provide 'AssignableScopes'")
	}
	id := spec.ID
	if id == "" {
		id = uuid.NewString()
	}
	r, _, err := c.client.PutRoleDefinition(ctx, spec.Props.AssignableScopes[0], id, spec.Props)
	if err != nil {
		return nil, err
	}
	return roleDefinitionView(r), nil
}

// roleDefinitionUpdate is `ward role definition update`.
type roleDefinitionUpdate struct{ roleDefinitionArg }

func (v *roleDefinitionUpdate) run(ctx context.Context, _ env, c *conn) (any, error) {
	spec, err := parseRoleDefinition(v.def)
	if err != nil {
		return nil, err
	}
	old, err := findCustomRole(ctx, c, spec.ID, spec.Props.RoleName)
	if err != nil {
		return nil, err
	}
	p := spec.Props
	if p.RoleName == "" {
		p.RoleName = old.Properties.RoleName
	}
	if len(p.AssignableScopes) == 0 {
		p.AssignableScopes = old.Properties.AssignableScopes
	}
	if p.Permissions == nil {
		p.Permissions = old.Properties.Permissions
	}
	r, _, err := c.client.PutRoleDefinition(ctx, firstScope(p.AssignableScopes), old.Name, p)
	if err != nil {
		return nil, err
	}
	return roleDefinitionView(r), nil
}

// firstScope is a role's first assignable scope, or the root.
func firstScope(scopes []string) string {
	if len(scopes) > 0 {
		return scopes[0]
	}
	return "/"
}

// roleDefinitionDelete is `ward role definition delete`.
type roleDefinitionDelete struct{ name, scope string }

func (v *roleDefinitionDelete) flags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&v.name, "name", "n", "", "the role's name or ID")
	cmd.Flags().StringVar(&v.scope, "scope", "", "scope of the role (default: its first assignable scope)")
	cmd.Flags().Bool("custom-role-only", true, "only custom roles can be deleted (accepted for az compatibility)")
}

func (v *roleDefinitionDelete) check(cmd *cobra.Command) error { return requireFlags(cmd, "name") }

func (v *roleDefinitionDelete) run(ctx context.Context, _ env, c *conn) (any, error) {
	id := ""
	if guidRE.MatchString(v.name) {
		id = v.name
	} else if strings.Contains(v.name, "/roleDefinitions/") {
		id = v.name[strings.LastIndex(v.name, "/")+1:]
	}
	r, err := findCustomRole(ctx, c, id, v.name)
	if err != nil {
		return nil, err
	}
	sc := v.scope
	if sc == "" {
		sc = firstScope(r.Properties.AssignableScopes)
	}
	_, err = c.client.DeleteRoleDefinition(ctx, sc, r.Name)
	return nil, err
}

// findCustomRole finds a role by GUID, or else by name, and refuses a
// built-in one.
func findCustomRole(ctx context.Context, c *conn, id, name string) (client.RoleDefinition, error) {
	roles, err := c.client.ListRoleDefinitions(ctx, "/", "")
	if err != nil {
		return client.RoleDefinition{}, err
	}
	var found []client.RoleDefinition
	for _, r := range roles {
		if (id != "" && strings.EqualFold(r.Name, id)) || (id == "" && name != "" && strings.EqualFold(r.Properties.RoleName, name)) {
			found = append(found, r)
		}
	}
	what := id
	if what == "" {
		what = name
	}
	switch {
	case what == "":
		return client.RoleDefinition{}, errors.New("--role-definition: name the role (\"Name\", or its \"id\")")
	case len(found) == 0:
		return client.RoleDefinition{}, fmt.Errorf("role definition '%s' does not exist: create it with 'ward role definition create'", what)
	case len(found) > 1:
		return client.RoleDefinition{}, fmt.Errorf("%d role definitions are named '%s': give the role's id", len(found), what)
	case !strings.EqualFold(found[0].Properties.Type, "CustomRole"):
		return client.RoleDefinition{}, fmt.Errorf("'%s' is a built-in role: only custom roles can be changed or deleted", found[0].Properties.RoleName)
	}
	return found[0], nil
}
