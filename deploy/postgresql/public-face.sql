-- The public face's own PostgreSQL role (docs/intake.md, "The public face's database role").
--
-- It stores help requests, their files and the requesters' messages, sealed on arrival, and reads only what
-- the public pages need: which organisations take requests, their intake public keys, the flood switches, and
-- a mailbox's sealed replies. It cannot read cases, people, audit entries, any organisation's keys, or the
-- sealed content of what it stored; it cannot change or delete anything.
--
-- Run it as the database's owner after `safepassage migrate`, and again after every upgrade (it grants only on
-- tables that exist):
--
--     psql -v ON_ERROR_STOP=1 -v role=safepassage_public -f deploy/postgresql/public-face.sql DATABASE
--
-- then give the role a password (\password safepassage_public) and start the public face with
-- SAFEPASSAGE_FACE=public and a DATABASE_URL that logs in as this role.

\set ON_ERROR_STOP on

-- PostgreSQL 15 or newer: before 15, every role may create objects in schema public, which a REVOKE from
-- this role alone does not take back.
DO $$ BEGIN
    IF current_setting('server_version_num')::int < 150000 THEN
        RAISE EXCEPTION 'PostgreSQL 15 or newer is needed (older versions let every role create in schema public)';
    END IF;
END $$;

SELECT format('CREATE ROLE %I LOGIN', :'role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec

-- Nothing but what follows, whatever was granted before (temporary tables included).
SELECT format('REVOKE TEMPORARY ON DATABASE %I FROM %I', current_database(), :'role') \gexec
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM :"role";
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM :"role";
REVOKE CREATE ON SCHEMA public FROM :"role";
GRANT USAGE ON SCHEMA public TO :"role";

-- Who takes requests, how they are routed, the flood switches.
GRANT SELECT ON intake_receiver, intake_routingrule, intake_intakesettings TO :"role";
-- Sealing needs each organisation's public key, never the wrapped private key.
GRANT SELECT (id, organisation_id, public_key) ON vault_intakekey TO :"role";

-- What arrives: a data key per item, sealed to the organisation (the shred secret goes to the shred store).
GRANT INSERT ON vault_datakey, vault_arrivalwrap TO :"role";
GRANT INSERT ON intake_mailbox, intake_helprequest, intake_requestfile, intake_mailboxmessage TO :"role";

-- The mailbox: found by the codename's lookup value; replies sealed to the codename's key; the next message
-- number. No sealed column of a request or message can be read back.
GRANT SELECT (id, lookup, public_key) ON intake_mailbox TO :"role";
GRANT SELECT (id, mailbox_id, organisation_id, received_on) ON intake_helprequest TO :"role";
GRANT SELECT (id, request_id, number, direction, sent_on, for_requester) ON intake_mailboxmessage TO :"role";

-- What the role inserts must look like what a requester sends: a request nobody has triaged yet, a message
-- from the requester (never a reply, which would reach the requester as if from staff). Restrictive policies
-- for this role only; every other role keeps seeing and writing every row (the permissive policy).
ALTER TABLE intake_helprequest ENABLE ROW LEVEL SECURITY;
ALTER TABLE intake_mailboxmessage ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS every_row ON intake_helprequest;
CREATE POLICY every_row ON intake_helprequest AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true);
DROP POLICY IF EXISTS every_row ON intake_mailboxmessage;
CREATE POLICY every_row ON intake_mailboxmessage AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true);
SELECT format('DROP POLICY IF EXISTS %I ON intake_helprequest', 'as_sent_by_' || :'role') \gexec
SELECT format(
    'CREATE POLICY %I ON intake_helprequest AS RESTRICTIVE FOR INSERT TO %I WITH CHECK ('
    'status = %L AND NOT triaged AND urgency = %L AND assignee_id IS NULL AND contact_index IS NULL'
    ' AND received_on BETWEEN CURRENT_DATE - 1 AND CURRENT_DATE'
    ' AND organisation_id IN (SELECT organisation_id FROM intake_receiver WHERE accepting))',
    'as_sent_by_' || :'role', :'role', 'new', ''
) \gexec
SELECT format('DROP POLICY IF EXISTS %I ON intake_mailboxmessage', 'as_sent_by_' || :'role') \gexec
SELECT format(
    'CREATE POLICY %I ON intake_mailboxmessage AS RESTRICTIVE FOR INSERT TO %I WITH CHECK ('
    'direction = %L AND for_requester IS NULL AND author_id IS NULL AND NOT seen'
    ' AND sent_on BETWEEN CURRENT_DATE - 1 AND CURRENT_DATE AND number BETWEEN 1 AND 100000)',
    'as_sent_by_' || :'role', :'role', 'in'
) \gexec
-- A file: one of the kinds the form takes, under a file id as the file store names them, of a size the form
-- allows, attached to the request or to one of its requester's messages.
ALTER TABLE intake_requestfile ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS every_row ON intake_requestfile;
CREATE POLICY every_row ON intake_requestfile AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true);
SELECT format('DROP POLICY IF EXISTS %I ON intake_requestfile', 'as_sent_by_' || :'role') \gexec
SELECT format(
    'CREATE POLICY %I ON intake_requestfile AS RESTRICTIVE FOR INSERT TO %I WITH CHECK ('
    'kind IN (%L, %L, %L, %L, %L) AND size BETWEEN 1 AND 1073741824'
    ' AND file_id ~ %L'
    ' AND (message_id IS NULL OR EXISTS (SELECT FROM intake_mailboxmessage m'
    ' WHERE m.id = message_id AND m.request_id = intake_requestfile.request_id AND m.direction = %L)))',
    'as_sent_by_' || :'role', :'role', 'jpg', 'png', 'webp', 'heic', 'pdf',
    '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', 'in'
) \gexec
