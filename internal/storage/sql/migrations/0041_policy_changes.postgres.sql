-- Policy definitions and assignments join the change feed: every replica
-- evaluates writes against its in-memory view of them.
CREATE TRIGGER policy_definitions_change AFTER INSERT OR UPDATE OR DELETE ON policy_definitions FOR EACH ROW EXECUTE FUNCTION ward_change('key');
CREATE TRIGGER policy_assignments_change AFTER INSERT OR UPDATE OR DELETE ON policy_assignments FOR EACH ROW EXECUTE FUNCTION ward_change('key');
