"""the partial GiST index of open incidents also holds the category (btree_gist), so intake's
duplicate search (same category, within 50 m) skips other categories inside the index instead of
fetching every nearby open incident from the table

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23
"""
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

OPEN = "('reported', 'registered', 'dispatched', 'in_progress', 'handled')"  # as in 0006


def upgrade() -> None:
    # btree_gist is a trusted extension (PostgreSQL 13+): the database owner may create it
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute("DROP INDEX incidents_open_geom")
    op.execute(f"CREATE INDEX incidents_open_geom ON incidents USING gist (geom, category) WHERE status IN {OPEN}")


def downgrade() -> None:
    op.execute("DROP INDEX incidents_open_geom")
    op.execute(f"CREATE INDEX incidents_open_geom ON incidents USING gist (geom) WHERE status IN {OPEN}")
    op.execute("DROP EXTENSION IF EXISTS btree_gist")
