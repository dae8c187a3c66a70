"""/api/hotspots/clusters (ST_ClusterDBSCAN) and /api/hotspots/density (KDE) through Flask."""
from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

BLOBS = {(24.940, 60.160): ("public_order.theft", 40), (24.952, 60.172): ("disputes.neighbour", 25)}


@pytest.fixture
def blobs(db, city):
    """Two tight blobs (40 thefts, 25 disputes with 3 thefts mixed in) and scattered noise."""
    rng = np.random.default_rng(4)
    rows = []
    for (lon, lat), (cat, n) in BLOBS.items():
        for k, (dx, dy) in enumerate(rng.normal(0, 0.0002, (n, 2))):
            c = "public_order.theft" if cat.startswith("disputes") and k < 3 else cat
            rows.append({"c": c, "x": lon + dx * 2, "y": lat + dy})
    with db.begin() as conn:
        conn.execute(text("INSERT INTO incidents (category, reported_at, geom) VALUES "
                          "(:c, now(), ST_SetSRID(ST_MakePoint(:x, :y), 4326))"), rows)
    return city


def test_dbscan_finds_both_blobs_largest_first_deterministically(viewer, blobs):
    r = viewer.get("/api/hotspots/clusters?eps=60&minpoints=5")
    assert r.status_code == 200
    fc = r.json
    counts = [f["properties"]["count"] for f in fc["features"]]
    assert counts[:2] == [40, 25]
    first, second = fc["features"][0]["properties"], fc["features"][1]["properties"]
    assert first["dominant_category"] == "public_order.theft" and first["dominant_share"] == 1.0
    assert second["dominant_category"] == "disputes.neighbour" and second["dominant_share"] == 0.88
    assert fc["features"][0]["geometry"]["type"] == "Polygon"
    meta = fc["meta"]
    assert meta["clustered"] + meta["noise"] == 65 + 7 and meta["eps_m"] == 60
    assert viewer.get("/api/hotspots/clusters?eps=60&minpoints=5").json == fc  # same every time


def test_density_peaks_at_the_biggest_blob_and_shows_bandwidth(viewer, blobs):
    r = viewer.get("/api/hotspots/density?bandwidth=80")
    assert r.status_code == 200
    d = r.json
    assert d["meta"]["bandwidth_m"] == 80 and d["meta"]["bandwidth_rule"] == "given"
    v = np.array(d["values"])
    assert v.shape == (d["height"], d["width"]) and abs(v.max() - d["max"]) < 1e-6
    auto = viewer.get("/api/hotspots/density").json["meta"]
    assert auto["bandwidth_rule"] == "Silverman's rule of thumb" and auto["bandwidth_m"] > 0


def test_bad_cluster_and_density_parameters(viewer, blobs):
    for path, field in (("clusters?eps=0", "eps"), ("clusters?minpoints=2.5", "minpoints"),
                        ("clusters?k=3", "k"), ("density?bandwidth=x", "bandwidth"),
                        ("density?cell=1", "cell"), ("density?area=nope", "area")):
        r = viewer.get(f"/api/hotspots/{path}")
        assert r.status_code == 400 and r.json["field"] == field, path
    r = viewer.get("/api/hotspots/density?category=emergency.natural")
    assert r.status_code == 422
