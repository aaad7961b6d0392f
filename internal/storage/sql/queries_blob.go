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

const accountCols = `subscription_id, resource_group, name, location, tags, kind, sku, echo, blob_service_echo, created_at, updated_at`

func scanAccount(sc scanner) (storage.StorageAccount, error) {
	var a storage.StorageAccount
	var tags, echo, blobEcho string
	var created, updated int64
	if err := sc.Scan(&a.SubscriptionID, &a.ResourceGroup, &a.Name, &a.Location, &tags, &a.Kind, &a.SKU, &echo, &blobEcho, &created, &updated); err != nil {
		return a, err
	}
	if echo != "" {
		a.Echo = json.RawMessage(echo)
	}
	if blobEcho != "" {
		a.BlobServiceEcho = json.RawMessage(blobEcho)
	}
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, json.Unmarshal([]byte(tags), &a.Tags)
}

// PutStorageAccount creates or updates a storage account.
func (s *DB) PutStorageAccount(ctx context.Context, a storage.StorageAccount) (bool, error) {
	tags, err := marshalTags(a.Tags)
	if err != nil {
		return false, err
	}
	rgKey := resourceid.Key(resourceid.ResourceGroupID(a.SubscriptionID, a.ResourceGroup))
	key := strings.ToLower(a.Name)
	var created bool
	err = s.txRow(ctx, "storage_accounts/"+key, func(tx *sql.Tx) error {
		var existingRG string
		err := tx.QueryRowContext(ctx, s.fl.rebind(`SELECT rg_key FROM storage_accounts WHERE name_key = ?`+s.fl.forUpdate()), key).Scan(&existingRG)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			created = true
			_, err = tx.ExecContext(ctx, s.fl.rebind(`INSERT INTO storage_accounts (name_key, rg_key, `+accountCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				key, rgKey, a.SubscriptionID, a.ResourceGroup, a.Name, a.Location, tags, a.Kind, a.SKU, string(a.Echo), string(a.BlobServiceEcho), micros(a.CreatedAt), micros(a.UpdatedAt))
			return err
		case err != nil:
			return err
		case existingRG != rgKey:
			return fmt.Errorf("%w: storage account name %s is in use", storage.ErrAlreadyExists, a.Name)
		}
		_, err = tx.ExecContext(ctx, s.fl.rebind(`UPDATE storage_accounts SET tags = ?, kind = ?, sku = ?, echo = ?, updated_at = ? WHERE name_key = ?`), tags, a.Kind, a.SKU, string(a.Echo), micros(a.UpdatedAt), key)
		return err
	})
	return created, err
}

// UpdateStorageAccount applies fn to a stored account in one transaction;
// its name, group, location and creation time stay.
func (s *DB) UpdateStorageAccount(ctx context.Context, name string, fn func(storage.StorageAccount) (storage.StorageAccount, error)) (storage.StorageAccount, error) {
	key := strings.ToLower(name)
	read := func(tx *sql.Tx) (storage.StorageAccount, error) {
		return scanAccount(tx.QueryRowContext(ctx, s.fl.rebind(`SELECT `+accountCols+` FROM storage_accounts WHERE name_key = ?`+s.fl.forUpdate()), key))
	}
	a, err := updateRow(ctx, s, "storage_accounts/"+key, read, fn, func(tx *sql.Tx, _, nu storage.StorageAccount) (storage.StorageAccount, error) {
		tags, err := marshalTags(nu.Tags)
		if err != nil {
			return nu, err
		}
		if _, err = tx.ExecContext(ctx, s.fl.rebind(`UPDATE storage_accounts SET tags = ?, kind = ?, sku = ?, echo = ?, blob_service_echo = ?, updated_at = ? WHERE name_key = ?`),
			tags, nu.Kind, nu.SKU, string(nu.Echo), string(nu.BlobServiceEcho), micros(nu.UpdatedAt), key); err != nil {
			return nu, err
		}
		return scanAccount(tx.QueryRowContext(ctx, s.fl.rebind(`SELECT `+accountCols+` FROM storage_accounts WHERE name_key = ?`), key))
	})
	return a, s.classify(err)
}

// GetStorageAccount reads an account by name.
func (s *DB) GetStorageAccount(ctx context.Context, name string) (storage.StorageAccount, error) {
	a, err := scanAccount(s.queryRow(ctx, `SELECT `+accountCols+` FROM storage_accounts WHERE name_key = ?`, strings.ToLower(name)))
	return a, s.classify(err)
}

// ListStorageAccounts lists one page of a group's accounts, or a
// subscription's.
func (s *DB) ListStorageAccounts(ctx context.Context, sub, rg string, p storage.Page) ([]storage.StorageAccount, string, error) {
	clause, arg := `FROM storage_accounts WHERE lower(subscription_id) = ?`, strings.ToLower(sub)
	if rg != "" {
		clause, arg = `FROM storage_accounts WHERE rg_key = ?`, resourceid.Key(resourceid.ResourceGroupID(sub, rg))
	}
	return listPage(ctx, s, by("name_key"), accountCols, clause, []any{arg}, p, scanAccount)
}

// DeleteStorageAccount deletes an account; containers, blobs and blocks
// cascade.
func (s *DB) DeleteStorageAccount(ctx context.Context, name string) error {
	res, err := s.exec(ctx, `DELETE FROM storage_accounts WHERE name_key = ?`, strings.ToLower(name))
	return notFoundIfNone(res, err)
}

const containerCols = `account_key, name, metadata, etag, created_at, updated_at`

func scanContainer(sc scanner) (storage.BlobContainer, error) {
	var c storage.BlobContainer
	var md string
	var created, updated int64
	if err := sc.Scan(&c.Account, &c.Name, &md, &c.ETag, &created, &updated); err != nil {
		return c, err
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return c, json.Unmarshal([]byte(md), &c.Metadata)
}

// PutBlobContainer creates a container.
func (s *DB) PutBlobContainer(ctx context.Context, c storage.BlobContainer) error {
	md, err := marshalTags(c.Metadata)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO blob_containers (name_key, `+containerCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		strings.ToLower(c.Name), strings.ToLower(c.Account), c.Name, md, c.ETag, micros(c.CreatedAt), micros(c.UpdatedAt))
	return err
}

// UpdateBlobContainer applies fn to a stored container in one transaction.
func (s *DB) UpdateBlobContainer(ctx context.Context, account, name string, fn func(storage.BlobContainer) (storage.BlobContainer, error)) (storage.BlobContainer, error) {
	acc, key := strings.ToLower(account), strings.ToLower(name)
	const q = `SELECT ` + containerCols + ` FROM blob_containers WHERE account_key = ? AND name_key = ?`
	read := func(tx *sql.Tx) (storage.BlobContainer, error) {
		return scanContainer(tx.QueryRowContext(ctx, s.fl.rebind(q+s.fl.forUpdate()), acc, key))
	}
	return updateRow(ctx, s, "blob_containers/"+acc+"/"+key, read, fn, func(tx *sql.Tx, _, nu storage.BlobContainer) (storage.BlobContainer, error) {
		md, err := marshalTags(nu.Metadata)
		if err != nil {
			return nu, err
		}
		if _, err = tx.ExecContext(ctx, s.fl.rebind(`UPDATE blob_containers SET metadata = ?, etag = ?, updated_at = ? WHERE account_key = ? AND name_key = ?`),
			md, nu.ETag, micros(nu.UpdatedAt), acc, key); err != nil {
			return nu, err
		}
		return scanContainer(tx.QueryRowContext(ctx, s.fl.rebind(q), acc, key))
	})
}

// GetBlobContainer reads a container.
func (s *DB) GetBlobContainer(ctx context.Context, account, name string) (storage.BlobContainer, error) {
	c, err := scanContainer(s.queryRow(ctx, `SELECT `+containerCols+` FROM blob_containers WHERE account_key = ? AND name_key = ?`,
		strings.ToLower(account), strings.ToLower(name)))
	return c, s.classify(err)
}

// ListBlobContainers lists containers by name after after.
func (s *DB) ListBlobContainers(ctx context.Context, account, prefix, after string, limit int) ([]storage.BlobContainer, error) {
	return listAfter(ctx, s, `SELECT `+containerCols+`, name_key FROM blob_containers WHERE account_key = ? AND name_key >= ? AND name_key > ? ORDER BY name_key LIMIT ?`,
		[]any{strings.ToLower(account), strings.ToLower(prefix), strings.ToLower(after)}, strings.ToLower(prefix), limit,
		func(sc scanner) (storage.BlobContainer, string, error) {
			var c storage.BlobContainer
			var md, key string
			var created, updated int64
			if err := sc.Scan(&c.Account, &c.Name, &md, &c.ETag, &created, &updated, &key); err != nil {
				return c, "", err
			}
			c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
			return c, key, json.Unmarshal([]byte(md), &c.Metadata)
		})
}

// listAfter runs a name-ordered query and keeps the rows whose key starts
// with prefix (the query starts at prefix; the first key without it ends
// the list).
func listAfter[T any](ctx context.Context, s *DB, q string, args []any, prefix string, limit int, scan func(scanner) (T, string, error)) ([]T, error) {
	if limit <= 0 || limit > maxPageSize {
		limit = maxPageSize
	}
	rows, err := s.db.QueryContext(ctx, s.fl.rebind(q), append(args, limit)...)
	if err != nil {
		return nil, s.classify(err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, key, err := scan(rows)
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(key, prefix) {
			break
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// DeleteBlobContainer deletes a container; blobs and blocks cascade.
func (s *DB) DeleteBlobContainer(ctx context.Context, account, name string) error {
	res, err := s.exec(ctx, `DELETE FROM blob_containers WHERE account_key = ? AND name_key = ?`, strings.ToLower(account), strings.ToLower(name))
	return notFoundIfNone(res, err)
}

const blobCols = `account_key, container_key, name, size, digest, props, metadata, etag, created_at, updated_at`

// blobPropsJSON is the props column.
type blobPropsJSON struct {
	ContentType        string `json:"contentType,omitempty"`
	ContentEncoding    string `json:"contentEncoding,omitempty"`
	ContentLanguage    string `json:"contentLanguage,omitempty"`
	ContentDisposition string `json:"contentDisposition,omitempty"`
	CacheControl       string `json:"cacheControl,omitempty"`
	ContentMD5         []byte `json:"contentMD5,omitempty"`
}

func scanBlob(sc scanner) (storage.Blob, error) {
	var b storage.Blob
	var props, md string
	var created, updated int64
	if err := sc.Scan(&b.Account, &b.Container, &b.Name, &b.Size, &b.Digest, &props, &md, &b.ETag, &created, &updated); err != nil {
		return b, err
	}
	b.CreatedAt, b.UpdatedAt = fromMicros(created), fromMicros(updated)
	var p blobPropsJSON
	if err := json.Unmarshal([]byte(props), &p); err != nil {
		return b, err
	}
	b.Props = storage.BlobProps(p)
	return b, json.Unmarshal([]byte(md), &b.Metadata)
}

func blobArgs(b storage.Blob) (props, md string, err error) {
	pb, err := json.Marshal(blobPropsJSON(b.Props))
	if err != nil {
		return "", "", err
	}
	md, err = marshalTags(b.Metadata)
	return string(pb), md, err
}

const blobWhere = ` WHERE account_key = ? AND container_key = ? AND name = ?`

// PutBlob creates or replaces a blob and drops its uncommitted blocks.
func (s *DB) PutBlob(ctx context.Context, b storage.Blob, check func(old *storage.Blob) error) (storage.Blob, error) {
	acc, con := strings.ToLower(b.Account), strings.ToLower(b.Container)
	props, md, err := blobArgs(b)
	if err != nil {
		return b, err
	}
	var out storage.Blob
	err = s.txRow(ctx, "blobs/"+acc+"/"+con+"/"+b.Name, func(tx *sql.Tx) error {
		old, err := scanBlob(tx.QueryRowContext(ctx, s.fl.rebind(`SELECT `+blobCols+` FROM blobs`+blobWhere+s.fl.forUpdate()), acc, con, b.Name))
		var prev *storage.Blob
		switch {
		case err == nil:
			prev = &old
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if check != nil {
			if err := check(prev); err != nil {
				return err
			}
		}
		created := b.CreatedAt
		if prev != nil {
			created = prev.CreatedAt
			if _, err := tx.ExecContext(ctx, s.fl.rebind(`DELETE FROM blobs`+blobWhere), acc, con, b.Name); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.fl.rebind(`INSERT INTO blobs (`+blobCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			acc, con, b.Name, b.Size, b.Digest, props, md, b.ETag, micros(created), micros(b.UpdatedAt)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.fl.rebind(`DELETE FROM blob_blocks WHERE account_key = ? AND container_key = ? AND blob_name = ?`), acc, con, b.Name); err != nil {
			return err
		}
		out, err = scanBlob(tx.QueryRowContext(ctx, s.fl.rebind(`SELECT `+blobCols+` FROM blobs`+blobWhere), acc, con, b.Name))
		return err
	})
	return out, err
}

// UpdateBlob applies fn to a stored blob in one transaction; its content
// stays.
func (s *DB) UpdateBlob(ctx context.Context, account, container, name string, fn func(storage.Blob) (storage.Blob, error)) (storage.Blob, error) {
	acc, con := strings.ToLower(account), strings.ToLower(container)
	read := func(tx *sql.Tx) (storage.Blob, error) {
		return scanBlob(tx.QueryRowContext(ctx, s.fl.rebind(`SELECT `+blobCols+` FROM blobs`+blobWhere+s.fl.forUpdate()), acc, con, name))
	}
	return updateRow(ctx, s, "blobs/"+acc+"/"+con+"/"+name, read, fn, func(tx *sql.Tx, _, nu storage.Blob) (storage.Blob, error) {
		props, md, err := blobArgs(nu)
		if err != nil {
			return nu, err
		}
		if _, err = tx.ExecContext(ctx, s.fl.rebind(`UPDATE blobs SET props = ?, metadata = ?, etag = ?, updated_at = ?`+blobWhere),
			props, md, nu.ETag, micros(nu.UpdatedAt), acc, con, name); err != nil {
			return nu, err
		}
		return scanBlob(tx.QueryRowContext(ctx, s.fl.rebind(`SELECT `+blobCols+` FROM blobs`+blobWhere), acc, con, name))
	})
}

// GetBlob reads a blob.
func (s *DB) GetBlob(ctx context.Context, account, container, name string) (storage.Blob, error) {
	b, err := scanBlob(s.queryRow(ctx, `SELECT `+blobCols+` FROM blobs`+blobWhere, strings.ToLower(account), strings.ToLower(container), name))
	return b, s.classify(err)
}

// ListBlobs lists blobs by name (byte order) after after.
func (s *DB) ListBlobs(ctx context.Context, account, container, prefix, after string, limit int) ([]storage.Blob, error) {
	return listAfter(ctx, s, `SELECT `+blobCols+` FROM blobs WHERE account_key = ? AND container_key = ? AND name >= ? AND name > ? ORDER BY name LIMIT ?`,
		[]any{strings.ToLower(account), strings.ToLower(container), prefix, after}, prefix, limit,
		func(sc scanner) (storage.Blob, string, error) {
			b, err := scanBlob(sc)
			return b, b.Name, err
		})
}

// DeleteBlob deletes a blob and its uncommitted blocks.
func (s *DB) DeleteBlob(ctx context.Context, account, container, name string, check func(storage.Blob) error) error {
	acc, con := strings.ToLower(account), strings.ToLower(container)
	return s.txRow(ctx, "blobs/"+acc+"/"+con+"/"+name, func(tx *sql.Tx) error {
		old, err := scanBlob(tx.QueryRowContext(ctx, s.fl.rebind(`SELECT `+blobCols+` FROM blobs`+blobWhere+s.fl.forUpdate()), acc, con, name))
		if errors.Is(err, sql.ErrNoRows) {
			return storage.ErrNotFound
		}
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(old); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.fl.rebind(`DELETE FROM blobs`+blobWhere), acc, con, name); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.fl.rebind(`DELETE FROM blob_blocks WHERE account_key = ? AND container_key = ? AND blob_name = ?`), acc, con, name)
		return err
	})
}

// PutBlobBlock stores an uncommitted block, replacing one of the same ID.
func (s *DB) PutBlobBlock(ctx context.Context, b storage.BlobBlock) error {
	acc, con := strings.ToLower(b.Account), strings.ToLower(b.Container)
	return s.txRow(ctx, "blobs/"+acc+"/"+con+"/"+b.Blob, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.fl.rebind(`DELETE FROM blob_blocks WHERE account_key = ? AND container_key = ? AND blob_name = ? AND block_id = ?`),
			acc, con, b.Blob, b.BlockID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.fl.rebind(`INSERT INTO blob_blocks (account_key, container_key, blob_name, block_id, digest, size, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			acc, con, b.Blob, b.BlockID, b.Digest, b.Size, micros(b.CreatedAt))
		return err
	})
}

// ListBlobBlocks lists a blob's uncommitted blocks, oldest first.
func (s *DB) ListBlobBlocks(ctx context.Context, account, container, blob string) ([]storage.BlobBlock, error) {
	rows, err := s.db.QueryContext(ctx, s.fl.rebind(`SELECT account_key, container_key, blob_name, block_id, digest, size, created_at FROM blob_blocks
		WHERE account_key = ? AND container_key = ? AND blob_name = ? ORDER BY created_at, block_id`), strings.ToLower(account), strings.ToLower(container), blob)
	if err != nil {
		return nil, s.classify(err)
	}
	defer rows.Close()
	out := []storage.BlobBlock{}
	for rows.Next() {
		var b storage.BlobBlock
		var created int64
		if err := rows.Scan(&b.Account, &b.Container, &b.Blob, &b.BlockID, &b.Digest, &b.Size, &created); err != nil {
			return nil, err
		}
		b.CreatedAt = fromMicros(created)
		out = append(out, b)
	}
	return out, rows.Err()
}

// BlobDigestInUse reports whether a blob or block refers to digest.
func (s *DB) BlobDigestInUse(ctx context.Context, digest string) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT (SELECT COUNT(*) FROM blobs WHERE digest = ?) + (SELECT COUNT(*) FROM blob_blocks WHERE digest = ?)`, digest, digest).Scan(&n)
	return n > 0, s.classify(err)
}
