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

// order is the order of a paged list: columns that together are unique,
// all ascending or all descending, so that one row comparison finds where
// the next page starts.
type order struct {
	keys []string
	desc bool
	// rawKey also accepts, as a cursor, the bare key value the single-column
	// helper before this one returned: ARM clients may still hold it in the
	// $skiptoken of a nextLink from an older server. Such a key is a lower-
	// case resource ID, which starts with "/"; an encoded cursor never
	// contains "/" (base64url).
	rawKey bool
}

// by orders a list by keys, ascending.
func by(keys ...string) order { return order{keys: keys} }

// listPage reads one page of a keyset-paged list. The query is
//
//	SELECT keys..., cols FROM/WHERE clause [AND (keys) > (cursor)] ORDER BY keys LIMIT n
//
// (< and DESC for a descending order) where clause is "FROM t WHERE ...".
// The next cursor is the last row's key values, encoded opaquely so that
// callers only hand it back. The statement is cached: a list has two forms,
// with and without a cursor.
func listPage[T any](ctx context.Context, s *DB, o order, cols, clause string, args []any, p storage.Page, scan func(scanner) (T, error)) ([]T, string, error) {
	limit := pageLimit(p)
	keyList := strings.Join(o.keys, ", ")
	cmp, dir := ">", ""
	if o.desc {
		cmp, dir = "<", " DESC"
	}
	q := `SELECT ` + keyList + `, ` + cols + ` ` + clause
	if p.After != "" {
		after, err := o.decodeCursor(p.After)
		if err != nil {
			return nil, "", err
		}
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(o.keys)), ", ")
		q += ` AND (` + keyList + `) ` + cmp + ` (` + marks + `)`
		args = append(append([]any(nil), args...), after...)
	}
	q += ` ORDER BY ` + strings.Join(o.keys, dir+", ") + dir + ` LIMIT ?`
	rows, err := s.query(ctx, q, append(args, limit+1)...)
	if err != nil {
		return nil, "", s.classify(err)
	}
	defer rows.Close()
	out := []T{}
	last := make([]any, len(o.keys))
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

// decodeCursor reads a cursor of this order's keys.
func (o order) decodeCursor(c string) ([]any, error) {
	if o.rawKey && len(o.keys) == 1 && strings.HasPrefix(c, "/") {
		return []any{c}, nil
	}
	return decodeCursor(c, len(o.keys))
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
	bad := fmt.Errorf("%w %q: pass back the one a previous page returned", storage.ErrInvalidCursor, c)
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

// armOrder orders resource groups, identities and federated credentials by
// their lower-case resource ID, and accepts the raw-key cursors the helper
// before listPage handed out for them.
var armOrder = order{keys: []string{"key"}, rawKey: true}
