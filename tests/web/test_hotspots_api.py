"""GET /api/hotspots through the Flask client on the test city: a planted cluster is found, every
choice is in meta, warnings and refusals, every bad parameter is a 400 naming it."""
from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

HOT = (24.945, 60.165)  # planted: 150 incidents within ~60 m of this point


@pytest.fixture
def busy(db, city):
    """The test city plus 400 thefts spread over the district and 150 at one corner last week."""
    rng = np.random.default_rng(11)
    spread = np.column_stack([rng.uniform(24.931, 24.959, 400), rng.uniform(60.151, 60.179, 400)])
    hot = np.array(HOT) + rng.normal(0, 0.0004, size=(150, 2)) * [2, 1]
    rows = [{"x": float(x), "y": float(y), "d": int(k % 6)}
            for k, (x, y) in enumerate(np.vstack([spread, hot]))]
    with db.begin() as conn:
        conn.execute(text("INSERT INTO incidents (category, reported_at, geom) VALUES "
                          "('public_order.theft', now() - make_interval(days => :d), "
                          "ST_SetSRID(ST_MakePoint(:x, :y), 4326))"), rows)
    return city


def _near(feature, lon, lat, metres) -> bool:
    ring = np.array(feature["geometry"]["coordinates"][0])
    cx, cy = ring[:-1].mean(axis=0)
    return np.hypot((cx - lon) * 55_500, (cy - lat) * 111_300) < metres


def test_planted_cluster_is_a_99_percent_hot_spot(viewer, busy):
    r = viewer.get("/api/hotspots?cells=hex&size=100&since=30d&category=public_order")
    assert r.status_code == 200 and r.mimetype == "application/geo+json"
    fc = r.json
    meta = fc["meta"]
    assert meta["incidents"] == 553  # 400 + 150 + the city's noise/theft reports
    assert sum(f["properties"]["count"] for f in fc["features"]) == 553
    assert meta["crs"] == "EPSG:32635" and meta["size_m"] == 100 and meta["fdr"] is True
    assert meta["weights"]["type"] == "distance" and meta["chosen"][0]["parameter"] == "distance"
    hot = [f for f in fc["features"] if f["properties"]["bin"] == 3]
    assert hot and all(_near(f, *HOT, 400) for f in hot)
    assert any(_near(f, *HOT, 100) for f in hot)
    assert meta["significant_hot"] >= len(hot)
    assert meta["zero_cells"] > 0 and meta["cell_count"] == len(fc["features"])
    for f in fc["features"]:
        p = f["properties"]
        assert p["q"] >= p["p"] and set(p) >= {"count", "z", "p", "q", "bin"}
        assert p["significant"] == (p["q"] < 0.05)


def test_without_fdr_bins_follow_p(viewer, busy):
    fc = viewer.get("/api/hotspots?size=100&fdr=false&alpha=0.1").json
    assert fc["meta"]["fdr"] is False and fc["meta"]["alpha"] == 0.1
    for f in fc["features"]:
        p = f["properties"]
        level = 3 if p["p"] < 0.01 else 2 if p["p"] < 0.05 else 1 if p["p"] < 0.1 else 0
        assert abs(p["bin"]) == level and p["significant"] == (p["p"] < 0.1)


def test_optimized_says_why_for_size_and_band(viewer, busy):
    fc = viewer.get("/api/hotspots?optimized=true&cells=square").json
    meta = fc["meta"]
    chosen = {c["parameter"]: c for c in meta["chosen"]}
    assert set(chosen) == {"size", "distance"}
    assert "incidents per cell" in chosen["size"]["reason"]
    assert "autocorrelation" in chosen["distance"]["reason"]
    assert meta["size_m"] == chosen["size"]["value"]
    assert meta["weights"]["distance_m"] == chosen["distance"]["value"]
    assert len(meta["autocorrelation"]["distances_m"]) == 10
    assert meta["significant_hot"] > 0


def test_knn_weights(viewer, busy):
    fc = viewer.get("/api/hotspots?size=150&k=8").json
    assert fc["meta"]["weights"] == {"type": "knn", "k": 8}
    assert {f["properties"]["neighbours"] for f in fc["features"]} == {8}


def test_few_incidents_warns(viewer, city):
    r = viewer.get("/api/hotspots?size=300")
    assert r.status_code == 200
    codes = [w["code"] for w in r.json["meta"]["warnings"]]
    assert "few_incidents" in codes


def test_band_too_small_warns_then_refuses(viewer, busy):
    meta = viewer.get("/api/hotspots?size=100&distance=180").json["meta"]
    lonely = [w for w in meta["warnings"] if w["code"] == "no_neighbours"]
    assert not lonely  # hexagon centres 173 m apart: everyone has six
    r = viewer.get("/api/hotspots?size=100&distance=50")
    assert r.status_code == 422 and r.json["field"] == "distance"
    assert "no cell has a neighbour" in r.json["message"]


def test_meaningless_is_refused(viewer, busy):
    for query, field in (("category=emergency.natural", None),  # nothing matches
                         ("category=emergency.natural&size=200", None),
                         ("cells=grid", "size")):               # two grids: too few cells
        r = viewer.get(f"/api/hotspots?{query}")
        assert r.status_code == 422 and r.json["error"] == "meaningless", query
        assert r.json.get("field") == field and r.json["message"], query


BAD = [
    ("method=kde", "method"), ("cells=tri", "cells"), ("size=abc", "size"), ("size=1", "size"),
    ("size=nan", "size"), ("k=0", "k"), ("k=2.5", "k"), ("k=4&distance=300", "k"),
    ("k=99&size=1000", "k"), ("distance=-5", "distance"), ("alpha=2", "alpha"),
    ("fdr=maybe", "fdr"), ("optimized=yes", "optimized"), ("weight=mass", "weight"),
    ("mask=2", "mask"), ("area=nope", "area"), ("cells=grid&plan=nope", "plan"),
    ("cells=grid&size=100", "size"), ("size=20000", "size"), ("since=yesterday", "since"),
    ("category=nope", "category"), ("colour=red", "colour"), ("limit=5", "limit"),
    ("resolution=9", "resolution"), ("cells=h3&resolution=16", "resolution"),
    ("cells=h3&resolution=8.5", "resolution"), ("cells=h3&resolution=x", "resolution"),
    ("cells=h3&resolution=9&size=100", "size"), ("cells=h3&resolution=15", "resolution"),
    ("permutations=10", "permutations"), ("permutations=99.5", "permutations"),
    ("permutations=many", "permutations"), ("seed=3", "seed"), ("permutations=99&seed=-1", "seed"),
]


def test_permutation_p_values_with_the_fdr_caveat(viewer, busy):
    query = "/api/hotspots?cells=hex&size=100&since=30d&category=public_order&permutations=199&seed=7"
    fc = viewer.get(query).json
    meta = fc["meta"]
    assert meta["permutations"] == 199 and meta["seed"] == 7
    assert "1/(199+1)" in meta["p_values"] and "FDR" in meta["p_values"]
    assert any(w["code"] == "permutation_fdr" for w in meta["warnings"])
    ps = [f["properties"]["p"] for f in fc["features"]]
    assert min(ps) >= 1 / 200 and min(ps) == 1 / 200  # the planted cluster beats every permutation
    assert viewer.get(query).json["features"] == fc["features"]  # seeded
    analytic = viewer.get("/api/hotspots?cells=hex&size=100&since=30d&category=public_order").json
    assert min(f["properties"]["p"] for f in analytic["features"]) < 1 / 200
    assert analytic["meta"]["permutations"] is None


def test_h3_cells_find_the_planted_cluster(viewer, busy):
    r = viewer.get("/api/hotspots?cells=h3&resolution=10&since=30d&category=public_order")
    assert r.status_code == 200, r.json
    fc = r.json
    assert fc["meta"]["cells"] == "h3" and fc["meta"]["h3_resolution"] == 10
    assert sum(f["properties"]["count"] for f in fc["features"]) == fc["meta"]["incidents"] == 553
    assert all(f["id"].startswith("8a") for f in fc["features"])  # resolution 10 cells
    hot = [f for f in fc["features"] if f["properties"]["bin"] == 3]
    assert hot and any(_near(f, *HOT, 150) for f in hot)
    chosen = viewer.get("/api/hotspots?cells=h3&size=100").json["meta"]
    assert chosen["h3_resolution"] == 10 and chosen["chosen"][0]["parameter"] == "resolution"


def test_bad_parameter_is_400_naming_it(viewer, busy):
    for query, field in BAD:
        r = viewer.get(f"/api/hotspots?{query}")
        assert r.status_code == 400, (query, r.json)
        assert r.json["field"] == field and r.json["message"], query


def test_needs_login(app, city):
    r = app.test_client().get("/api/hotspots")
    assert r.status_code == 401


@pytest.fixture
def emerging_city(db, city):
    """Ten weeks of thefts spread over the district, and a corner that only the last three
    weeks set alight."""
    rng = np.random.default_rng(21)
    rows = []
    for week in range(10):
        for x, y in np.column_stack([rng.uniform(24.931, 24.959, 60), rng.uniform(60.151, 60.179, 60)]):
            rows.append({"x": float(x), "y": float(y), "h": week * 168 + 30})
        if week >= 7:
            for dx, dy in rng.normal(0, 0.0003, (40, 2)):
                rows.append({"x": HOT[0] + dx * 2, "y": HOT[1] + dy, "h": week * 168 + 30})
    with db.begin() as conn:  # h: hours after the start of the 10-week window
        conn.execute(text("INSERT INTO incidents (category, reported_at, geom) VALUES "
                          "('public_order.theft', TIMESTAMPTZ '2026-01-05 00:00+00' + make_interval(hours => :h), "
                          "ST_SetSRID(ST_MakePoint(:x, :y), 4326))"), rows)
    return city


def test_emerging_finds_the_new_corner(viewer, emerging_city):
    r = viewer.get("/api/hotspots/emerging?since=2026-01-05&until=2026-03-16&step=week&size=150"
                   "&category=public_order.theft")
    assert r.status_code == 200, r.json
    fc = r.json
    meta = fc["meta"]
    assert meta["steps"] == 10 and meta["incidents"] == 600 + 120
    corner = [f for f in fc["features"] if _near(f, *HOT, 200)]
    assert corner and all(f["properties"]["category"].endswith("_hot_spot") for f in corner)
    assert "consecutive_hot_spot" in {f["properties"]["category"] for f in corner}
    assert not any(f["properties"]["category"].endswith("_hot_spot") for f in fc["features"]
                   if not _near(f, *HOT, 600))
    assert meta["categories"].get("no_pattern", 0) > 0.8 * len(fc["features"])
    for query, field in (("since=2026-01-05&until=2026-01-20", "since"), ("step=year&since=2026-01-05", "step"),
                         ("", "since"), ("cells=grid&since=2026-01-05", "cells")):
        r = viewer.get(f"/api/hotspots/emerging?{query}")
        assert r.status_code in (400, 422) and r.json["field"] == field, query


def test_backtest_scores_every_method_at_four_coverages(viewer, emerging_city):
    r = viewer.get("/api/hotspots/backtest?since=2026-01-05&split=2026-03-02&until=2026-03-16"
                   "&size=150&category=public_order.theft")
    assert r.status_code == 200, r.json
    res, meta = r.json["results"], r.json["meta"]
    assert set(res) == {"gistar", "kde", "naive", "prospective"}
    assert meta["test"]["incidents"] == 120 + 80 and meta["train"]["incidents"] == 480 + 40
    for rows in res.values():
        assert [x["coverage"] for x in rows] == [0.01, 0.05, 0.1, 0.2]
        for x in rows:
            assert 0 <= x["hit_rate"] <= 1 and 0 <= x["pei_star"] <= 1
            assert abs(x["pai"] - x["hit_rate"] / x["area_share"]) < 1e-9
    # the corner lit from week 7 is in training (one week) and in the test: recency methods see it
    assert res["naive"][0]["pai"] > 5 and res["prospective"][0]["pai"] > 5
    for query, field in (("since=2026-01-05&until=2026-03-16", "split"),
                         ("since=2026-01-05&split=2026-04-01&until=2026-03-16", "split"),
                         ("split=2026-02-23&until=2026-03-16", "since"), ("split=x&since=1d&until=1d", "split")):
        r = viewer.get(f"/api/hotspots/backtest?{query}")
        assert r.status_code == 400 and r.json["field"] == field, query


def test_follows_every_incident_layer_filter(viewer, busy):
    everything = viewer.get("/api/hotspots?size=150").json["meta"]["incidents"]
    r = viewer.get("/api/hotspots?size=150&status=open&overdue=false&community=910101001001")
    assert r.status_code == 200, r.json
    assert 0 < r.json["meta"]["incidents"] < everything
    assert r.json["meta"]["filter"]["statuses"]


def test_backtest_page_shows_table_and_curve(viewer, emerging_city):
    query = "since=2026-01-05&split=2026-03-02&until=2026-03-16&size=150&category=public_order.theft"
    api = viewer.get(f"/api/hotspots/backtest?{query}").json
    assert set(api["curves"]) == {"gistar", "kde", "naive", "prospective"}
    for pts in api["curves"].values():
        rates = [p["hit_rate"] for p in pts]
        assert rates == sorted(rates) and rates[-1] == 1.0
    r = viewer.get(f"/hotspots/backtest?{query}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'id="backtest-table"' in html and "前瞻热点" in html and "命中率" in html
    assert html.count('<polyline class="curve"') == 4
    naive_pai = api["results"]["naive"][0]["pai"]
    assert f"{naive_pai:.2f}" in html
    en = viewer.get(f"/hotspots/backtest?{query}&lang=en").get_data(as_text=True)
    assert "Prospective hot spotting" in en and "Hit rate against area covered" in en
    bad = viewer.get("/hotspots/backtest?since=2026-01-05&split=2026-04-01&until=2026-03-16")
    assert bad.status_code == 400 and "backtest-error" in bad.get_data(as_text=True)
    assert "(split)" in bad.get_data(as_text=True)
