"""SQL of the audit trail. Data changes are recorded by triggers (migration 0008) in the changing
transaction; `bind` tells them who is acting; logins are recorded here."""
from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.engine import Connection

# who acts when no actor is given: as in the triggers of migration 0008
ACTOR = "nullif(current_setting('mapapp.actor', true), ''), 'db:' || session_user"
IP = "nullif(current_setting('mapapp.ip', true), '')"
FIELDS = ("id", "at", "actor", "ip", "action", "object_type", "object_id", "before", "after")
MAX_ROWS = 10000


def bind(dbapi_connection, actor: str, ip: str | None) -> None:
    """Name the acting user and address for the audit triggers, for this transaction only."""
    with dbapi_connection.cursor() as cur:
        cur.execute("SELECT set_config('mapapp.actor', %s, true), set_config('mapapp.ip', %s, true)",
                    (actor, ip or ""))


def record(conn: Connection, actor: str | None, action: str, object_type: str, object_id: str | None,
           ip: str | None = None, before: dict | None = None, after: dict | None = None) -> None:
    """Append one entry (logins, imports: events no trigger sees). Without actor or ip, those
    bound to the transaction (`bind`), else the database role, as the triggers do."""
    conn.execute(text("INSERT INTO audit_log (actor, ip, action, object_type, object_id, before, after) "
                      f"VALUES (coalesce(:a, {ACTOR}), coalesce(:ip, {IP}), :act, :t, :o, "
                      "CAST(:b AS jsonb), CAST(:f AS jsonb))"),
                 {"a": actor, "ip": ip, "act": action, "t": object_type, "o": object_id,
                  "b": json.dumps(before) if before is not None else None,
                  "f": json.dumps(after) if after is not None else None})


def failed_logins(conn: Connection, name: str, ip: str | None, minutes: int) -> int:
    """Failed logins of this account from this address in the window, since its last success."""
    return conn.execute(text("""
        SELECT count(*) FROM audit_log
         WHERE action = 'login_failed' AND actor = :n AND ip IS NOT DISTINCT FROM :ip
           AND at > now() - make_interval(mins => :m)
           AND at > coalesce((SELECT max(at) FROM audit_log WHERE action = 'login' AND actor = :n
                                 AND ip IS NOT DISTINCT FROM :ip), '-infinity')"""),
                        {"n": name, "ip": ip, "m": minutes}).scalar_one()


def entries(conn: Connection, action: str | None = None, actor: str | None = None,
            limit: int = 500) -> list[dict]:
    """The newest entries first, optionally of one action prefix or actor."""
    rows = conn.execute(text("""
        SELECT id, at, actor, ip, action, object_type, object_id, before, after FROM audit_log
         WHERE (CAST(:act AS text) IS NULL OR action LIKE :act || '%')
           AND (CAST(:actor AS text) IS NULL OR actor = :actor)
         ORDER BY id DESC LIMIT :lim"""),
                        {"act": action, "actor": actor, "lim": min(limit, MAX_ROWS)}).mappings()
    return [dict(r) for r in rows]
