"""The routable street network built in pgRouting from a small hand-made street layer."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from mapapp.patrol.queries import network_report, rebuild_network

# A (two-way) crosses B with no shared vertex; A ends on the one-way C, which runs north;
# D is a footway; E lies apart from everything.
STREETS = """
INSERT INTO streets (name, class, length_m, oneway, geom) VALUES
 ('A', 'residential', 1, false, ST_GeomFromText('LINESTRING(24.940 60.160, 24.950 60.160)', 4326)),
 ('B', 'residential', 1, false, ST_GeomFromText('LINESTRING(24.945 60.155, 24.945 60.165)', 4326)),
 ('C', 'residential', 1, true, ST_GeomFromText('LINESTRING(24.950 60.155, 24.950 60.165)', 4326)),
 ('D', 'footway', 1, false, ST_GeomFromText('LINESTRING(24.945 60.165, 24.950 60.165)', 4326)),
 ('E', 'residential', 1, false, ST_GeomFromText('LINESTRING(24.960 60.170, 24.961 60.170)', 4326));
"""


@pytest.fixture
def network(db):
    with db.begin() as conn:
        conn.execute(text(STREETS))
        steps = []
        report = rebuild_network(conn, progress=lambda step, i, n: steps.append((step, i, n)))
    report["steps"] = steps
    return db, report


def _edges(conn, name):
    return conn.execute(text("""
        SELECT e.source, e.target, e.cost_car, e.reverse_cost_car, e.cost_foot, e.reverse_cost_foot,
               e.length_m, ST_Y(ST_StartPoint(e.geom)) AS y0, ST_Y(ST_EndPoint(e.geom)) AS y1
          FROM street_edges e JOIN streets s ON s.id = e.street_id WHERE s.name = :n ORDER BY e.id"""),
        {"n": name}).mappings().all()


def test_crossings_are_noded_and_topology_shared(network):
    db, report = network
    assert report["edges"] == 8 and report["vertices"] == 9
    with db.connect() as conn:
        a, b = _edges(conn, "A"), _edges(conn, "B")
        assert len(a) == 2 and len(b) == 2
        crossing = set(x for e in a for x in (e["source"], e["target"])) & \
            set(x for e in b for x in (e["source"], e["target"]))
        assert len(crossing) == 1
        assert abs(sum(e["length_m"] for e in a) - 556.0) < 2  # 0.01 degree of longitude at 60.16 N
        assert not conn.execute(text("SELECT count(*) FROM street_edges WHERE source IS NULL "
                                     "OR target IS NULL")).scalar()
    assert [s for s, _, _ in report["steps"]][0] == "noding" and report["steps"][-1][0] == "done"


def _hops(conn, mode: str, a: int, b: int) -> int:
    return conn.execute(text(f"""
        SELECT count(*) FROM pgr_dijkstra(
          'SELECT id, source, target, cost_{mode} AS cost, reverse_cost_{mode} AS reverse_cost
             FROM street_edges', :a, :b, true)"""), {"a": a, "b": b}).scalar()


def test_one_way_street_is_split_but_keeps_its_direction(network):
    db, _ = network
    with db.connect() as conn:
        c = sorted(_edges(conn, "C"), key=lambda e: e["y0"])
        assert len(c) == 2
        for e in c:
            assert e["y1"] > e["y0"]  # still drawn northwards
            assert e["cost_car"] > 0 and e["reverse_cost_car"] == -1
            assert e["reverse_cost_foot"] == e["cost_foot"] > 0
        bottom, top = c[0]["source"], c[1]["target"]
        assert c[0]["target"] == c[1]["source"]
        assert _hops(conn, "car", bottom, top) == 3
        assert _hops(conn, "car", top, bottom) == 0  # against the one-way: no route by car
        assert _hops(conn, "foot", top, bottom) == 3


def test_footway_is_closed_to_cars_and_pieces_are_reported(network):
    db, report = network
    with db.connect() as conn:
        (d,) = _edges(conn, "D")
    assert d["cost_car"] == -1 and d["reverse_cost_car"] == -1 and d["cost_foot"] > 0
    foot = report["modes"]["foot"]
    assert foot["components"] == 2 and foot["main_vertices"] == 7
    assert foot["disconnected"][0]["vertices"] == 2
    assert abs(foot["disconnected"][0]["lon"] - 24.9605) < 1e-6
    car = report["modes"]["car"]
    assert car["components"] == 2 and car["main_vertices"] == 7
    with db.connect() as conn:
        assert network_report(conn) == {k: v for k, v in report.items() if k != "steps"}


def test_cli_rebuilds_with_progress_and_reports_pieces(db, monkeypatch):
    from click.testing import CliRunner

    from mapapp.cli import main

    with db.begin() as conn:
        conn.execute(text(STREETS))
    monkeypatch.setenv("DATABASE_URL", db.url.render_as_string(hide_password=False))
    r = CliRunner().invoke(main, ["patrol", "network"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "[1/6] topology" in r.output and "[6/6] done" in r.output
    assert "8 edges, 9 vertices from 5 streets" in r.output
    assert "disconnected: 2 vertices near 24.9605, 60.17" in r.output


def test_street_import_rebuilds_the_network(db, tmp_path):
    from mapapp.io.store import import_file

    path = tmp_path / "streets.geojson"
    path.write_text('{"type": "FeatureCollection", "features": ['
                    '{"type": "Feature", "properties": {"name": "X", "class": "primary"}, "geometry": '
                    '{"type": "LineString", "coordinates": [[24.94, 60.16], [24.95, 60.16]]}},'
                    '{"type": "Feature", "properties": {"name": "Y", "class": "primary"}, "geometry": '
                    '{"type": "LineString", "coordinates": [[24.945, 60.155], [24.945, 60.165]]}}]}')
    report = import_file(db, "streets", path)
    assert any("street network rebuilt for routing: 4 edges, 5 vertices" in n for n in report.notes)
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM street_edges WHERE cost_car > 0")).scalar() == 4
