package sql

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

const machineCols = `id, subscription_id, resource_group, name, location, tags, spec, created_at, updated_at`

func machineKey(ref storage.MachineRef) string {
	return resourceid.Key(resourceid.ResourceID(ref.SubscriptionID, ref.ResourceGroup, resourceid.TypeMachine, ref.Name))
}

// specRow is a row of a table of tracked resources with a spec column
// (machines, clusters: the same columns), the spec still JSON text.
type specRow struct {
	id, subscriptionID, resourceGroup, name, location string
	tags                                              map[string]string
	spec                                              string
	createdAt, updatedAt                              time.Time
}

func scanSpecRow(sc scanner) (specRow, error) {
	var r specRow
	var tags string
	var created, updated int64
	if err := sc.Scan(&r.id, &r.subscriptionID, &r.resourceGroup, &r.name, &r.location, &tags, &r.spec, &created, &updated); err != nil {
		return r, err
	}
	r.createdAt, r.updatedAt = fromMicros(created), fromMicros(updated)
	if err := json.Unmarshal([]byte(tags), &r.tags); err != nil {
		return r, fmt.Errorf("%s: corrupt tags column: %w", r.name, err)
	}
	return r, nil
}

// scanMachine reads a machine row, decoding its spec column.
func scanMachine(sc scanner) (storage.Machine, error) {
	r, err := scanSpecRow(sc)
	if err != nil {
		return storage.Machine{}, err
	}
	m := storage.Machine{ID: r.id, SubscriptionID: r.subscriptionID, ResourceGroup: r.resourceGroup, Name: r.name,
		Location: r.location, Tags: r.tags, CreatedAt: r.createdAt, UpdatedAt: r.updatedAt}
	if err := json.Unmarshal([]byte(r.spec), &m.Spec); err != nil {
		return storage.Machine{}, fmt.Errorf("machine %s: corrupt spec column: %w", m.Name, err)
	}
	return m, nil
}

// CreateMachine stores a new machine.
func (s *DB) CreateMachine(ctx context.Context, m storage.Machine) error {
	tags, err := marshalTags(m.Tags)
	if err != nil {
		return err
	}
	spec, err := json.Marshal(m.Spec)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO machines (key, rg_key, `+machineCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		machineKey(m.Ref()), resourceid.Key(resourceid.ResourceGroupID(m.SubscriptionID, m.ResourceGroup)), strings.ToLower(m.ID),
		m.SubscriptionID, m.ResourceGroup, m.Name, m.Location, tags, string(spec), micros(m.CreatedAt), micros(m.UpdatedAt))
	return err
}

// UpdateMachine applies fn to the stored machine in one transaction.
func (s *DB) UpdateMachine(ctx context.Context, ref storage.MachineRef, fn func(storage.Machine) (storage.Machine, error)) (storage.Machine, error) {
	key := machineKey(ref)
	read := func(tx *sql.Tx) (storage.Machine, error) {
		return scanMachine(tx.QueryRowContext(ctx, s.fl.rebind(`SELECT `+machineCols+` FROM machines WHERE key = ?`), key))
	}
	return updateRow(ctx, s, "machines/"+key, read, fn, func(tx *sql.Tx, old, nu storage.Machine) (storage.Machine, error) {
		tags, err := marshalTags(nu.Tags)
		if err != nil {
			return nu, err
		}
		spec, err := json.Marshal(nu.Spec)
		if err != nil {
			return nu, err
		}
		_, err = tx.ExecContext(ctx, s.fl.rebind(`UPDATE machines SET location = ?, tags = ?, spec = ?, updated_at = ? WHERE key = ?`),
			nu.Location, tags, string(spec), micros(nu.UpdatedAt), key)
		nu.ID, nu.SubscriptionID, nu.ResourceGroup, nu.Name, nu.CreatedAt = old.ID, old.SubscriptionID, old.ResourceGroup, old.Name, old.CreatedAt
		return nu, err
	})
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
