-- Managed clusters with their hosted OIDC issuers. Signing keys gain an
-- owner: '' is the token service, a cluster's GUID its issuer.
ALTER TABLE signing_keys ADD COLUMN owner TEXT NOT NULL DEFAULT '';

CREATE TABLE clusters (
    key             TEXT PRIMARY KEY,
    rg_key          TEXT NOT NULL REFERENCES resource_groups(key) ON DELETE CASCADE,
    id              TEXT NOT NULL UNIQUE,
    subscription_id TEXT NOT NULL,
    resource_group  TEXT NOT NULL,
    name            TEXT NOT NULL,
    location        TEXT NOT NULL,
    tags            TEXT NOT NULL,
    spec            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX clusters_rg ON clusters(rg_key, key);
