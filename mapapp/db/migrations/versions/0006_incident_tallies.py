"""incident tallies: counts per map cell, day or month, top-level category and status, kept
exact by statement-level triggers, so low-zoom tiles read thousands of rows instead of millions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# A cell is a Web Mercator tile at zoom 18 (mapapp.incidents.queries.TALLY_LEVEL): the 16 x 16
# clusters of a tile at zoom z <= 14 are cells shifted right by 14 - z bits. sx/sy sum the
# Mercator coordinates, so a cluster's position is the mean of its incidents, as from raw rows.
CELL = """
CREATE OR REPLACE FUNCTION incident_tally_keys(g geometry, reported timestamptz, cat text, st text,
    OUT cx int, OUT cy int, OUT day date, OUT month date, OUT top text, OUT status text,
    OUT mx float8, OUT my float8)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT floor((ST_X(m) + 20037508.342789244) / (40075016.68557849 / 262144))::int,
         floor((20037508.342789244 - ST_Y(m)) / (40075016.68557849 / 262144))::int,
         (reported AT TIME ZONE 'UTC')::date,
         date_trunc('month', reported AT TIME ZONE 'UTC')::date,
         split_part(cat, '.', 1), st, ST_X(m), ST_Y(m)
    FROM ST_Transform(g, 3857) AS m
$$;
"""

# Undated incidents (reported_at NULL) have no day: only the raw path, which serves
# "all time", counts them; the tile query knows (see queries.tile).
ROWS = """
    SELECT k.cx, k.cy, k.day, k.month, k.top, k.status, {sign} AS n, {sign} * k.mx AS sx, {sign} * k.my AS sy
      FROM {table} r, incident_tally_keys(r.geom, r.reported_at, r.category, r.status) k
     WHERE r.reported_at IS NOT NULL"""

# One statement: both upserts read the same delta. Sorted, so concurrent statements lock
# tally rows in the same order (no deadlock).
UPSERT = """
    WITH delta AS ({rows}),
    by_day AS (
      INSERT INTO incident_tally_day AS t (day, cx, cy, top, status, n, sx, sy)
      SELECT day, cx, cy, top, status, sum(n), sum(sx), sum(sy) FROM delta
       GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0 OR sum(sx) <> 0 OR sum(sy) <> 0 ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT (day, cx, cy, top, status)
      DO UPDATE SET n = t.n + EXCLUDED.n, sx = t.sx + EXCLUDED.sx, sy = t.sy + EXCLUDED.sy)
    INSERT INTO incident_tally_month AS t (month, cx, cy, top, status, n, sx, sy)
    SELECT month, cx, cy, top, status, sum(n), sum(sx), sum(sy) FROM delta
     GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0 OR sum(sx) <> 0 OR sum(sy) <> 0 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (month, cx, cy, top, status)
    DO UPDATE SET n = t.n + EXCLUDED.n, sx = t.sx + EXCLUDED.sx, sy = t.sy + EXCLUDED.sy;"""

ADDED = ROWS.format(sign=1, table="new_rows")
REMOVED = ROWS.format(sign=-1, table="old_rows")

APPLY = f"""
CREATE OR REPLACE FUNCTION incident_tally_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {UPSERT.format(rows=ADDED)} RETURN NULL; END $$;
CREATE OR REPLACE FUNCTION incident_tally_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {UPSERT.format(rows=ADDED + " UNION ALL " + REMOVED)} RETURN NULL; END $$;
CREATE OR REPLACE FUNCTION incident_tally_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {UPSERT.format(rows=REMOVED)} RETURN NULL; END $$;
CREATE OR REPLACE FUNCTION incident_tally_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN TRUNCATE incident_tally_day, incident_tally_month; RETURN NULL; END $$;

CREATE TRIGGER incident_tally_insert AFTER INSERT ON incidents
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION incident_tally_insert();
CREATE TRIGGER incident_tally_update AFTER UPDATE ON incidents
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION incident_tally_update();
CREATE TRIGGER incident_tally_delete AFTER DELETE ON incidents
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION incident_tally_delete();
CREATE TRIGGER incident_tally_truncate AFTER TRUNCATE ON incidents
  FOR EACH STATEMENT EXECUTE FUNCTION incident_tally_truncate();
"""

BACKFILL = """
INSERT INTO incident_tally_{span} ({span}, cx, cy, top, status, n, sx, sy)
SELECT k.{span}, k.cx, k.cy, k.top, k.status, count(*), sum(k.mx), sum(k.my)
  FROM incidents r, incident_tally_keys(r.geom, r.reported_at, r.category, r.status) k
 WHERE r.reported_at IS NOT NULL
 GROUP BY 1, 2, 3, 4, 5
"""


def _table(span: str) -> None:
    op.create_table(
        f"incident_tally_{span}",
        sa.Column(span, sa.Date(), nullable=False),
        sa.Column("cx", sa.Integer(), nullable=False),
        sa.Column("cy", sa.Integer(), nullable=False),
        sa.Column("top", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("sx", sa.Float(), nullable=False),
        sa.Column("sy", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(span, "cx", "cy", "top", "status"),
    )


# Open cases are a small share of all cases: overdue counts (tiles) and duplicate suggestions
# (intake) read them through partial indexes
OPEN = "('reported', 'registered', 'dispatched', 'in_progress', 'handled')"
OPEN_INDEXES = (f"CREATE INDEX incidents_open_due ON incidents (due_at) WHERE status IN {OPEN}",
                f"CREATE INDEX incidents_open_geom ON incidents USING gist (geom) WHERE status IN {OPEN}")


def upgrade() -> None:
    for sql in OPEN_INDEXES:
        op.execute(sql)
    _table("day")
    _table("month")
    op.execute(CELL)
    op.execute(APPLY)
    op.execute(BACKFILL.format(span="day"))
    op.execute(BACKFILL.format(span="month"))


def downgrade() -> None:
    op.execute("DROP INDEX incidents_open_due, incidents_open_geom")
    for name in ("insert", "update", "delete", "truncate"):
        op.execute(f"DROP TRIGGER incident_tally_{name} ON incidents")
    op.execute("DROP FUNCTION incident_tally_insert(), incident_tally_update(), incident_tally_delete(), "
               "incident_tally_truncate(), incident_tally_keys(geometry, timestamptz, text, text)")
    op.drop_table("incident_tally_month")
    op.drop_table("incident_tally_day")
