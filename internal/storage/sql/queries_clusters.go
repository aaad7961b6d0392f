package sql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

const clusterCols = `id, subscription_id, resource_group, name, location, tags, spec, created_at, updated_at`

func clusterKey(ref storage.ClusterRef) string {
	return resourceid.Key(resourceid.ClusterID(ref.SubscriptionID, ref.ResourceGroup, ref.Name))
}

// scanCluster reads a cluster row, decoding its spec column.
func scanCluster(sc scanner) (storage.Cluster, error) {
	r, err := scanSpecRow(sc)
	if err != nil {
		return storage.Cluster{}, err
	}
	c := storage.Cluster{ID: r.id, SubscriptionID: r.subscriptionID, ResourceGroup: r.resourceGroup, Name: r.name,
		Location: r.location, Tags: r.tags, CreatedAt: r.createdAt, UpdatedAt: r.updatedAt}
	if err := json.Unmarshal([]byte(r.spec), &c.Spec); err != nil {
		return storage.Cluster{}, fmt.Errorf("cluster %s: corrupt spec column: %w", c.Name, err)
	}
	return c, nil
}

// UpdateCluster runs fn on the stored cluster (nil when absent) in one
// transaction and stores what it returns: an insert when there was none,
// else an update of the mutable columns.
func (s *DB) UpdateCluster(ctx context.Context, ref storage.ClusterRef, fn func(*storage.Cluster) (*storage.Cluster, error)) (storage.Cluster, error) {
	var out storage.Cluster
	err := s.txRow(ctx, "clusters/"+clusterKey(ref), func(tx *sql.Tx) error {
		var oldp *storage.Cluster
		old, err := scanCluster(tx.QueryRowContext(ctx, s.fl.rebind(`SELECT `+clusterCols+` FROM clusters WHERE key = ?`+s.fl.forUpdate()), clusterKey(ref)))
		switch {
		case err == nil:
			oldp = &old
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		nu, err := fn(oldp)
		if err != nil {
			return err
		}
		if nu == nil {
			if oldp == nil {
				return storage.ErrNotFound
			}
			out = old
			return nil
		}
		tags, err := marshalTags(nu.Tags)
		if err != nil {
			return err
		}
		spec, err := json.Marshal(nu.Spec)
		if err != nil {
			return err
		}
		if oldp == nil {
			_, err = tx.ExecContext(ctx, s.fl.rebind(`INSERT INTO clusters (key, rg_key, `+clusterCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				clusterKey(ref), resourceid.Key(resourceid.ResourceGroupID(ref.SubscriptionID, ref.ResourceGroup)), strings.ToLower(nu.ID),
				ref.SubscriptionID, ref.ResourceGroup, ref.Name, nu.Location, tags, string(spec), micros(nu.CreatedAt), micros(nu.UpdatedAt))
			out = *nu
			out.ID, out.SubscriptionID, out.ResourceGroup, out.Name = strings.ToLower(nu.ID), ref.SubscriptionID, ref.ResourceGroup, ref.Name
			return err
		}
		_, err = tx.ExecContext(ctx, s.fl.rebind(`UPDATE clusters SET location = ?, tags = ?, spec = ?, updated_at = ? WHERE key = ?`),
			nu.Location, tags, string(spec), micros(nu.UpdatedAt), clusterKey(ref))
		// Fields the database owns stay as they were.
		out = *nu
		out.ID, out.SubscriptionID, out.ResourceGroup, out.Name, out.CreatedAt = old.ID, old.SubscriptionID, old.ResourceGroup, old.Name, old.CreatedAt
		return err
	})
	return out, err
}

// PutCluster creates or replaces a cluster; the ID and creation time of an
// existing cluster are kept.
func (s *DB) PutCluster(ctx context.Context, c storage.Cluster) (bool, error) {
	tags, err := marshalTags(c.Tags)
	if err != nil {
		return false, err
	}
	spec, err := json.Marshal(c.Spec)
	if err != nil {
		return false, err
	}
	ref := storage.ClusterRef{SubscriptionID: c.SubscriptionID, ResourceGroup: c.ResourceGroup, Name: c.Name}
	var created bool
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.fl.rebind(`UPDATE clusters SET location = ?, tags = ?, spec = ?, updated_at = ? WHERE key = ?`),
			c.Location, tags, string(spec), micros(c.UpdatedAt), clusterKey(ref))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		created = true
		_, err = tx.ExecContext(ctx, s.fl.rebind(`INSERT INTO clusters (key, rg_key, `+clusterCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			clusterKey(ref), resourceid.Key(resourceid.ResourceGroupID(c.SubscriptionID, c.ResourceGroup)), strings.ToLower(c.ID),
			c.SubscriptionID, c.ResourceGroup, c.Name, c.Location, tags, string(spec), micros(c.CreatedAt), micros(c.UpdatedAt))
		return err
	})
	return created, err
}

// GetCluster reads a cluster.
func (s *DB) GetCluster(ctx context.Context, ref storage.ClusterRef) (storage.Cluster, error) {
	c, err := scanCluster(s.db.QueryRowContext(ctx, s.fl.rebind(`SELECT `+clusterCols+` FROM clusters WHERE key = ?`), clusterKey(ref)))
	return c, s.classify(err)
}

// GetClusterByID reads a cluster by its GUID (its issuer path).
func (s *DB) GetClusterByID(ctx context.Context, id string) (storage.Cluster, error) {
	c, err := scanCluster(s.queryRow(ctx, `SELECT `+clusterCols+` FROM clusters WHERE id = ?`, strings.ToLower(id)))
	return c, s.classify(err)
}

// ListClusters lists one page of a group's clusters, or a subscription's.
func (s *DB) ListClusters(ctx context.Context, sub, rg string, p storage.Page) ([]storage.Cluster, string, error) {
	return listInScope(ctx, s, clusterCols, "clusters", sub, rg, p, scanCluster)
}

// listInScope lists one page of the rows of a table that has
// subscription_id and rg_key columns and a unique key column: a group's
// when rg is set, else the subscription's.
func listInScope[T any](ctx context.Context, s *DB, cols, table, sub, rg string, p storage.Page, scan func(scanner) (T, error)) ([]T, string, error) {
	clause, arg := `FROM `+table+` WHERE lower(subscription_id) = ?`, strings.ToLower(sub)
	if rg != "" {
		clause, arg = `FROM `+table+` WHERE rg_key = ?`, resourceid.Key(resourceid.ResourceGroupID(sub, rg))
	}
	return listPage(ctx, s, by("key"), cols, clause, []any{arg}, p, scan)
}

// DeleteCluster deletes a cluster.
func (s *DB) DeleteCluster(ctx context.Context, ref storage.ClusterRef) error {
	res, err := s.exec(ctx, `DELETE FROM clusters WHERE key = ?`, clusterKey(ref))
	return notFoundIfNone(res, err)
}
