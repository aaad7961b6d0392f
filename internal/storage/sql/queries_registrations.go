package sql

import (
	"context"
	"strings"

	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

const registrationCols = `subscription_id, namespace, feature, state, updated_at`

// PutRegistration stores a registration state, replacing any stored for
// the same subscription, namespace and feature.
func (s *DB) PutRegistration(ctx context.Context, r storage.Registration) error {
	_, err := s.exec(ctx, `INSERT INTO registrations (sub_key, namespace_key, feature_key, `+registrationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (sub_key, namespace_key, feature_key) DO UPDATE SET namespace = excluded.namespace, feature = excluded.feature,
state = excluded.state, updated_at = excluded.updated_at`,
		resourceid.Key(r.SubscriptionID), strings.ToLower(r.Namespace), strings.ToLower(r.Feature),
		r.SubscriptionID, r.Namespace, r.Feature, r.State, micros(r.UpdatedAt))
	return s.classify(err)
}

// ListRegistrations lists a subscription's stored states, by namespace
// then feature.
func (s *DB) ListRegistrations(ctx context.Context, sub string) ([]storage.Registration, error) {
	rows, err := s.query(ctx, `SELECT `+registrationCols+` FROM registrations WHERE sub_key = ? ORDER BY namespace_key, feature_key`, resourceid.Key(sub))
	if err != nil {
		return nil, s.classify(err)
	}
	defer rows.Close()
	var out []storage.Registration
	for rows.Next() {
		var r storage.Registration
		var updated int64
		if err := rows.Scan(&r.SubscriptionID, &r.Namespace, &r.Feature, &r.State, &updated); err != nil {
			return nil, err
		}
		r.UpdatedAt = fromMicros(updated)
		out = append(out, r)
	}
	return out, rows.Err()
}
