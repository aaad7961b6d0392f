package sql

import (
	"context"
	"database/sql"
	"time"

	"github.com/ward-id/ward/internal/storage"
)

// retentionBatch is how many rows one retention DELETE removes, so that a
// first run over a large log never holds the write lock for long.
const retentionBatch = 5000

const signInCols = `id, created_at, last_seen, count, source, tenant_id, client_id, principal_id, identity_id, resource, credential, result, error_code, reason, issuer, subject, verified`

// upsertSignIn inserts a record or merges it into the stored record of the
// same ID: counts add up and last_seen keeps the later time.
const upsertSignIn = `INSERT INTO sign_ins (` + signInCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET count = sign_ins.count + excluded.count,
last_seen = CASE WHEN excluded.last_seen > sign_ins.last_seen THEN excluded.last_seen ELSE sign_ins.last_seen END`

// RecordSignIn stores one sign-in record (see RecordSignIns).
func (s *DB) RecordSignIn(ctx context.Context, si storage.SignIn) error {
	return s.RecordSignIns(ctx, []storage.SignIn{si})
}

// RecordSignIns stores a batch of sign-in records in one transaction,
// merging records whose ID is already stored.
func (s *DB) RecordSignIns(ctx context.Context, batch []storage.SignIn) error {
	if len(batch) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, s.fl.rebind(upsertSignIn))
		if err != nil {
			return err
		}
		defer st.Close()
		for _, si := range batch {
			si = si.Bounded()
			if _, err := st.ExecContext(ctx, si.ID, micros(si.Time), micros(si.LastSeen), si.Count, si.Source, si.TenantID, si.ClientID,
				si.PrincipalID, si.IdentityID, si.Resource, si.Credential, si.Result, si.ErrorCode, si.Reason, si.Issuer, si.Subject, boolInt(si.Verified)); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListSignIns lists sign-ins first seen since a time, newest first.
func (s *DB) ListSignIns(ctx context.Context, since time.Time, limit int) ([]storage.SignIn, error) {
	limit = pageLimit(storage.Page{Limit: limit})
	rows, err := s.db.QueryContext(ctx, s.fl.rebind(`SELECT `+signInCols+` FROM sign_ins WHERE created_at >= ? ORDER BY created_at DESC, id DESC LIMIT ?`), micros(since), limit)
	if err != nil {
		return nil, s.classify(err)
	}
	return collect(rows, func(sc scanner) (storage.SignIn, error) {
		var si storage.SignIn
		var t, last, verified int64
		err := sc.Scan(&si.ID, &t, &last, &si.Count, &si.Source, &si.TenantID, &si.ClientID, &si.PrincipalID, &si.IdentityID, &si.Resource,
			&si.Credential, &si.Result, &si.ErrorCode, &si.Reason, &si.Issuer, &si.Subject, &verified)
		si.Time, si.LastSeen, si.Verified = fromMicros(t), fromMicros(last), verified != 0
		return si, err
	})
}

// DeleteSignInsBefore deletes the sign-in records last seen before t.
func (s *DB) DeleteSignInsBefore(ctx context.Context, t time.Time) (int64, error) {
	return s.deleteBatched(ctx, `DELETE FROM sign_ins WHERE id IN (SELECT id FROM sign_ins WHERE last_seen < ? LIMIT ?)`, t)
}

// DeleteActivityBefore deletes the activity events recorded before t.
func (s *DB) DeleteActivityBefore(ctx context.Context, t time.Time) (int64, error) {
	return s.deleteBatched(ctx, `DELETE FROM activity_log WHERE id IN (SELECT id FROM activity_log WHERE created_at < ? LIMIT ?)`, t)
}

// deleteBatched runs q (parameters: a time, a row limit) until it deletes
// fewer than retentionBatch rows, each run its own short transaction.
func (s *DB) deleteBatched(ctx context.Context, q string, t time.Time) (int64, error) {
	var total int64
	for {
		res, err := s.exec(ctx, q, t.UnixMicro(), retentionBatch)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
		if n < retentionBatch {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}
