package sql

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

const machineCols = `id, subscription_id, resource_group, name, location, tags, spec, created_at, updated_at`

func machineKey(ref storage.MachineRef) string {
	return resourceid.Key("/subscriptions/" + ref.SubscriptionID + "/resourcegroups/" + ref.ResourceGroup + "/providers/Microsoft.HybridCompute/machines/" + ref.Name)
}

// scanMachine reads a machine row; a cluster row has the same columns.
func scanMachine(sc scanner) (storage.Machine, error) {
	var m storage.Machine
	var tags string
	var created, updated int64
	if err := sc.Scan(&m.ID, &m.SubscriptionID, &m.ResourceGroup, &m.Name, &m.Location, &tags, &m.Spec, &created, &updated); err != nil {
		return m, err
	}
	m.CreatedAt, m.UpdatedAt = fromMicros(created), fromMicros(updated)
	return m, json.Unmarshal([]byte(tags), &m.Tags)
}

// CreateMachine stores a new machine.
func (s *DB) CreateMachine(ctx context.Context, m storage.Machine) error {
	tags, err := marshalTags(m.Tags)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO machines (key, rg_key, `+machineCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		machineKey(m.Ref()), resourceid.Key(resourceid.ResourceGroupID(m.SubscriptionID, m.ResourceGroup)), strings.ToLower(m.ID),
		m.SubscriptionID, m.ResourceGroup, m.Name, m.Location, tags, m.Spec, micros(m.CreatedAt), micros(m.UpdatedAt))
	return err
}

// UpdateMachine applies fn to the stored machine in one transaction.
func (s *DB) UpdateMachine(ctx context.Context, ref storage.MachineRef, fn func(storage.Machine) (storage.Machine, error)) (storage.Machine, error) {
	var out storage.Machine
	err := s.txRow(ctx, "machines/"+machineKey(ref), func(tx *sql.Tx) error {
		old, err := scanMachine(tx.QueryRowContext(ctx, s.fl.rebind(`SELECT `+machineCols+` FROM machines WHERE key = ?`), machineKey(ref)))
		if err != nil {
			return err
		}
		nu, err := fn(old)
		if err != nil {
			return err
		}
		tags, err := marshalTags(nu.Tags)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.fl.rebind(`UPDATE machines SET location = ?, tags = ?, spec = ?, updated_at = ? WHERE key = ?`),
			nu.Location, tags, nu.Spec, micros(nu.UpdatedAt), machineKey(ref))
		nu.ID, nu.SubscriptionID, nu.ResourceGroup, nu.Name, nu.CreatedAt = old.ID, old.SubscriptionID, old.ResourceGroup, old.Name, old.CreatedAt
		out = nu
		return err
	})
	return out, err
}

// GetMachine reads a machine, case-insensitively.
func (s *DB) GetMachine(ctx context.Context, ref storage.MachineRef) (storage.Machine, error) {
	m, err := scanMachine(s.queryRow(ctx, `SELECT `+machineCols+` FROM machines WHERE key = ?`, machineKey(ref)))
	return m, s.classify(err)
}

// GetMachineByID reads a machine by its GUID.
func (s *DB) GetMachineByID(ctx context.Context, id string) (storage.Machine, error) {
	m, err := scanMachine(s.queryRow(ctx, `SELECT `+machineCols+` FROM machines WHERE id = ?`, strings.ToLower(id)))
	return m, s.classify(err)
}

// ListMachines lists one page of a group's machines, or a subscription's.
func (s *DB) ListMachines(ctx context.Context, sub, rg string, p storage.Page) ([]storage.Machine, string, error) {
	return listInScope(ctx, s, machineCols, "machines", sub, rg, p, scanMachine)
}

// DeleteMachine deletes a machine.
func (s *DB) DeleteMachine(ctx context.Context, ref storage.MachineRef) error {
	res, err := s.exec(ctx, `DELETE FROM machines WHERE key = ?`, machineKey(ref))
	return notFoundIfNone(res, err)
}
