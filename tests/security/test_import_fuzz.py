"""Hypothesis against the importer: random and malformed CSV, GeoJSON and Shapefiles (odd attribute
text, broken or huge or NaN coordinates, broken geometries, empty files, GBK bytes with and without
a .cpg, missing .shx/.dbf/.prj) either load completely or answer a UserError naming what is wrong,
and then load nothing (all or nothing)."""
from __future__ import annotations

import json
import math
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, currently_in_test_context, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from mapapp.errors import UserError
from mapapp.io.store import import_file
from tests.db.test_import import city  # noqa: F401 - the district/community the rows must fall in

EXAMPLES = 25
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
CATEGORIES = st.sampled_from(["public_order.noise", "disputes", "nonsense.category", "", "城管"])
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
COORD = st.one_of(st.floats(24.90, 25.0), st.floats(allow_nan=True, allow_infinity=True),
                  st.sampled_from([1e308, -1e308, 0.0, 180.0000001]))
LAT = st.one_of(st.floats(60.14, 60.2), st.floats(allow_nan=True, allow_infinity=True))
CELL = st.one_of(TEXT, st.integers().map(str), st.just(""), st.just('"'), st.just("\n"))


def _count(conn) -> int:
    return conn.execute(text("SELECT count(*) FROM incidents")).scalar_one()


def _imports(conn) -> int:
    return conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'import'")).scalar_one()


def _outcome(what: str) -> None:
    """Count loaded and refused files in hypothesis' statistics (--hypothesis-show-statistics)."""
    if currently_in_test_context():
        event(what)


def _try(engine, path: Path, names_what: bool = False, mapping: dict | None = None) -> None:
    """Import; on success every read row is there (and one audit entry), on a refusal nothing is.
    With names_what, the refusal must name the file, a field or a row."""
    with engine.connect() as conn:
        before, imports = _count(conn), _imports(conn)
    try:
        report = import_file(engine, "incidents", path, mapping=mapping)
    except UserError as exc:
        assert exc.message
        if names_what:
            assert path.name in exc.message or exc.field or exc.row, exc.message
        _outcome("refused")
        with engine.connect() as conn:
            assert (_count(conn), _imports(conn)) == (before, imports), "a refused import left rows behind"
        return
    _outcome("loaded")
    with engine.connect() as conn:
        assert (_count(conn), _imports(conn)) == (before + report.loaded, imports + 1)
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


# --- Shapefile ------------------------------------------------------------------------------------
# Written byte by byte here (ESRI Shapefile Technical Description, 1998; dBase III): a library
# writer would refuse the NaN, truncated and mis-typed records and undeclared encodings we want.
WGS84_PRJ = ('GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],'
             'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]')
DBF_FIELDS = (("category", 30), ("descriptio", 40), ("count", 6))  # dBase names have <= 10 letters
SHP_MAPPING = {"description": "descriptio"}


def _shape(kind: str, x: float, y: float) -> bytes:
    """One record's content: a point, a null shape, a point cut short or a nonsense polygon."""
    point = struct.pack("<idd", 1, x, y)
    return {"point": point, "null": struct.pack("<i", 0), "short": point[:12],
            "polygon": struct.pack("<i4di", 5, x, y, x, y, 2 ** 30)}[kind]


def _shp_header(code_len_words: int, bbox: tuple[float, float, float, float]) -> bytes:
    return struct.pack(">i20xi", 9994, code_len_words) + struct.pack("<ii4d32x", 1000, 1, *bbox)


def _write_shapefile(base: Path, records: list[tuple], cpg: str | None, missing: str | None,
                     prj: bool, ldid: int) -> None:
    contents = [_shape(kind, x, y) for kind, x, y, *_ in records]
    finite = [(x, y) for kind, x, y, *_ in records if math.isfinite(x) and math.isfinite(y)]
    xs, ys = [x for x, _ in finite] or [0.0], [y for _, y in finite] or [0.0]
    bbox = (min(xs), min(ys), max(xs), max(ys))
    body, index, offset = b"", b"", 50  # offsets and lengths in 16-bit words, after the 100-byte header
    for i, content in enumerate(contents, 1):
        declared = 10 if len(content) == 12 else len(content) // 2  # a cut-short point claims 20 bytes
        body += struct.pack(">ii", i, declared) + content
        index += struct.pack(">ii", offset, declared)
        offset += 4 + len(content) // 2
    files = {"shp": _shp_header(50 + len(body) // 2, bbox) + body,
             "shx": _shp_header(50 + len(index) // 2, bbox) + index}
    width = 1 + sum(n for _, n in DBF_FIELDS)
    dbf = struct.pack("<B3BIHH17xB2x", 3, 126, 11, 23, len(records), 32 + 32 * len(DBF_FIELDS) + 1,
                      width, ldid)
    for name, n in DBF_FIELDS:
        dbf += struct.pack("<11sc4xBB14x", name.encode(), b"N" if name == "count" else b"C", n, 0)
    dbf += b"\r"
    for _, _, _, *values in records:
        dbf += b" " + b"".join(v[:n].ljust(n, b" ") for v, (_, n) in zip(values, DBF_FIELDS))
    files["dbf"] = dbf + b"\x1a"
    if cpg is not None:
        files["cpg"] = cpg.encode()
    if prj:
        files["prj"] = WGS84_PRJ.encode()
    for ext, data in files.items():
        if ext != missing:
            base.with_suffix(f".{ext}").write_bytes(data)


def _dbf_value(kind: str, value: str) -> bytes:
    """An attribute as the bytes some tool wrote: UTF-8, GBK, or bytes that are neither."""
    if kind == "bytes":
        return value.encode("utf-8", "surrogatepass")[::-1]  # reversed UTF-8: invalid sequences
    return value.encode(kind, errors="replace")


SHAPES = st.sampled_from(["point", "point", "point", "null", "short", "polygon"])
DBF_TEXT = st.tuples(st.sampled_from(["utf-8", "gbk", "bytes"]),
                     st.one_of(TEXT, st.sampled_from(["噪音扰民", "张三 13812345678", "é", "\x00"])))
COUNTS = st.sampled_from([b"1", b"", b"-3", b"abc", b"1e999", b"\xff\xfe"])


@FUZZ
@given(rows=st.lists(st.tuples(SHAPES, COORD, LAT, st.one_of(CATEGORIES.map(lambda c: ("utf-8", c)), DBF_TEXT),
                               DBF_TEXT, COUNTS), max_size=5),
       cpg=st.sampled_from([None, "UTF-8", "GBK", "CP936", "nonsense-codepage"]),
       missing=st.sampled_from([None, None, None, "shx", "dbf"]), prj=st.booleans(),
       ldid=st.sampled_from([0, 0x4D, 0x57]))
def test_fuzzed_shapefile_loads_all_or_nothing(city, rows, cpg, missing, prj, ldid):  # noqa: F811
    records = [(kind, x, y, _dbf_value(*cat), _dbf_value(*desc), count)
               for kind, x, y, cat, desc, count in rows]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.shp"
        _write_shapefile(path, records, cpg, missing, prj, ldid)
        _try(city, path, names_what=True, mapping=SHP_MAPPING)


def test_the_shapefile_writer_makes_files_that_load_and_gbk_reads_back(city):  # noqa: F811
    """The hand-written files are real shapefiles: a clean one loads with its GBK text intact when
    its .cpg says GBK, and the same file without its .dbf is refused naming the file."""
    records = [("point", 24.95, 60.15, "public_order.noise".encode(), "噪音扰民".encode("gbk"), b"2")]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clean.shp"
        _write_shapefile(path, records, "GBK", None, True, 0)
        assert import_file(city, "incidents", path, mapping=SHP_MAPPING).loaded == 1
        with city.connect() as conn:
            assert conn.execute(text("SELECT description FROM incidents")).scalar_one() == "噪音扰民"
        path.with_suffix(".dbf").unlink()
        with pytest.raises(UserError, match="clean.shp"):
            import_file(city, "incidents", path, mapping=SHP_MAPPING)
