"""append-only audit log, written by triggers in the same transaction as each audited change

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# who: the web request sets mapapp.actor/mapapp.ip for its transaction (mapapp.audit.bind);
# a change made outside the app (CLI, psql) is attributed to the database session user.
ACTOR = "coalesce(nullif(current_setting('mapapp.actor', true), ''), 'db:' || session_user)"
IP = "nullif(current_setting('mapapp.ip', true), '')"

TRIGGERS = f"""
CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;

CREATE FUNCTION audit_incident_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit_log (actor, ip, action, object_type, object_id, before, after)
  SELECT coalesce(n.actor, {ACTOR}), {IP}, 'incident.' || n.action, 'incident', n.incident_id::text,
         CASE WHEN n.from_status IS NULL THEN NULL ELSE jsonb_build_object('status', n.from_status) END,
         jsonb_build_object('status', n.to_status, 'note', n.note, 'event', n.id)
    FROM new_rows n;
  RETURN NULL;
END $$;
CREATE TRIGGER incident_events_audit AFTER INSERT ON incident_events
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit_incident_events();

CREATE FUNCTION audit_plan_edits() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO audit_log (actor, ip, action, object_type, object_id, before, after)
    VALUES (coalesce(NEW.actor, {ACTOR}), {IP}, 'plan.edit.' || NEW.action, 'grid_plan', NEW.plan_id::text,
            NEW.before, NEW.after || jsonb_build_object('seq', NEW.seq));
  ELSIF NEW.undone IS DISTINCT FROM OLD.undone THEN
    INSERT INTO audit_log (actor, ip, action, object_type, object_id, before, after)
    VALUES ({ACTOR}, {IP}, CASE WHEN NEW.undone THEN 'plan.undo' ELSE 'plan.redo' END, 'grid_plan',
            NEW.plan_id::text, jsonb_build_object('seq', NEW.seq, 'undone', OLD.undone),
            jsonb_build_object('seq', NEW.seq, 'undone', NEW.undone));
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER plan_edits_audit AFTER INSERT OR UPDATE ON plan_edits
  FOR EACH ROW EXECUTE FUNCTION audit_plan_edits();

CREATE FUNCTION audit_grid_plans() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO audit_log (actor, ip, action, object_type, object_id, after)
    VALUES ({ACTOR}, {IP}, 'plan.create', 'grid_plan', NEW.id::text,
            jsonb_build_object('name', NEW.name, 'status', NEW.status));
  ELSIF (NEW.status, NEW.name) IS DISTINCT FROM (OLD.status, OLD.name) THEN
    INSERT INTO audit_log (actor, ip, action, object_type, object_id, before, after)
    VALUES ({ACTOR}, {IP}, CASE WHEN NEW.status = 'published' THEN 'plan.publish' ELSE 'plan.change' END,
            'grid_plan', NEW.id::text, jsonb_build_object('name', OLD.name, 'status', OLD.status),
            jsonb_build_object('name', NEW.name, 'status', NEW.status));
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER grid_plans_audit AFTER INSERT OR UPDATE ON grid_plans
  FOR EACH ROW EXECUTE FUNCTION audit_grid_plans();

CREATE FUNCTION audit_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO audit_log (actor, ip, action, object_type, object_id, after)
    VALUES ({ACTOR}, {IP}, 'user.create', 'user', NEW.name, jsonb_build_object('role', NEW.role, 'active', NEW.active));
  ELSIF (NEW.role, NEW.active, NEW.password_hash) IS DISTINCT FROM (OLD.role, OLD.active, OLD.password_hash) THEN
    INSERT INTO audit_log (actor, ip, action, object_type, object_id, before, after)
    VALUES ({ACTOR}, {IP}, CASE WHEN NEW.role IS DISTINCT FROM OLD.role THEN 'user.role' ELSE 'user.change' END,
            'user', NEW.name, jsonb_build_object('role', OLD.role, 'active', OLD.active),
            jsonb_build_object('role', NEW.role, 'active', NEW.active,
                               'password_changed', NEW.password_hash IS DISTINCT FROM OLD.password_hash));
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER users_audit AFTER INSERT OR UPDATE ON users FOR EACH ROW EXECUTE FUNCTION audit_users();

CREATE FUNCTION audit_api_tokens() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO audit_log (actor, ip, action, object_type, object_id, after)
    VALUES ({ACTOR}, {IP}, 'token.create', 'api_token', NEW.id::text,
            jsonb_build_object('user_id', NEW.user_id, 'label', NEW.name));
  ELSIF NEW.revoked AND NOT OLD.revoked THEN
    INSERT INTO audit_log (actor, ip, action, object_type, object_id, before, after)
    VALUES ({ACTOR}, {IP}, 'token.revoke', 'api_token', NEW.id::text,
            jsonb_build_object('revoked', false), jsonb_build_object('revoked', true));
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER api_tokens_audit AFTER INSERT OR UPDATE ON api_tokens
  FOR EACH ROW EXECUTE FUNCTION audit_api_tokens();
"""

DROP = """
DROP TRIGGER IF EXISTS api_tokens_audit ON api_tokens;
DROP TRIGGER IF EXISTS users_audit ON users;
DROP TRIGGER IF EXISTS grid_plans_audit ON grid_plans;
DROP TRIGGER IF EXISTS plan_edits_audit ON plan_edits;
DROP TRIGGER IF EXISTS incident_events_audit ON incident_events;
DROP FUNCTION IF EXISTS audit_api_tokens(), audit_users(), audit_grid_plans(), audit_plan_edits(),
  audit_incident_events();
"""


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=100), nullable=True),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("audit_log_at", "audit_log", ["at"])
    op.create_index("audit_log_actor_ip_action", "audit_log", ["actor", "ip", "action", "at"])
    op.execute(TRIGGERS)


def downgrade() -> None:
    op.execute(DROP)
    op.drop_table("audit_log")
    op.execute("DROP FUNCTION IF EXISTS audit_log_refuse()")
