-- Azure RBAC: custom role definitions (built-ins live in code) and role
-- assignments. (scope_key, principal_id, role_definition_id) is unique, as
-- in ARM.
CREATE TABLE role_definitions (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    description       TEXT NOT NULL,
    assignable_scopes TEXT NOT NULL,
    permissions       TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);

CREATE TABLE role_assignments (
    id                 TEXT PRIMARY KEY,
    scope              TEXT NOT NULL,
    scope_key          TEXT NOT NULL,
    principal_id       TEXT NOT NULL,
    principal_type     TEXT NOT NULL,
    role_definition_id TEXT NOT NULL,
    description        TEXT NOT NULL,
    created_by         TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    UNIQUE (scope_key, principal_id, role_definition_id)
);
CREATE INDEX role_assignments_principal ON role_assignments(principal_id);
