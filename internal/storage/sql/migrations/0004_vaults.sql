-- Key Vault–compatible vaults and secrets. Vault names are global, as
-- vault host names are; secret values are encrypted by package vault.
CREATE TABLE vaults (
    name_key        TEXT PRIMARY KEY,
    rg_key          TEXT NOT NULL REFERENCES resource_groups(key) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL,
    resource_group  TEXT NOT NULL,
    name            TEXT NOT NULL,
    location        TEXT NOT NULL,
    tags            TEXT NOT NULL,
    tenant_id       TEXT NOT NULL,
    sku             TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX vaults_rg ON vaults(rg_key, name_key);

CREATE TABLE secrets (
    vault_key    TEXT NOT NULL REFERENCES vaults(name_key) ON DELETE CASCADE,
    name_key     TEXT NOT NULL,
    name         TEXT NOT NULL,
    version      TEXT NOT NULL,
    value_enc    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    enabled      BIGINT NOT NULL,
    not_before   BIGINT NOT NULL,
    expires      BIGINT NOT NULL,
    tags         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (vault_key, name_key, version)
);
