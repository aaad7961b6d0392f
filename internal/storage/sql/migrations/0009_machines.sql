-- Connected machines (Microsoft.HybridCompute/machines): a machine's
-- identities and its agent's credential live in spec, as a cluster's do.
CREATE TABLE machines (
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
CREATE INDEX machines_rg ON machines(rg_key, key);
