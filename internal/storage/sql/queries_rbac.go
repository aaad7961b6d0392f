package sql

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

// scopeKey folds a scope for uniqueness and lookups.
func scopeKey(scope string) string {
	s := strings.ToLower(strings.TrimRight(scope, "/"))
	if s == "" {
		return "/"
	}
	return s
}

// CreateRoleDefinition stores a new custom role.
func (s *DB) CreateRoleDefinition(ctx context.Context, d storage.RoleDefinition) error {
	scopes, err := json.Marshal(d.AssignableScopes)
	if err != nil {
		return err
	}
	perms, err := marshalPermissions(d.Permissions)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO role_definitions (`+roleDefCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		resourceid.Key(d.ID), d.Name, d.Description, string(scopes), perms, micros(d.CreatedAt), micros(d.UpdatedAt))
	return err
}

// UpdateRoleDefinition applies fn to a stored custom role in one
// transaction; the ID and creation time stay.
func (s *DB) UpdateRoleDefinition(ctx context.Context, id string, fn func(storage.RoleDefinition) (storage.RoleDefinition, error)) (storage.RoleDefinition, error) {
	key := resourceid.Key(id)
	read := func(tx *sql.Tx) (storage.RoleDefinition, error) {
		return scanRoleDef(tx.QueryRowContext(ctx, s.fl.rebind(`SELECT `+roleDefCols+` FROM role_definitions WHERE id = ?`+s.fl.forUpdate()), key))
	}
	return updateRow(ctx, s, "role_definitions/"+key, read, fn, func(tx *sql.Tx, old, nu storage.RoleDefinition) (storage.RoleDefinition, error) {
		scopes, err := json.Marshal(nu.AssignableScopes)
		if err != nil {
			return nu, err
		}
		perms, err := marshalPermissions(nu.Permissions)
		if err != nil {
			return nu, err
		}
		if _, err = tx.ExecContext(ctx, s.fl.rebind(`UPDATE role_definitions SET name = ?, description = ?, assignable_scopes = ?, permissions = ?, updated_at = ? WHERE id = ?`),
			nu.Name, nu.Description, string(scopes), perms, micros(nu.UpdatedAt), old.ID); err != nil {
			return nu, err
		}
		// Answer what is stored, as a read after the write would.
		return scanRoleDef(tx.QueryRowContext(ctx, s.fl.rebind(`SELECT `+roleDefCols+` FROM role_definitions WHERE id = ?`), old.ID))
	})
}

const roleDefCols = `id, name, description, assignable_scopes, permissions, created_at, updated_at`

// permissionJSON is how a permissions block is stored: as ARM spells it,
// so the column reads like the API's JSON.
type permissionJSON struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

func marshalPermissions(ps []storage.RolePermission) (string, error) {
	out := make([]permissionJSON, len(ps))
	for i, p := range ps {
		out[i] = permissionJSON(p)
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func scanRoleDef(sc scanner) (storage.RoleDefinition, error) {
	var d storage.RoleDefinition
	var scopes, perms string
	var created, updated int64
	if err := sc.Scan(&d.ID, &d.Name, &d.Description, &scopes, &perms, &created, &updated); err != nil {
		return d, err
	}
	d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
	if err := json.Unmarshal([]byte(scopes), &d.AssignableScopes); err != nil {
		return d, fmt.Errorf("role definition %s: corrupt assignable scopes: %w", d.ID, err)
	}
	var ps []permissionJSON
	if err := json.Unmarshal([]byte(perms), &ps); err != nil {
		return d, fmt.Errorf("role definition %s: corrupt permissions: %w", d.ID, err)
	}
	d.Permissions = make([]storage.RolePermission, len(ps))
	for i, p := range ps {
		d.Permissions[i] = storage.RolePermission(p)
	}
	return d, nil
}

// GetRoleDefinition reads a custom role.
func (s *DB) GetRoleDefinition(ctx context.Context, id string) (storage.RoleDefinition, error) {
	d, err := scanRoleDef(s.db.QueryRowContext(ctx, s.fl.rebind(`SELECT `+roleDefCols+` FROM role_definitions WHERE id = ?`), resourceid.Key(id)))
	return d, s.classify(err)
}

// ListRoleDefinitions lists one page of custom roles, by name then ID.
func (s *DB) ListRoleDefinitions(ctx context.Context, p storage.Page) ([]storage.RoleDefinition, string, error) {
	return listPage(ctx, s, by("name", "id"), roleDefCols, `FROM role_definitions WHERE 1 = 1`, nil, p, scanRoleDef)
}

// DeleteRoleDefinition deletes a custom role.
func (s *DB) DeleteRoleDefinition(ctx context.Context, id string) error {
	res, err := s.exec(ctx, `DELETE FROM role_definitions WHERE id = ?`, resourceid.Key(id))
	return notFoundIfNone(res, err)
}

const roleAssignmentCols = `id, scope, principal_id, principal_type, role_definition_id, description, created_by, created_at, updated_at`

func scanRoleAssignment(sc scanner) (storage.RoleAssignment, error) {
	var a storage.RoleAssignment
	var created, updated int64
	err := sc.Scan(&a.ID, &a.Scope, &a.PrincipalID, &a.PrincipalType, &a.RoleDefinitionID, &a.Description, &a.CreatedBy, &created, &updated)
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, err
}

// CreateRoleAssignment stores a new assignment.
func (s *DB) CreateRoleAssignment(ctx context.Context, a storage.RoleAssignment) error {
	_, err := s.exec(ctx, `INSERT INTO role_assignments (scope_key, `+roleAssignmentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		scopeKey(a.Scope), resourceid.Key(a.ID), a.Scope, resourceid.Key(a.PrincipalID), a.PrincipalType, resourceid.Key(a.RoleDefinitionID),
		a.Description, a.CreatedBy, micros(a.CreatedAt), micros(a.UpdatedAt))
	return err
}

// GetRoleAssignment reads an assignment by ID.
func (s *DB) GetRoleAssignment(ctx context.Context, id string) (storage.RoleAssignment, error) {
	a, err := scanRoleAssignment(s.db.QueryRowContext(ctx, s.fl.rebind(`SELECT `+roleAssignmentCols+` FROM role_assignments WHERE id = ?`), resourceid.Key(id)))
	return a, s.classify(err)
}

// FindRoleAssignment reads the assignment of (scope, principal, role).
func (s *DB) FindRoleAssignment(ctx context.Context, scope, principalID, roleID string) (storage.RoleAssignment, error) {
	a, err := scanRoleAssignment(s.db.QueryRowContext(ctx, s.fl.rebind(`SELECT `+roleAssignmentCols+` FROM role_assignments WHERE scope_key = ? AND principal_id = ? AND role_definition_id = ?`),
		scopeKey(scope), resourceid.Key(principalID), resourceid.Key(roleID)))
	return a, s.classify(err)
}

// ListRoleAssignments lists one page of assignments, by scope then ID.
func (s *DB) ListRoleAssignments(ctx context.Context, p storage.Page) ([]storage.RoleAssignment, string, error) {
	return listPage(ctx, s, by("scope_key", "id"), roleAssignmentCols, `FROM role_assignments WHERE 1 = 1`, nil, p, scanRoleAssignment)
}

// DeleteRoleAssignment deletes an assignment.
func (s *DB) DeleteRoleAssignment(ctx context.Context, id string) error {
	res, err := s.exec(ctx, `DELETE FROM role_assignments WHERE id = ?`, resourceid.Key(id))
	return notFoundIfNone(res, err)
}

// GetIdentityByPrincipalID reads an identity by principal ID.
func (s *DB) GetIdentityByPrincipalID(ctx context.Context, principalID string) (storage.Identity, error) {
	id, err := scanIdentity(s.queryRow(ctx, `SELECT `+identityCols+` FROM identities WHERE principal_id = ?`, resourceid.Key(principalID)))
	return id, s.classify(err)
}
