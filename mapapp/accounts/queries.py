"""Users and API tokens. Passwords are stored as werkzeug scrypt hashes, tokens as SHA-256."""
from __future__ import annotations

import hashlib
import re
import secrets

from psycopg.rows import tuple_row
from sqlalchemy import text
from sqlalchemy.engine import Connection
from werkzeug.security import check_password_hash, generate_password_hash

from mapapp.db.models import ROLES
from mapapp.db.session import driver_cursor
from mapapp.errors import UserError

_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,100}")
MIN_PASSWORD = 8


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(conn: Connection, name: str, role: str, password: str) -> int:
    if not _NAME.fullmatch(name):
        raise UserError("user name may hold letters, digits and _ . @ - (1-100 characters)",
                        field="name")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; use one of {', '.join(ROLES)}", field="role")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password must have at least {MIN_PASSWORD} characters", field="password")
    if conn.execute(text("SELECT 1 FROM users WHERE name = :n"), {"n": name}).first():
        raise UserError(f"user {name!r} already exists", field="name", code="conflict", status=409)
    return conn.execute(text("INSERT INTO users (name, role, password_hash) VALUES (:n, :r, :h) "
                             "RETURNING id"),
                        {"n": name, "r": role, "h": generate_password_hash(password)}).scalar_one()


def set_password(conn: Connection, name: str, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password must have at least {MIN_PASSWORD} characters", field="password")
    done = conn.execute(text("UPDATE users SET password_hash = :h WHERE name = :n"),
                        {"n": name, "h": generate_password_hash(password)}).rowcount
    if not done:
        raise UserError(f"no user named {name!r}", field="name", code="not_found", status=404)


def user_exists(conn: Connection, name: str) -> bool:
    return conn.execute(text("SELECT 1 FROM users WHERE name = :n"), {"n": name}).first() is not None


def authenticate(conn: Connection, name: str, password: str) -> dict | None:
    row = conn.execute(text("SELECT id, name, role, password_hash FROM users "
                            "WHERE name = :n AND active"), {"n": name}).mappings().first()
    if row is None or not check_password_hash(row["password_hash"], password):
        return None
    return {"id": row["id"], "name": row["name"], "role": row["role"]}


def user_by_id(conn: Connection, user_id: int) -> dict | None:
    row = conn.execute(text("SELECT id, name, role FROM users WHERE id = :i AND active"),
                       {"i": user_id}).mappings().first()
    return dict(row) if row else None


def create_token(conn: Connection, user_name: str, token_name: str = "api") -> str:
    """Create an API token for a user and return it; only its hash is kept."""
    user = conn.execute(text("SELECT id FROM users WHERE name = :n AND active"),
                        {"n": user_name}).scalar()
    if user is None:
        raise UserError(f"no active user named {user_name!r}", field="name", code="not_found",
                        status=404)
    token = "mapapp_" + secrets.token_urlsafe(32)
    conn.execute(text("INSERT INTO api_tokens (user_id, name, token_hash) VALUES (:u, :n, :h)"),
                 {"u": user, "n": token_name, "h": _hash_token(token)})
    return token


def list_tokens(conn: Connection, user_name: str | None = None) -> list[dict]:
    """Tokens (never their secret): id, user, label, created, last used, revoked."""
    return [dict(r) for r in conn.execute(text("""
        SELECT t.id, u.name AS user, t.name AS label, t.created_at, t.last_used_at, t.revoked
          FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE CAST(:u AS text) IS NULL OR u.name = :u ORDER BY t.id"""), {"u": user_name}).mappings()]


def revoke_token(conn: Connection, token_id: int) -> None:
    """Revoke a token: the next request that sends it gets 401."""
    done = conn.execute(text("UPDATE api_tokens SET revoked = true WHERE id = :i"), {"i": token_id}).rowcount
    if not done:
        raise UserError(f"no API token {token_id}", field="id", code="not_found", status=404)


TOKEN_USER_SQL = "SELECT u.id, u.name, u.role, u.token_id, u.stale{bind} FROM token_user(%(h)s) u"  # migration 0013
TOKEN_USER = TOKEN_USER_SQL.format(bind="")
# For a write that continues this transaction (intake), in the same statement: the audit triggers'
# binding (audit.bind), one round trip less; and plan_cache_mode=auto for the rest of the
# transaction. The app's connections plan every statement for its values (mapapp.db.session), but
# the intake's insert and its triggers have one best plan whatever the values (no time range or
# envelope), so replanning them on every request was pure cost (~0.6-1 ms of PostgreSQL CPU).
TOKEN_USER_BOUND = TOKEN_USER_SQL.format(
    bind=", set_config('mapapp.actor', u.name, true), set_config('mapapp.ip', %(ip)s, true), "
         "set_config('plan_cache_mode', 'auto', true)")


def user_for_token(conn: Connection, token: str, audit_ip: str | None = None) -> dict | None:
    """The user of a live token. last_used_at is written (and committed) at most once a minute,
    so reading with a token usually writes nothing. audit_ip: also name the user and this address
    to the audit triggers for the rest of the transaction (a write that continues it). Read through
    psycopg directly: every API request runs it (mapapp.db.session.driver_cursor)."""
    params = {"h": _hash_token(token)}
    if audit_ip is not None:
        params["ip"] = audit_ip
    with driver_cursor(conn, row_factory=tuple_row) as cur:
        row = cur.execute(TOKEN_USER if audit_ip is None else TOKEN_USER_BOUND, params, prepare=True).fetchone()
    if row is None:
        return None
    user_id, name, role, token_id, stale = row[:5]
    if stale:
        conn.execute(text("UPDATE api_tokens SET last_used_at = now() WHERE id = :id"), {"id": token_id})
        conn.commit()
    return {"id": user_id, "name": name, "role": role}
