-- Vaults join the change feed: the vault data plane caches vault rows.
CREATE TRIGGER vaults_change AFTER INSERT OR UPDATE OR DELETE ON vaults FOR EACH ROW EXECUTE FUNCTION ward_change('name_key');
