-- Container registries (Microsoft.ContainerRegistry/registries). Names are
-- global, as login server host names are; a group's deletion takes its
-- registries. Images live in the registry's own storage, not here.
CREATE TABLE registries (
    name_key        TEXT PRIMARY KEY,
    rg_key          TEXT NOT NULL REFERENCES resource_groups(key) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL,
    resource_group  TEXT NOT NULL,
    name            TEXT NOT NULL,
    location        TEXT NOT NULL,
    tags            TEXT NOT NULL,
    sku             TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX registries_rg ON registries(rg_key, name_key);
