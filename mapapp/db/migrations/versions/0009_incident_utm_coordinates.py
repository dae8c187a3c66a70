"""incidents keep their UTM coordinates (zone of the point, x, y in metres) as stored generated
columns, with a covering index, so hot spot analysis reads metres without ST_Transform per row

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The EPSG code of the UTM zone holding the point, as mapapp.geo.crs.utm_crs_for picks it for an
# area; NULL off the lon/lat ranges (hot spot queries transform such rows themselves).
ZONE = ("CASE WHEN ST_X(geom) BETWEEN -180 AND 180 AND ST_Y(geom) BETWEEN -90 AND 90 THEN "
        "(CASE WHEN ST_Y(geom) >= 0 THEN 32600 ELSE 32700 END) "
        "+ least(floor((ST_X(geom) + 180) / 6)::integer + 1, 60) END")
UTM_X = f"ST_X(ST_Transform(geom, {ZONE}))"
UTM_Y = f"ST_Y(ST_Transform(geom, {ZONE}))"


def upgrade() -> None:
    # one ALTER TABLE: the table is rewritten once, not once per column
    op.execute(f"""ALTER TABLE incidents
        ADD COLUMN utm_srid integer GENERATED ALWAYS AS ({ZONE}) STORED,
        ADD COLUMN utm_x double precision GENERATED ALWAYS AS ({UTM_X}) STORED,
        ADD COLUMN utm_y double precision GENERATED ALWAYS AS ({UTM_Y}) STORED""")
    op.create_index("incidents_utm", "incidents", ["utm_srid", "reported_at", "category"],
                    postgresql_include=["utm_x", "utm_y"])


def downgrade() -> None:
    op.drop_index("incidents_utm", table_name="incidents")
    for column in ("utm_y", "utm_x", "utm_srid"):
        op.drop_column("incidents", column)
