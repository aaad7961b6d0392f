package sql

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

const clusterCols = `id, subscription_id, resource_group, name, location, tags, spec, created_at, updated_at`

func clusterKey(ref storage.ClusterRef) string {
	return resourceid.Key("/subscriptions/" + ref.SubscriptionID + "/resourcegroups/" + ref.ResourceGroup + "/providers/Microsoft.ContainerService/managedClusters/" + ref.Name)
}

func scanCluster(sc scanner) (storage.Cluster, error) {
	var c storage.Cluster
	var tags string
	var created, updated int64
	if err := sc.Scan(&c.ID, &c.SubscriptionID, &c.ResourceGroup, &c.Name, &c.Location, &tags, &c.Spec, &created, &updated); err != nil {
		return c, err
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return c, json.Unmarshal([]byte(tags), &c.Tags)
}

// PutCluster creates or replaces a cluster; the ID and creation time of an
// existing cluster are kept.
func (s *DB) PutCluster(ctx context.Context, c storage.Cluster) (bool, error) {
	tags, err := marshalTags(c.Tags)
	if err != nil {
		return false, err
	}
	ref := storage.ClusterRef{SubscriptionID: c.SubscriptionID, ResourceGroup: c.ResourceGroup, Name: c.Name}
	var created bool
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.fl.rebind(`UPDATE clusters SET location = ?, tags = ?, spec = ?, updated_at = ? WHERE key = ?`),
			c.Location, tags, c.Spec, micros(c.UpdatedAt), clusterKey(ref))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		created = true
		_, err = tx.ExecContext(ctx, s.fl.rebind(`INSERT INTO clusters (key, rg_key, `+clusterCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			clusterKey(ref), resourceid.Key(resourceid.ResourceGroupID(c.SubscriptionID, c.ResourceGroup)), strings.ToLower(c.ID),
			c.SubscriptionID, c.ResourceGroup, c.Name, c.Location, tags, c.Spec, micros(c.CreatedAt), micros(c.UpdatedAt))
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
	return listPage(ctx, s, []string{"key"}, cols, clause, []any{arg}, p, scan)
}

// DeleteCluster deletes a cluster.
func (s *DB) DeleteCluster(ctx context.Context, ref storage.ClusterRef) error {
	res, err := s.exec(ctx, `DELETE FROM clusters WHERE key = ?`, clusterKey(ref))
	return notFoundIfNone(res, err)
}
