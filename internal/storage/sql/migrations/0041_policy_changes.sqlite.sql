-- Policy definitions and assignments join the change feed: every replica
-- evaluates writes against its in-memory view of them.
CREATE TRIGGER policy_definitions_ins AFTER INSERT ON policy_definitions BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('policy_definitions', NEW.key, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER policy_definitions_upd AFTER UPDATE ON policy_definitions BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('policy_definitions', NEW.key, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER policy_definitions_del AFTER DELETE ON policy_definitions BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('policy_definitions', OLD.key, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER policy_assignments_ins AFTER INSERT ON policy_assignments BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('policy_assignments', NEW.key, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER policy_assignments_upd AFTER UPDATE ON policy_assignments BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('policy_assignments', NEW.key, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
CREATE TRIGGER policy_assignments_del AFTER DELETE ON policy_assignments BEGIN INSERT INTO changes (tbl, key, created_at) VALUES ('policy_assignments', OLD.key, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END;
