-- The change feed (PostgreSQL): one row per write to a table that an
-- in-memory view follows, written by a trigger in the writing transaction;
-- pg_notify wakes every replica once the transaction commits.
CREATE TABLE changes (
    seq        BIGSERIAL PRIMARY KEY,
    tbl        TEXT NOT NULL,
    key        TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE OR REPLACE FUNCTION ward_change() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE k text; BEGIN IF TG_OP = 'DELETE' THEN k := to_jsonb(OLD)->>TG_ARGV[0]; ELSE k := to_jsonb(NEW)->>TG_ARGV[0]; END IF; INSERT INTO changes (tbl, key, created_at) VALUES (TG_TABLE_NAME, COALESCE(k, ''), (extract(epoch from clock_timestamp()) * 1000000)::bigint); PERFORM pg_notify('ward_changes', ''); RETURN NULL; END $$;
CREATE TRIGGER role_assignments_change AFTER INSERT OR UPDATE OR DELETE ON role_assignments FOR EACH ROW EXECUTE FUNCTION ward_change('id');
CREATE TRIGGER role_definitions_change AFTER INSERT OR UPDATE OR DELETE ON role_definitions FOR EACH ROW EXECUTE FUNCTION ward_change('id');
CREATE TRIGGER identities_change AFTER INSERT OR UPDATE OR DELETE ON identities FOR EACH ROW EXECUTE FUNCTION ward_change('key');
CREATE TRIGGER federated_credentials_change AFTER INSERT OR UPDATE OR DELETE ON federated_credentials FOR EACH ROW EXECUTE FUNCTION ward_change('key');
CREATE TRIGGER service_principals_change AFTER INSERT OR UPDATE OR DELETE ON service_principals FOR EACH ROW EXECUTE FUNCTION ward_change('object_id');
CREATE TRIGGER client_secrets_change AFTER INSERT OR UPDATE OR DELETE ON client_secrets FOR EACH ROW EXECUTE FUNCTION ward_change('key_id');
CREATE TRIGGER sp_certificates_change AFTER INSERT OR UPDATE OR DELETE ON sp_certificates FOR EACH ROW EXECUTE FUNCTION ward_change('key_id');
CREATE TRIGGER signing_keys_change AFTER INSERT OR UPDATE OR DELETE ON signing_keys FOR EACH ROW EXECUTE FUNCTION ward_change('kid');
CREATE TRIGGER clusters_change AFTER INSERT OR UPDATE OR DELETE ON clusters FOR EACH ROW EXECUTE FUNCTION ward_change('id');
