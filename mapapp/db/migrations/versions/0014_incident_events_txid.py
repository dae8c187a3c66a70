"""incident_events.txid: the transaction that wrote each history step, so readers can tell which
steps are new to them by commit, not by id. Event ids come from a sequence and are taken when a
row is inserted, not when it commits: under concurrent intake id 41 can commit after id 42 has
been read, and a feed that asks for "ids above 42" never sees it. The changes feed now keeps the
snapshot of its previous read as its cursor, and the tile data version is built from
transaction ids (mapapp.incidents.queries).

Existing rows get txid 0 (a constant default, so the table is not rewritten): all of them were
committed long ago, which is what 0 says. New rows get their transaction's id.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24
"""
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE incident_events ADD COLUMN txid xid8 NOT NULL DEFAULT '0'")
    op.execute("ALTER TABLE incident_events ALTER COLUMN txid SET DEFAULT pg_current_xact_id()")
    op.execute("CREATE INDEX ix_incident_events_txid ON incident_events (txid)")


def downgrade() -> None:
    op.execute("ALTER TABLE incident_events DROP COLUMN txid")
