"""incident_tally_keys becomes a one-row set-returning SQL function, which the planner inlines into
the tally triggers' statements; as a function returning one record it ran through the SQL-function
executor on every call, parsed and planned anew for each statement (each intake)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# The arithmetic of 0006, unchanged (the tiles' raw path repeats it: mapapp.incidents.queries).
BODY = """
  SELECT floor((ST_X(m) + 20037508.342789244) / (40075016.68557849 / 262144))::int,
         floor((20037508.342789244 - ST_Y(m)) / (40075016.68557849 / 262144))::int,
         (reported AT TIME ZONE 'UTC')::date,
         date_trunc('month', reported AT TIME ZONE 'UTC')::date,
         split_part(cat, '.', 1), st, ST_X(m), ST_Y(m)
    FROM ST_Transform(g, 3857) AS m
"""
DROP = "DROP FUNCTION incident_tally_keys(geometry, timestamptz, text, text)"
INLINED = f"""
CREATE FUNCTION incident_tally_keys(g geometry, reported timestamptz, cat text, st text)
RETURNS TABLE (cx int, cy int, day date, month date, top text, status text, mx float8, my float8)
LANGUAGE sql IMMUTABLE PARALLEL SAFE ROWS 1 AS $${BODY}$$
"""
RECORD = f"""
CREATE FUNCTION incident_tally_keys(g geometry, reported timestamptz, cat text, st text,
    OUT cx int, OUT cy int, OUT day date, OUT month date, OUT top text, OUT status text,
    OUT mx float8, OUT my float8)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $${BODY}$$
"""


def upgrade() -> None:
    # the trigger functions name it only in their bodies (resolved when they run): no dependency
    op.execute(DROP)
    op.execute(INLINED)


def downgrade() -> None:
    op.execute(DROP)
    op.execute(RECORD)
