"""assignment trigger: the nearest-grid search for points outside every grid uses the GiST index

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Same rule as 0001 (docs/assignment.md); only the search for the nearest grid within 100 m now
# filters by a bounding box first (`&&` uses the GiST index), then measures on the geography.
ASSIGN_FUNCTION = """
CREATE OR REPLACE FUNCTION incidents_assign() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ids int[];
  reach float8 := 100.0 / (111320.0 * greatest(cos(radians(ST_Y(NEW.geom))), 0.05));
BEGIN
  SELECT array_agg(g.id ORDER BY g.code) INTO ids
    FROM grids g JOIN grid_plans p ON p.id = g.plan_id AND p.status = 'published'
   WHERE ST_Covers(g.geom, NEW.geom);
  IF ids IS NULL THEN
    SELECT g.id INTO NEW.grid_id
      FROM grids g JOIN grid_plans p ON p.id = g.plan_id AND p.status = 'published'
     WHERE g.geom && ST_Expand(NEW.geom, reach)
       AND ST_DWithin(g.geom::geography, NEW.geom::geography, 100)
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
    op.execute(ASSIGN_FUNCTION)


def downgrade() -> None:
    import runpy
    from pathlib import Path

    first = runpy.run_path(str(Path(__file__).with_name("0001_initial_schema.py")))
    op.execute(first["ASSIGN_FUNCTION"])
