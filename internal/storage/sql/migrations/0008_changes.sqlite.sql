-- The change feed (SQLite): one row per write to a table that an in-memory
-- view follows, written by triggers in the writing transaction.
CREATE TABLE changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    tbl        TEXT NOT NULL,
    key        TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TRIGGER role_assignments_ins AFTER INSERT ON role_assignments BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('role_assignments', NEW.id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER role_assignments_upd AFTER UPDATE ON role_assignments BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('role_assignments', NEW.id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER role_assignments_del AFTER DELETE ON role_assignments BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('role_assignments', OLD.id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER role_definitions_ins AFTER INSERT ON role_definitions BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('role_definitions', NEW.id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER role_definitions_upd AFTER UPDATE ON role_definitions BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('role_definitions', NEW.id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER role_definitions_del AFTER DELETE ON role_definitions BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('role_definitions', OLD.id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER identities_ins AFTER INSERT ON identities BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('identities', NEW.key, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER identities_upd AFTER UPDATE ON identities BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('identities', NEW.key, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER identities_del AFTER DELETE ON identities BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('identities', OLD.key, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER federated_credentials_ins AFTER INSERT ON federated_credentials BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('federated_credentials', NEW.key, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER federated_credentials_upd AFTER UPDATE ON federated_credentials BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('federated_credentials', NEW.key, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER federated_credentials_del AFTER DELETE ON federated_credentials BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('federated_credentials', OLD.key, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER service_principals_ins AFTER INSERT ON service_principals BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('service_principals', NEW.object_id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER service_principals_upd AFTER UPDATE ON service_principals BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('service_principals', NEW.object_id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER service_principals_del AFTER DELETE ON service_principals BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('service_principals', OLD.object_id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER client_secrets_ins AFTER INSERT ON client_secrets BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('client_secrets', NEW.key_id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER client_secrets_upd AFTER UPDATE ON client_secrets BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('client_secrets', NEW.key_id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER client_secrets_del AFTER DELETE ON client_secrets BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('client_secrets', OLD.key_id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER sp_certificates_ins AFTER INSERT ON sp_certificates BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('sp_certificates', NEW.key_id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER sp_certificates_upd AFTER UPDATE ON sp_certificates BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('sp_certificates', NEW.key_id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER sp_certificates_del AFTER DELETE ON sp_certificates BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('sp_certificates', OLD.key_id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER signing_keys_ins AFTER INSERT ON signing_keys BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('signing_keys', NEW.kid, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER signing_keys_upd AFTER UPDATE ON signing_keys BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('signing_keys', NEW.kid, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER signing_keys_del AFTER DELETE ON signing_keys BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('signing_keys', OLD.kid, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER clusters_ins AFTER INSERT ON clusters BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('clusters', NEW.id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER clusters_upd AFTER UPDATE ON clusters BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('clusters', NEW.id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER clusters_del AFTER DELETE ON clusters BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('clusters', OLD.id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
