-- Ward schema, version 1. Written once for both SQLite and PostgreSQL:
-- only TEXT and BIGINT columns; times are Unix microseconds; binary values
-- are hex; keys are case-folded ARM IDs so lookups are case-insensitive.
CREATE TABLE tenants (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE subscriptions (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    display_name TEXT NOT NULL,
    state        TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE service_principals (
    object_id    TEXT PRIMARY KEY,
    app_id       TEXT NOT NULL UNIQUE,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    display_name TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE client_secrets (
    key_id       TEXT PRIMARY KEY,
    app_id       TEXT NOT NULL REFERENCES service_principals(app_id) ON DELETE CASCADE,
    hint         TEXT NOT NULL,
    display_name TEXT NOT NULL,
    salt         TEXT NOT NULL,
    hash         TEXT NOT NULL,
    expires_at   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX client_secrets_app ON client_secrets(app_id);

CREATE TABLE resource_groups (
    key             TEXT PRIMARY KEY,
    sub_key         TEXT NOT NULL REFERENCES subscriptions(id),
    subscription_id TEXT NOT NULL,
    name            TEXT NOT NULL,
    location        TEXT NOT NULL,
    tags            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX resource_groups_sub ON resource_groups(sub_key, key);

CREATE TABLE identities (
    key             TEXT PRIMARY KEY,
    rg_key          TEXT NOT NULL REFERENCES resource_groups(key) ON DELETE CASCADE,
    sub_key         TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    resource_group  TEXT NOT NULL,
    name            TEXT NOT NULL,
    location        TEXT NOT NULL,
    tags            TEXT NOT NULL,
    tenant_id       TEXT NOT NULL,
    client_id       TEXT NOT NULL UNIQUE,
    principal_id    TEXT NOT NULL UNIQUE,
    isolation_scope TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX identities_sub ON identities(sub_key, key);
CREATE INDEX identities_rg ON identities(rg_key, key);

CREATE TABLE federated_credentials (
    key          TEXT PRIMARY KEY,
    identity_key TEXT NOT NULL REFERENCES identities(key) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    issuer       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    audiences    TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX federated_credentials_identity ON federated_credentials(identity_key, key);
CREATE INDEX federated_credentials_issuer_subject ON federated_credentials(issuer, subject);
