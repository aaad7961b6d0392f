package sql

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/ward-id/ward/internal/storage"
)

// policyScopeKey is a scope's key: lower case without a trailing slash
// ("" for "/").
func policyScopeKey(scope string) string { return strings.TrimRight(strings.ToLower(scope), "/") }

func policyKey(scope, name string) string { return policyScopeKey(scope) + "|" + strings.ToLower(name) }

const policyDefCols = `scope, name, properties, created_by, created_at, updated_at`

func scanPolicyDef(sc scanner) (storage.PolicyDefinition, error) {
	var d storage.PolicyDefinition
	var props string
	var created, updated int64
	if err := sc.Scan(&d.Scope, &d.Name, &props, &d.CreatedBy, &created, &updated); err != nil {
		return d, err
	}
	d.Properties, d.CreatedAt, d.UpdatedAt = json.RawMessage(props), fromMicros(created), fromMicros(updated)
	return d, nil
}

const policyAsgCols = `scope, name, location, properties, created_by, created_at, updated_at`

func scanPolicyAsg(sc scanner) (storage.PolicyAssignment, error) {
	var a storage.PolicyAssignment
	var props string
	var created, updated int64
	if err := sc.Scan(&a.Scope, &a.Name, &a.Location, &props, &a.CreatedBy, &created, &updated); err != nil {
		return a, err
	}
	a.Properties, a.CreatedAt, a.UpdatedAt = json.RawMessage(props), fromMicros(created), fromMicros(updated)
	return a, nil
}

// putPolicyRow updates the row of key (keeping its creation) or inserts
// it, in one transaction; created reports which.
func (s *DB) putPolicyRow(ctx context.Context, table, key string, update []any, insert []any, insertCols string) (bool, error) {
	var created bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		set := `properties = ?, updated_at = ?`
		if table == "policy_assignments" {
			set = `location = ?, ` + set
		}
		res, err := tx.ExecContext(ctx, s.fl.rebind(`UPDATE `+table+` SET `+set+` WHERE key = ?`), append(update, key)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		created = true
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(insert)+2), ", ")
		_, err = tx.ExecContext(ctx, s.fl.rebind(`INSERT INTO `+table+` (key, scope_key, `+insertCols+`) VALUES (`+marks+`)`), append([]any{key, policyScopeKey(insert[0].(string))}, insert...)...)
		return err
	})
	return created, err
}

// PutPolicyDefinition creates or replaces a custom definition.
func (s *DB) PutPolicyDefinition(ctx context.Context, d storage.PolicyDefinition) (bool, error) {
	return s.putPolicyRow(ctx, "policy_definitions", policyKey(d.Scope, d.Name),
		[]any{string(d.Properties), micros(d.UpdatedAt)},
		[]any{d.Scope, d.Name, string(d.Properties), d.CreatedBy, micros(d.CreatedAt), micros(d.UpdatedAt)}, policyDefCols)
}

// GetPolicyDefinition reads a custom definition.
func (s *DB) GetPolicyDefinition(ctx context.Context, scope, name string) (storage.PolicyDefinition, error) {
	d, err := scanPolicyDef(s.queryRow(ctx, `SELECT `+policyDefCols+` FROM policy_definitions WHERE key = ?`, policyKey(scope, name)))
	return d, s.classify(err)
}

// ListPolicyDefinitions lists one page of a scope's definitions, or all.
func (s *DB) ListPolicyDefinitions(ctx context.Context, scope string, p storage.Page) ([]storage.PolicyDefinition, string, error) {
	clause, args := `FROM policy_definitions WHERE 1 = 1`, []any{}
	if scope != "" {
		clause, args = `FROM policy_definitions WHERE scope_key = ?`, []any{policyScopeKey(scope)}
	}
	return listPage(ctx, s, by("scope_key", "key"), policyDefCols, clause, args, p, scanPolicyDef)
}

// DeletePolicyDefinition deletes a custom definition.
func (s *DB) DeletePolicyDefinition(ctx context.Context, scope, name string) error {
	res, err := s.exec(ctx, `DELETE FROM policy_definitions WHERE key = ?`, policyKey(scope, name))
	return notFoundIfNone(res, err)
}

// PutPolicyAssignment creates or replaces an assignment.
func (s *DB) PutPolicyAssignment(ctx context.Context, a storage.PolicyAssignment) (bool, error) {
	return s.putPolicyRow(ctx, "policy_assignments", policyKey(a.Scope, a.Name),
		[]any{a.Location, string(a.Properties), micros(a.UpdatedAt)},
		[]any{a.Scope, a.Name, a.Location, string(a.Properties), a.CreatedBy, micros(a.CreatedAt), micros(a.UpdatedAt)}, policyAsgCols)
}

// GetPolicyAssignment reads an assignment.
func (s *DB) GetPolicyAssignment(ctx context.Context, scope, name string) (storage.PolicyAssignment, error) {
	a, err := scanPolicyAsg(s.queryRow(ctx, `SELECT `+policyAsgCols+` FROM policy_assignments WHERE key = ?`, policyKey(scope, name)))
	return a, s.classify(err)
}

// ListPolicyAssignments lists one page of every assignment.
func (s *DB) ListPolicyAssignments(ctx context.Context, p storage.Page) ([]storage.PolicyAssignment, string, error) {
	return listPage(ctx, s, by("scope_key", "key"), policyAsgCols, `FROM policy_assignments WHERE 1 = 1`, nil, p, scanPolicyAsg)
}

// DeletePolicyAssignment deletes an assignment.
func (s *DB) DeletePolicyAssignment(ctx context.Context, scope, name string) error {
	res, err := s.exec(ctx, `DELETE FROM policy_assignments WHERE key = ?`, policyKey(scope, name))
	return notFoundIfNone(res, err)
}
