-- Azure Policy: custom definitions (at a subscription) and assignments (at
-- any scope). ARM's properties object is kept as JSON text; package policy
-- checks it before it is written. key is the lower-cased scope and name,
-- scope_key the lower-cased scope ('' for '/').
CREATE TABLE policy_definitions (
    key         TEXT PRIMARY KEY,
    scope_key   TEXT NOT NULL,
    scope       TEXT NOT NULL,
    name        TEXT NOT NULL,
    properties  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX policy_definitions_scope ON policy_definitions(scope_key, key);

CREATE TABLE policy_assignments (
    key         TEXT PRIMARY KEY,
    scope_key   TEXT NOT NULL,
    scope       TEXT NOT NULL,
    name        TEXT NOT NULL,
    location    TEXT NOT NULL,
    properties  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX policy_assignments_scope ON policy_assignments(scope_key, key);
