"""plan versions and edit history (undo/redo), grid locks, staffing and band waivers, publications

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("grid_plans", sa.Column("version", sa.Integer(), server_default="0", nullable=False))
    op.add_column("grid_plans", sa.Column("base_plan_id", sa.Integer(), nullable=True))
    op.create_foreign_key("grid_plans_base_plan_id_fkey", "grid_plans", "grid_plans",
                          ["base_plan_id"], ["id"], ondelete="SET NULL")
    op.add_column("grids", sa.Column("locked", sa.Boolean(), server_default="false", nullable=False))
    op.add_column("grids", sa.Column("staffing", sa.Integer(), server_default="1", nullable=False))
    op.add_column("grids", sa.Column("waiver", sa.Text(), nullable=True))
    op.create_table(
        "plan_edits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("undone", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["grid_plans.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "seq", name="plan_edit_seq_unique"),
    )
    op.create_table(
        "plan_publications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("replaced_plan_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["grid_plans.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["replaced_plan_id"], ["grid_plans.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("plan_publications")
    op.drop_table("plan_edits")
    op.drop_column("grids", "waiver")
    op.drop_column("grids", "staffing")
    op.drop_column("grids", "locked")
    op.drop_constraint("grid_plans_base_plan_id_fkey", "grid_plans", type_="foreignkey")
    op.drop_column("grid_plans", "base_plan_id")
    op.drop_column("grid_plans", "version")
