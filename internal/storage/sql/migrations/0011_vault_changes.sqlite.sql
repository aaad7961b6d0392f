-- Vaults join the change feed: the vault data plane caches vault rows.
CREATE TRIGGER vaults_ins AFTER INSERT ON vaults BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('vaults', NEW.name_key, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER vaults_upd AFTER UPDATE ON vaults BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('vaults', NEW.name_key, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER vaults_del AFTER DELETE ON vaults BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('vaults', OLD.name_key, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
