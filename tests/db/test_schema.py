"""The schema in the embedded PostGIS: migrations, indexes, constraints, the assignment trigger."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from mapapp.db.migrate import current
from mapapp.db.session import check_postgis


def test_migrated_to_head_with_postgis_and_pgrouting(engine):
    from alembic.script import ScriptDirectory

    from mapapp.db.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config(engine)).get_heads()
    assert len(heads) == 1, f"the migrations must form one line, not branch: heads {heads}"
    assert current(engine) == heads[0]
    versions = check_postgis(engine)
    assert versions["postgis"] >= "3.1"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT extversion FROM pg_extension WHERE extname = 'pgrouting'")).scalar()


@pytest.mark.parametrize("table", ["admin_areas", "grids", "base_units", "incidents", "key_places", "streets"])
def test_geometry_is_4326_with_a_gist_index(engine, table):
    with engine.connect() as conn:
        srid = conn.execute(text("SELECT srid FROM geometry_columns WHERE f_table_name = :t"), {"t": table}).scalar()
        gist = conn.execute(text("SELECT count(*) FROM pg_indexes WHERE tablename = :t "
                                 "AND indexdef ILIKE '%USING gist%' AND indexdef NOT ILIKE '%WHERE%'"), {"t": table}).scalar()
    assert srid == 4326 and gist == 1


def test_only_one_published_plan(db):
    with pytest.raises(IntegrityError):
        with db.begin() as conn:
            conn.execute(text("INSERT INTO grid_plans (name, status) VALUES ('a', 'published'), ('b', 'published')"))
    with db.begin() as conn:
        conn.execute(text("INSERT INTO grid_plans (name, status) VALUES ('a', 'published'), ('b', 'draft'), ('c', 'draft')"))


def test_bad_status_and_role_are_refused(db):
    with pytest.raises(IntegrityError):
        with db.begin() as conn:
            conn.execute(text("INSERT INTO incidents (category, status, geom) VALUES ('x', 'lost', "
                              "ST_SetSRID(ST_MakePoint(0, 0), 4326))"))
    with pytest.raises(IntegrityError):
        with db.begin() as conn:
            conn.execute(text("INSERT INTO users (name, role, password_hash) VALUES ('u', 'boss', 'x')"))


def _setup_two_grids(conn):
    conn.execute(text("""
        INSERT INTO admin_areas (id, code, name, level, geom) VALUES
          (1, 'C1', 'c', 'community', ST_Multi(ST_MakeEnvelope(0, 0, 2, 1, 4326)));
        INSERT INTO grid_plans (id, name, status) VALUES (1, 'p', 'published'), (2, 'd', 'draft');
        INSERT INTO grids (plan_id, code, name, community_id, geom) VALUES
          (1, 'G2', 'right', 1, ST_Multi(ST_MakeEnvelope(1, 0, 2, 1, 4326))),
          (1, 'G1', 'left', 1, ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, 4326))),
          (2, 'D1', 'draft', 1, ST_Multi(ST_MakeEnvelope(0, 0, 2, 1, 4326)));"""))


def _insert(conn, x, y):
    return conn.execute(text(
        "INSERT INTO incidents (category, geom) VALUES ('public_order', ST_SetSRID(ST_MakePoint(:x, :y), 4326)) "
        "RETURNING (SELECT code FROM grids WHERE id = grid_id), assign_flag, "
        "(SELECT code FROM admin_areas WHERE id = community_id)"), {"x": x, "y": y}).one()


def test_assignment_rule(db):
    with db.begin() as conn:
        _setup_two_grids(conn)
        assert tuple(_insert(conn, 0.5, 0.5)) == ("G1", None, "C1")
        assert tuple(_insert(conn, 1.5, 0.5)) == ("G2", None, "C1")
        assert tuple(_insert(conn, 1.0, 0.5)) == ("G1", "boundary", "C1")  # shared edge: lowest code
        # 0.0005 degrees (~55 m) outside the grids: nearest grid, flagged
        assert tuple(_insert(conn, 2.0005, 0.5)) == ("G2", "outside", "C1")
        assert tuple(_insert(conn, 5.0, 5.0)) == (None, "outside", None)


def test_moving_an_incident_reassigns_it(db):
    with db.begin() as conn:
        _setup_two_grids(conn)
        _insert(conn, 0.5, 0.5)
        conn.execute(text("UPDATE incidents SET geom = ST_SetSRID(ST_MakePoint(1.5, 0.5), 4326)"))
        code = conn.execute(text("SELECT g.code FROM incidents i JOIN grids g ON g.id = i.grid_id")).scalar()
    assert code == "G2"


def test_models_match_the_migrations(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from mapapp.db.models import Base

    def ours(obj, name, type_, reflected, compare_to):
        return not (type_ == "table" and reflected and compare_to is None)

    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": ours})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []
