"""street network for pgRouting (noded edges with per-mode costs, vertices with components) and saved patrols

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa
import geoalchemy2
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None

COSTS = ("cost_foot", "reverse_cost_foot", "cost_bicycle", "reverse_cost_bicycle", "cost_car",
         "reverse_cost_car")


def upgrade() -> None:
    op.create_table(
        "street_edges",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.BigInteger(), nullable=True),
        sa.Column("target", sa.BigInteger(), nullable=True),
        sa.Column("class", sa.String(length=64), nullable=True),
        sa.Column("oneway", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        *[sa.Column(c, sa.Float(), nullable=True) for c in COSTS],
        sa.Column("geom", geoalchemy2.types.Geometry(geometry_type="LINESTRING", srid=4326, dimension=2,
                                                     from_text="ST_GeomFromEWKT", name="geometry",
                                                     nullable=False, spatial_index=True), nullable=False),
        sa.ForeignKeyConstraint(["street_id"], ["streets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    for col in ("street_id", "source", "target"):
        op.create_index(op.f(f"ix_street_edges_{col}"), "street_edges", [col], unique=False)
    op.create_table(
        "street_vertices",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("component_foot", sa.BigInteger(), nullable=True),
        sa.Column("component_bicycle", sa.BigInteger(), nullable=True),
        sa.Column("component_car", sa.BigInteger(), nullable=True),
        sa.Column("geom", geoalchemy2.types.Geometry(geometry_type="POINT", srid=4326, dimension=2,
                                                     from_text="ST_GeomFromEWKT", name="geometry",
                                                     nullable=False, spatial_index=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "patrols",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("routes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("patrols")
    op.drop_table("street_vertices")
    for col in ("target", "source", "street_id"):
        op.drop_index(op.f(f"ix_street_edges_{col}"), table_name="street_edges")
    op.drop_table("street_edges")
