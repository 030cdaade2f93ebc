-- The public face's role in the shred store's own PostgreSQL database (SAFEPASSAGE_SHRED_STORE), for
-- deployments where the public face runs apart from the staff face (docs/intake.md).
--
-- It may add a secret for what arrives, and nothing else: not read, change or delete any record's secret
-- (deleting one would erase that record for good). Run it as the store database's owner once the staff face
-- has used the store (which creates its table):
--
--     psql -v ON_ERROR_STOP=1 -v role=safepassage_public -f deploy/postgresql/public-face-shred-store.sql SHREDDB

DO $$ BEGIN
    IF current_setting('server_version_num')::int < 150000 THEN
        RAISE EXCEPTION 'PostgreSQL 15 or newer is needed (older versions let every role create in schema public)';
    END IF;
END $$;

SELECT format('CREATE ROLE %I LOGIN', :'role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM :"role";
REVOKE CREATE ON SCHEMA public FROM :"role";
GRANT USAGE ON SCHEMA public TO :"role";
GRANT INSERT ON shred_secret TO :"role";
