"""The bundled sample cities in geodata/, loaded through the same importer as anyone's files."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from mapapp.city.queries import extent

GEODATA = Path(__file__).resolve().parents[1] / "geodata"


@dataclass(frozen=True)
class Step:
    layer: str
    file: str
    options: dict = field(default_factory=dict)


CITIES: dict[str, list[Step]] = {
    "helsinki": [
        Step("admin_areas", "helsinki/admin_areas.geojson"),
        Step("streets", "helsinki/streets.geojson"),
        Step("base_units", "helsinki/base_units.geojson"),
        Step("key_places", "helsinki/key_places.geojson"),
        Step("grids", "helsinki/grids.geojson", {"plan": "Helsinki 初始网格方案", "publish": True}),
        # Simulated incidents: shifted by whole weeks so the latest week is the current one.
        Step("incidents", "helsinki/incidents.csv",
             {"constants": {"simulated": True}, "shift_time_to_now": True}),
    ],
    "mesa": [
        Step("admin_areas", "mesa/admin_areas.geojson"),
        Step("streets", "mesa/streets.shp"),
        Step("key_places", "mesa/schools.shp", {"constants": {"category": "school"}}),
        # Real crime locations with no dates or categories: all filed under public order, undated.
        Step("incidents", "mesa/crimes.shp",
             {"constants": {"category": "public_order", "status": "closed", "source": "referral",
                            "description": "Mesa, AZ crime location (GeoDa sample; no date or type published)"}}),
    ],
}


def district_code(city: str) -> str:
    areas = json.loads((GEODATA / CITIES[city][0].file).read_text(encoding="utf-8"))
    return next(f["properties"]["code"] for f in areas["features"]
                if f["properties"]["level"] == "district")


def loaded(engine: Engine, city: str) -> bool:
    with engine.connect() as conn:
        return extent(conn, district_code(city)) is not None


def load(engine: Engine, city: str, progress=None, echo=print) -> list:
    """Load one sample city: all its layers in one transaction, so it is loaded whole or not at all."""
    from mapapp.io.store import import_file

    reports = []
    with engine.begin() as conn:
        for step in CITIES[city]:
            report = import_file(conn, step.layer, GEODATA / step.file, progress=progress, **step.options)
            echo(f"  {city}: {step.layer:<12} {report.loaded:>6} loaded from {step.file}"
                 + (f" ({'; '.join(report.notes)})" if report.notes else ""))
            reports.append(report)
    return reports
