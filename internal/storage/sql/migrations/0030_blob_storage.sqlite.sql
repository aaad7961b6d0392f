-- Storage accounts, blob containers, blobs and uncommitted blocks. Blob
-- bytes live in a content-addressed file store (package blob); a row names
-- its file by digest. Blob names are compared byte-wise (listing order and
-- markers are the service's, independent of the database's locale).
CREATE TABLE storage_accounts (
    name_key        TEXT PRIMARY KEY,
    rg_key          TEXT NOT NULL REFERENCES resource_groups(key) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL,
    resource_group  TEXT NOT NULL,
    name            TEXT NOT NULL,
    location        TEXT NOT NULL,
    tags            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    sku             TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX storage_accounts_rg ON storage_accounts(rg_key, name_key);

CREATE TABLE blob_containers (
    account_key TEXT NOT NULL REFERENCES storage_accounts(name_key) ON DELETE CASCADE,
    name_key    TEXT NOT NULL,
    name        TEXT NOT NULL,
    metadata    TEXT NOT NULL,
    etag        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (account_key, name_key)
);

CREATE TABLE blobs (
    account_key   TEXT NOT NULL,
    container_key TEXT NOT NULL,
    name          TEXT NOT NULL,
    size          BIGINT NOT NULL,
    digest        TEXT NOT NULL,
    props         TEXT NOT NULL,
    metadata      TEXT NOT NULL,
    etag          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (account_key, container_key, name),
    FOREIGN KEY (account_key, container_key) REFERENCES blob_containers(account_key, name_key) ON DELETE CASCADE
);
CREATE INDEX blobs_digest ON blobs(digest);

CREATE TABLE blob_blocks (
    account_key   TEXT NOT NULL,
    container_key TEXT NOT NULL,
    blob_name     TEXT NOT NULL,
    block_id      TEXT NOT NULL,
    digest        TEXT NOT NULL,
    size          BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (account_key, container_key, blob_name, block_id),
    FOREIGN KEY (account_key, container_key) REFERENCES blob_containers(account_key, name_key) ON DELETE CASCADE
);
CREATE INDEX blob_blocks_digest ON blob_blocks(digest);
