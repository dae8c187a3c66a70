"""One incident from the API is checked by the importer's rules without a data frame; these
tests prove the fast path and io.prepare agree: same verdict, same field, same reason, same values."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import geopandas as gpd
import pytest
import shapely

from mapapp.errors import ParamError
from mapapp.incidents import intake
from mapapp.incidents.taxonomy import load
from mapapp.io.prepare import prepare

TAXONOMY = load()
JURISDICTION = shapely.box(24.90, 60.14, 25.00, 60.20)
SOON = (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()
OK = {"category": "public_order.noise", "lon": 24.94, "lat": 60.17}

CASES = [
    OK,
    {**OK, "reported_at": "2026-11-01T08:00:00Z", "priority": "urgent", "source": " hotline ",
     "description": "门口有噪音", "weight": "2.5", "count": 3},
    {**OK, "reported_at": "2026/11/01 08:00"},
    {**OK, "reported_at": "yesterday"},
    {**OK, "reported_at": SOON},
    {**OK, "reported_at": 12345},
    {**OK, "category": "no.such"},
    {**OK, "category": ""},
    {**OK, "category": None},
    {**OK, "category": 5},
    {**OK, "priority": "whenever"},
    {**OK, "priority": ""},
    {**OK, "count": -1},
    {**OK, "count": 1.5},
    {**OK, "count": "7"},
    {**OK, "count": True},
    {**OK, "weight": "heavy"},
    {**OK, "weight": [1, 2]},
    {**OK, "source": "x" * 40},
    {**OK, "lon": 60.17, "lat": 24.94},
    {**OK, "lon": 24.94, "lat": 95.0},
    {**OK, "lon": 200.0, "lat": 60.17},
    {**OK, "lon": 30.0, "lat": 60.17},
    {**OK, "lon": float("nan"), "lat": 60.17},
    {**OK, "datum": "gcj02"},
    {**OK, "datum": "bd09", "category": "bad"},
    {**OK, "lon": 60.17, "lat": 24.94, "category": "no.such", "count": -2},
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.95, 60.18]},
     "properties": {"category": "safety.gas", "priority": "high"}},
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [2.0, 48.0]},
     "properties": {"category": "safety.gas"}},
]


def by_importer(body: dict):
    """The importer's answer for the same row: (field, reason) of the first reject, or values."""
    props, lon, lat = intake._point(body)
    point = shapely.Point(lon, lat)
    datum = props.get("datum", body.get("datum", "wgs84"))
    row = {k: props.get(k) for k in intake.FIELDS}
    gdf = gpd.GeoDataFrame([{**row, "_row": 1}], geometry=[point], crs=4326)
    prepared = prepare(gdf, "incidents", src_crs=gdf.crs, datum=datum, jurisdiction=JURISDICTION,
                       taxonomy=TAXONOMY, fix_swapped_file=False)
    if prepared.rejects:
        first = prepared.rejects[0]
        where = "geometry" if body.get("type") == "Feature" else "lon,lat"
        return "rejected", (where if first.field == "geometry" else first.field, first.reason)
    out = prepared.frame.iloc[0]
    values = {k: (None if k in ("weight", "count") and out[k] != out[k] else out[k]) for k in intake.FIELDS}
    return "accepted", (values, shapely.to_wkb(out.geometry), tuple(prepared.notes))


@pytest.mark.parametrize("lon,lat", [(24.94, 60.17), (-179.9999999, -89.5), (0.0, 0.0)])
def test_packed_wkb_is_what_shapely_writes(lon, lat):
    assert intake.point_wkb(lon, lat) == shapely.to_wkb(shapely.Point(lon, lat))


@pytest.mark.parametrize("body", CASES, ids=range(len(CASES)))
def test_fast_path_agrees_with_the_importer(body):
    expected = by_importer(body)
    try:
        new = intake.validate(body, TAXONOMY, JURISDICTION)
        got = "accepted", ({k: new.values[k] for k in intake.FIELDS}, new.wkb, new.notes)
    except ParamError as exc:
        got = "rejected", (exc.field, str(exc))
    assert got[0] == expected[0]
    if got[0] == "rejected":
        assert got[1] == expected[1]
    else:
        assert got[1][0] == expected[1][0]
        assert shapely.equals_exact(shapely.from_wkb(got[1][1]), shapely.from_wkb(expected[1][1]), 1e-12)
        assert [n for n in got[1][2]] == [n for n in expected[1][2] if "converted" in n]


def test_a_good_row_is_accepted_and_a_bad_one_names_its_field():
    assert intake.validate(OK, TAXONOMY, JURISDICTION).values["priority"] == "normal"
    with pytest.raises(ParamError) as err:
        intake.validate({**OK, "count": -1}, TAXONOMY, JURISDICTION)
    assert err.value.field == "count"
