"""Vector tiles: contents decoded and compared with the database, caps, ETag and versions."""
from __future__ import annotations

import math

import mapbox_vector_tile
import pytest
from sqlalchemy import text


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def ids_in_tile(engine, z: int, x: int, y: int) -> list[int]:
    """Incidents whose point lies in the tile: x in [xmin, xmax), y in (ymin, ymax] (web mercator)."""
    with engine.connect() as conn:
        return conn.execute(text("""
            SELECT id FROM (SELECT id, ST_Transform(geom, 3857) AS g FROM incidents) i, ST_TileEnvelope(:z, :x, :y) e
             WHERE ST_X(g) >= ST_XMin(e) AND ST_X(g) < ST_XMax(e) AND ST_Y(g) > ST_YMin(e) AND ST_Y(g) <= ST_YMax(e)
             ORDER BY id"""), {"z": z, "x": x, "y": y}).scalars().all()


def decode(r):
    assert r.status_code == 200 and r.mimetype == "application/vnd.mapbox-vector-tile"
    return mapbox_vector_tile.decode(r.data)


def test_points_at_high_zoom_match_the_database(viewer, engine):
    x, y = tile_of(24.942, 60.163, 15)
    layers = decode(viewer.get(f"/tiles/incidents/15/{x}/{y}.pbf"))
    ids = sorted(f["id"] for f in layers["incidents"]["features"])
    assert ids == ids_in_tile(engine, 15, x, y) and ids
    props = layers["incidents"]["features"][0]["properties"]
    assert {"category", "status", "overdue"} <= set(props)


@pytest.mark.parametrize("z", [11, 12, 13, 14])
def test_cluster_counts_add_up_to_database_counts(viewer, engine, z):
    x, y = tile_of(24.945, 60.165, z)
    layers = decode(viewer.get(f"/tiles/incidents/{z}/{x}/{y}.pbf"))
    total = sum(f["properties"]["count"] for f in layers["clusters"]["features"])
    assert total == len(ids_in_tile(engine, z, x, y)) > 0
    assert len(layers["clusters"]["features"]) <= 256


def test_every_incident_is_in_exactly_one_tile(viewer, engine):
    z, counted = 14, 0
    x0, y0 = tile_of(24.930, 60.180, z)
    x1, y1 = tile_of(24.960, 60.150, z)
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            layers = decode(viewer.get(f"/tiles/incidents/{z}/{x}/{y}.pbf"))
            counted += sum(f["properties"]["count"] for f in layers.get("clusters", {"features": []})["features"])
    with engine.connect() as conn:
        assert counted == conn.execute(text("SELECT count(*) FROM incidents")).scalar()


def test_filters_are_the_list_filters(viewer):
    x, y = tile_of(24.945, 60.165, 12)
    layers = decode(viewer.get(f"/tiles/incidents/12/{x}/{y}.pbf?category=public_order"))
    assert sum(f["properties"]["count"] for f in layers["clusters"]["features"]) == \
        viewer.get("/api/incidents?category=public_order").json["numberMatched"] == 3
    r = viewer.get(f"/tiles/incidents/12/{x}/{y}.pbf?bbox=1,2,3,4")
    assert r.status_code == 400 and r.json["field"] == "bbox"
    assert viewer.get("/tiles/incidents/3/9/0.pbf").json["field"] == "x"
    assert viewer.get("/tiles/incidents/40/0/0.pbf").json["field"] == "z"


def test_etag_304_and_version(viewer, dispatcher):
    x, y = tile_of(24.945, 60.165, 13)
    v = viewer.get("/tiles/incidents/version").json["version"]
    url = f"/tiles/incidents/13/{x}/{y}.pbf?v={v}"
    r = viewer.get(url)
    assert "immutable" in r.headers["Cache-Control"]
    again = viewer.get(url, headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    dispatcher.get("/")
    with dispatcher.session_transaction() as sess:
        csrf = sess["csrf"]
    dispatcher.post("/api/incidents", json={"category": "public_order", "lon": 24.944, "lat": 60.166},
                    headers={"X-CSRF-Token": csrf})
    v2 = viewer.get("/tiles/incidents/version").json["version"]
    assert v2 != v
    fresh = viewer.get(f"/tiles/incidents/13/{x}/{y}.pbf?v={v2}", headers={"If-None-Match": r.headers["ETag"]})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != r.headers["ETag"]
    assert "immutable" in fresh.headers["Cache-Control"]  # the body's own version is the one asked for


def test_tiles_need_login(app, city):
    assert app.test_client().get("/tiles/incidents/0/0/0.pbf").status_code == 401


def test_a_tile_with_an_unknown_token_is_a_401_in_json(app, city):
    x, y = tile_of(24.942, 60.163, 13)
    r = app.test_client().get(f"/tiles/incidents/13/{x}/{y}.pbf", headers={"Authorization": "Bearer mapapp_nope"})
    assert r.status_code == 401 and r.is_json and "token" in r.json["message"]
