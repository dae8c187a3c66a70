"""Hypothesis against the importer: random and malformed CSV and GeoJSON (odd attribute text, broken
or huge or NaN coordinates, broken geometries, empty files, GBK bytes) either load completely or
answer a UserError naming what is wrong, and then load nothing (all or nothing)."""
from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from mapapp.errors import UserError
from mapapp.io.store import import_file
from tests.db.test_import import city  # noqa: F401 - the district/community the rows must fall in

EXAMPLES = 25
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
CATEGORIES = st.sampled_from(["public_order.noise", "disputes", "nonsense.category", "", "城管"])
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
COORD = st.one_of(st.floats(24.90, 25.0), st.floats(allow_nan=True, allow_infinity=True),
                  st.sampled_from([1e308, -1e308, 0.0, 180.0000001]))
LAT = st.one_of(st.floats(60.14, 60.2), st.floats(allow_nan=True, allow_infinity=True))
CELL = st.one_of(TEXT, st.integers().map(str), st.just(""), st.just('"'), st.just("\n"))


def _count(conn) -> int:
    return conn.execute(text("SELECT count(*) FROM incidents")).scalar_one()


def _try(engine, path: Path) -> None:
    """Import; on success every read row is there, on a refusal nothing is."""
    with engine.connect() as conn:
        before = _count(conn)
    try:
        report = import_file(engine, "incidents", path)
    except UserError as exc:
        assert exc.message
        with engine.connect() as conn:
            assert _count(conn) == before, "a refused import left rows behind"
        return
    with engine.connect() as conn:
        assert _count(conn) == before + report.loaded
    assert report.loaded == report.read


def _csv_line(values: list[str]) -> str:
    return ",".join('"' + v.replace('"', '""') + '"' for v in values)


@FUZZ
@given(rows=st.lists(st.tuples(COORD, LAT, CATEGORIES, CELL, CELL), max_size=6),
       encoding=st.sampled_from(["utf-8", "gbk", "utf-8-sig"]), extra_header=st.booleans())
def test_fuzzed_csv_loads_all_or_nothing(city, rows, encoding, extra_header):  # noqa: F811
    header = ["lon", "lat", "category", "description", "reported_at"] + (["身份证号"] if extra_header else [])
    lines = [_csv_line(header)]
    for lon, lat, cat, desc, when in rows:
        lines.append(_csv_line([repr(lon), repr(lat), cat, desc, when] + (["x"] if extra_header else [])))
    body = "\n".join(lines) + "\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.csv"
        path.write_bytes(body.encode(encoding, errors="replace"))
        _try(city, path)


def _geometry(kind: str, lon: float, lat: float):
    if kind == "point":
        return {"type": "Point", "coordinates": [lon, lat]}
    if kind == "short":
        return {"type": "Point", "coordinates": [lon]}
    if kind == "bowtie":
        return {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 1, lat + 1], [lon + 1, lat],
                                                    [lon, lat + 1], [lon, lat]]]}
    if kind == "null":
        return None
    return {"type": "Nonsense", "coordinates": "x"}


@FUZZ
@given(features=st.lists(st.tuples(st.sampled_from(["point", "short", "bowtie", "null", "bad"]),
                                   COORD, LAT, CATEGORIES, st.dictionaries(TEXT, CELL, max_size=3)),
                         max_size=5),
       empty=st.booleans())
def test_fuzzed_geojson_loads_all_or_nothing(city, features, empty):  # noqa: F811
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": _geometry(kind, lon, lat),
         "properties": {**props, "category": cat}} for kind, lon, lat, cat, props in features]}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.geojson"
        # NaN and infinity are not JSON; write them as the bare tokens some tools emit
        path.write_text("" if empty else json.dumps(fc, allow_nan=True), encoding="utf-8")
        _try(city, path)


def test_the_fuzz_really_exercises_both_outcomes(city):  # noqa: F811
    """A known-good and a known-bad file through the same check, so neither branch is vacuous."""
    with tempfile.TemporaryDirectory() as tmp:
        good = Path(tmp) / "good.csv"
        good.write_text("lon,lat,category\n24.95,60.16,public_order.noise\n", encoding="utf-8")
        bad = Path(tmp) / "bad.csv"
        bad.write_text(f"lon,lat,category\n24.95,60.16,public_order.noise\n{math.nan},60.16,disputes\n",
                       encoding="gbk")
        with city.connect() as conn:
            start = _count(conn)
        _try(city, good)
        _try(city, bad)
        with city.connect() as conn:
            assert _count(conn) == start + 1
