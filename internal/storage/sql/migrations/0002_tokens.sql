-- Token service: signing keys (private keys encrypted by the key-encryption
-- key, never in clear), service principal certificates, and the sign-in log.
CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    alg         TEXT NOT NULL,
    key_enc     TEXT NOT NULL,
    cert        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    active_from BIGINT NOT NULL,
    retire_at   BIGINT NOT NULL
);

CREATE TABLE sp_certificates (
    key_id      TEXT PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES service_principals(app_id) ON DELETE CASCADE,
    thumbprint  TEXT NOT NULL,
    cert        TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX sp_certificates_app ON sp_certificates(app_id);

CREATE TABLE sign_ins (
    id           TEXT PRIMARY KEY,
    created_at   BIGINT NOT NULL,
    tenant_id    TEXT NOT NULL,
    client_id    TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    identity_id  TEXT NOT NULL,
    resource     TEXT NOT NULL,
    credential   TEXT NOT NULL,
    result       TEXT NOT NULL,
    error_code   BIGINT NOT NULL,
    reason       TEXT NOT NULL,
    issuer       TEXT NOT NULL,
    subject      TEXT NOT NULL
);
CREATE INDEX sign_ins_time ON sign_ins(created_at, id);
