"""incident_data_version(): the tile data version of 0014 as a PL/pgSQL function, whose plan is made
once per connection. Written into every tile's statement, its two subqueries were planned anew for
every tile (the app plans each statement for its values, see mapapp.db.session): 0.26 ms a tile,
against 0.07 ms for the function (paired, 30-day tiles z11-z17 on 1M incidents). A STABLE function
reads with its caller's snapshot, so the version and the tile still come from one snapshot.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-24
"""
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every transaction below the snapshot's xmin has ended, so the history steps below it can no
    # longer change and the largest of their txids names them all; the few at or above it
    # (committed while an older transaction still runs) are listed, hashed. Equal versions mean
    # equal visible steps; largest ids could not say that (a lower id can commit after a higher one).
    op.execute("""
CREATE FUNCTION incident_data_version() RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT coalesce(max(txid), '0')::text FROM incident_events
           WHERE txid < pg_snapshot_xmin(pg_current_snapshot())) || '.' ||
         (SELECT coalesce(left(md5(string_agg(t::text, ',' ORDER BY t)), 12), '0')
            FROM (SELECT DISTINCT txid AS t FROM incident_events
                   WHERE txid >= pg_snapshot_xmin(pg_current_snapshot())) r);
END
$$""")


def downgrade() -> None:
    op.execute("DROP FUNCTION incident_data_version()")
