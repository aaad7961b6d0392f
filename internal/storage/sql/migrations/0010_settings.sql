-- Server-wide settings shared by every replica: the bootstrap admin and the
-- CA, sealed under the KEK by the server before they are stored.
CREATE TABLE settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
