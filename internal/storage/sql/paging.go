package sql

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ward-id/ward/internal/storage"
)

// listPage reads one page of a keyset-paged list. The rows are ordered by
// the columns keys (together unique); the query is
//
//	SELECT keys..., cols FROM/WHERE clause [AND (keys) > (cursor)] ORDER BY keys LIMIT n
//
// where clause is "FROM t WHERE ...". The next cursor is the last row's key
// values, encoded opaquely so that callers only hand it back.
func listPage[T any](ctx context.Context, s *DB, keys []string, cols, clause string, args []any, p storage.Page, scan func(scanner) (T, error)) ([]T, string, error) {
	limit := pageLimit(p)
	keyList := strings.Join(keys, ", ")
	q := `SELECT ` + keyList + `, ` + cols + ` ` + clause
	if p.After != "" {
		after, err := decodeCursor(p.After, len(keys))
		if err != nil {
			return nil, "", err
		}
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(keys)), ", ")
		q += ` AND (` + keyList + `) > (` + marks + `)`
		args = append(append([]any(nil), args...), after...)
	}
	q += ` ORDER BY ` + keyList + ` LIMIT ?`
	rows, err := s.db.QueryContext(ctx, s.fl.rebind(q), append(args, limit+1)...)
	if err != nil {
		return nil, "", s.classify(err)
	}
	defer rows.Close()
	out := []T{}
	last := make([]any, len(keys))
	var next string
	for rows.Next() {
		if len(out) == limit {
			if next, err = encodeCursor(last); err != nil {
				return nil, "", err
			}
			break
		}
		v, err := scan(keysScanner{rows, last})
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
	}
	return out, next, s.classify(rows.Err())
}

// keysScanner scans the leading key columns into keys, the rest into dest.
type keysScanner struct {
	rows *sql.Rows
	keys []any
}

func (k keysScanner) Scan(dest ...any) error {
	ptrs := make([]any, 0, len(k.keys)+len(dest))
	for i := range k.keys {
		ptrs = append(ptrs, &k.keys[i])
	}
	return k.rows.Scan(append(ptrs, dest...)...)
}

// encodeCursor writes key values (strings and integers) as an opaque cursor.
func encodeCursor(keys []any) (string, error) {
	vals := make([]any, len(keys))
	for i, k := range keys {
		switch v := k.(type) {
		case []byte:
			vals[i] = string(v)
		case string, int64:
			vals[i] = v
		default:
			return "", fmt.Errorf("page cursor: unexpected key type %T", k)
		}
	}
	b, err := json.Marshal(vals)
	return base64.RawURLEncoding.EncodeToString(b), err
}

// decodeCursor reads a cursor written by encodeCursor.
func decodeCursor(c string, n int) ([]any, error) {
	bad := fmt.Errorf("invalid page cursor %q: pass back the one a previous page returned", c)
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, bad
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var vals []any
	if err := dec.Decode(&vals); err != nil || len(vals) != n {
		return nil, bad
	}
	for i, v := range vals {
		switch v := v.(type) {
		case json.Number:
			if vals[i], err = v.Int64(); err != nil {
				return nil, bad
			}
		case string:
		default:
			return nil, bad
		}
	}
	return vals, nil
}
