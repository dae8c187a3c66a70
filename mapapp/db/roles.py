"""The two database roles. The owner (the embedded cluster's `mapapp`, or whoever runs
`mapapp db migrate`) creates and owns the tables; the app logs in as APP_ROLE, which owns nothing
and may only read and write rows: it can neither update, delete or truncate audit rows nor
disable the audit triggers (only a table's owner or a superuser may)."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

APP_ROLE = "mapapp_app"

# Idempotent, so it runs on every start of an older cluster and after every migration.
CREATE_ROLE = f"""
DO $role$ BEGIN
  CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;  -- made already (or just now, elsewhere)
END $role$;
"""

# Run by the owner in one database. Tables are granted one by one, not by default privileges,
# so a table made by a later migration is granted only by this statement (run after each upgrade)
# and audit_log never gets UPDATE, DELETE or TRUNCATE, not even for a moment.
GRANT = f"""
DO $grant$
DECLARE rel record;
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN RETURN; END IF;
  EXECUTE 'GRANT USAGE ON SCHEMA public TO {APP_ROLE}';
  FOR rel IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'S')
                AND NOT EXISTS (SELECT FROM pg_depend d  -- PostGIS's own tables and views keep theirs
                                 WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('REVOKE ALL ON public.%I FROM {APP_ROLE}', rel.relname);
    IF rel.relkind = 'S' THEN  -- nextval; setval too, except on the audit trail's own ids
      EXECUTE format('GRANT USAGE, SELECT%s ON SEQUENCE public.%I TO {APP_ROLE}',
                     CASE WHEN rel.relname = 'audit_log_id_seq' THEN '' ELSE ', UPDATE' END, rel.relname);
    ELSIF rel.relname = 'audit_log' THEN
      EXECUTE 'GRANT SELECT, INSERT ON public.audit_log TO {APP_ROLE}';
    ELSIF rel.relkind = 'v' OR rel.relname = 'alembic_version' THEN
      EXECUTE format('GRANT SELECT ON public.%I TO {APP_ROLE}', rel.relname);
    ELSE
      EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON public.%I TO {APP_ROLE}', rel.relname);
    END IF;
  END LOOP;
END $grant$;
"""


def grant_app(conn: Connection) -> None:
    """Give APP_ROLE (when it exists) exactly the rights the app needs on this database's tables."""
    conn.execute(text(GRANT))
