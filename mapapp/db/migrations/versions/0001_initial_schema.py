"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa
import geoalchemy2


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


ASSIGN_FUNCTION = """
CREATE OR REPLACE FUNCTION incidents_assign() RETURNS trigger LANGUAGE plpgsql AS $$
-- Assignment rule (documented in docs/assignment.md):
--  * the published grid whose polygon covers the point; on a shared boundary (several cover it)
--    the grid with the smallest code, flagged 'boundary';
--  * covered by no grid: the nearest published grid within 100 m, flagged 'outside'
--    (grid left empty when none is that close);
--  * community: the community covering the point (smallest code on a boundary), else the
--    community of the assigned grid.
DECLARE
  ids int[];
BEGIN
  SELECT array_agg(g.id ORDER BY g.code) INTO ids
    FROM grids g JOIN grid_plans p ON p.id = g.plan_id AND p.status = 'published'
   WHERE ST_Covers(g.geom, NEW.geom);
  IF ids IS NULL THEN
    SELECT g.id INTO NEW.grid_id
      FROM grids g JOIN grid_plans p ON p.id = g.plan_id AND p.status = 'published'
     WHERE ST_DWithin(g.geom::geography, NEW.geom::geography, 100)
     ORDER BY g.geom <-> NEW.geom, g.code LIMIT 1;
    NEW.assign_flag := 'outside';
  ELSE
    NEW.grid_id := ids[1];
    NEW.assign_flag := CASE WHEN cardinality(ids) > 1 THEN 'boundary' END;
  END IF;
  SELECT a.id INTO NEW.community_id FROM admin_areas a
   WHERE a.level = 'community' AND ST_Covers(a.geom, NEW.geom) ORDER BY a.code LIMIT 1;
  IF NEW.community_id IS NULL AND NEW.grid_id IS NOT NULL THEN
    SELECT g.community_id INTO NEW.community_id FROM grids g WHERE g.id = NEW.grid_id;
  END IF;
  RETURN NEW;
END $$;
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS pgrouting")
    op.create_table('admin_areas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, from_text='ST_GeomFromEWKT', name='geometry', nullable=False, spatial_index=True), nullable=False),
    sa.CheckConstraint("level IN ('district', 'street', 'community')", name='admin_level_valid'),
    sa.ForeignKeyConstraint(['parent_id'], ['admin_areas.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('base_units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), server_default='building', nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('households', sa.Integer(), server_default='0', nullable=False),
    sa.Column('population', sa.Integer(), server_default='0', nullable=False),
    sa.Column('estimated', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('geom', geoalchemy2.types.Geometry(srid=4326, dimension=2, from_text='ST_GeomFromEWKT', name='geometry', nullable=False, spatial_index=True), nullable=False),
    sa.CheckConstraint("kind IN ('building', 'address')", name='base_unit_kind_valid'),
    sa.CheckConstraint('households >= 0 AND population >= 0', name='base_unit_counts_nonnegative'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('grid_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='draft', nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('draft', 'published', 'archived')", name='plan_status_valid'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('one_published_plan', 'grid_plans', ['status'], unique=True, postgresql_where=sa.text("status = 'published'"))
    op.create_table('key_places',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='POINT', srid=4326, dimension=2, from_text='ST_GeomFromEWKT', name='geometry', nullable=False, spatial_index=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_key_places_category'), 'key_places', ['category'], unique=False)
    op.create_table('streets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('class', sa.String(length=64), nullable=True),
    sa.Column('length_m', sa.Float(), nullable=False),
    sa.Column('oneway', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('source', sa.Integer(), nullable=True),
    sa.Column('target', sa.Integer(), nullable=True),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='LINESTRING', srid=4326, dimension=2, from_text='ST_GeomFromEWKT', name='geometry', nullable=False, spatial_index=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_streets_source'), 'streets', ['source'], unique=False)
    op.create_index(op.f('ix_streets_target'), 'streets', ['target'], unique=False)
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=300), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("role IN ('viewer', 'dispatcher', 'planner', 'patrol_lead', 'admin')", name='user_role_valid'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked', sa.Boolean(), server_default='false', nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index(op.f('ix_api_tokens_user_id'), 'api_tokens', ['user_id'], unique=False)
    op.create_table('grids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=True),
    sa.Column('grid_head', sa.String(length=100), nullable=True),
    sa.Column('police_officer', sa.String(length=100), nullable=True),
    sa.Column('assistant', sa.String(length=100), nullable=True),
    sa.Column('supervisor', sa.String(length=100), nullable=True),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, from_text='ST_GeomFromEWKT', name='geometry', nullable=False, spatial_index=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['admin_areas.id'], ),
    sa.ForeignKeyConstraint(['plan_id'], ['grid_plans.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plan_id', 'code', name='grid_code_unique_in_plan')
    )
    op.create_table('incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), server_default='reported', nullable=False),
    sa.Column('priority', sa.String(length=16), server_default='normal', nullable=False),
    sa.Column('source', sa.String(length=32), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('weight', sa.Float(), nullable=True),
    sa.Column('count', sa.Integer(), nullable=True),
    sa.Column('simulated', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('community_id', sa.Integer(), nullable=True),
    sa.Column('assign_flag', sa.String(length=16), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='POINT', srid=4326, dimension=2, from_text='ST_GeomFromEWKT', name='geometry', nullable=False, spatial_index=True), nullable=False),
    sa.CheckConstraint("assign_flag IS NULL OR assign_flag IN ('boundary', 'outside')", name='incident_assign_flag_valid'),
    sa.CheckConstraint("priority IN ('normal', 'high', 'urgent')", name='incident_priority_valid'),
    sa.CheckConstraint("status IN ('reported', 'registered', 'dispatched', 'in_progress', 'handled', 'closed', 'voided')", name='incident_status_valid'),
    sa.ForeignKeyConstraint(['community_id'], ['admin_areas.id'], ),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_incidents_category'), 'incidents', ['category'], unique=False)
    op.create_index(op.f('ix_incidents_community_id'), 'incidents', ['community_id'], unique=False)
    op.create_index(op.f('ix_incidents_grid_id'), 'incidents', ['grid_id'], unique=False)
    op.execute(ASSIGN_FUNCTION)
    op.execute("CREATE TRIGGER incidents_assign BEFORE INSERT OR UPDATE OF geom ON incidents "
               "FOR EACH ROW EXECUTE FUNCTION incidents_assign()")
    op.create_index(op.f('ix_incidents_reported_at'), 'incidents', ['reported_at'], unique=False)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS incidents_assign ON incidents")
    op.execute("DROP FUNCTION IF EXISTS incidents_assign()")
    op.drop_index(op.f('ix_incidents_reported_at'), table_name='incidents')
    op.drop_index(op.f('ix_incidents_grid_id'), table_name='incidents')
    op.drop_index(op.f('ix_incidents_community_id'), table_name='incidents')
    op.drop_index(op.f('ix_incidents_category'), table_name='incidents')
    op.drop_table('incidents')
    op.drop_table('grids')
    op.drop_index(op.f('ix_api_tokens_user_id'), table_name='api_tokens')
    op.drop_table('api_tokens')
    op.drop_table('users')
    op.drop_index(op.f('ix_streets_target'), table_name='streets')
    op.drop_index(op.f('ix_streets_source'), table_name='streets')
    op.drop_table('streets')
    op.drop_index(op.f('ix_key_places_category'), table_name='key_places')
    op.drop_table('key_places')
    op.drop_index('one_published_plan', table_name='grid_plans', postgresql_where=sa.text("status = 'published'"))
    op.drop_table('grid_plans')
    op.drop_table('base_units')
    op.drop_table('admin_areas')
