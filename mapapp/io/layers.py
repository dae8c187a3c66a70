"""What each importable layer holds: its columns, their types, and the geometry it takes."""
from __future__ import annotations

from dataclasses import dataclass

from mapapp.db.models import ADMIN_LEVELS, INCIDENT_STATUSES, Base


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "str"  # str | int | float | bool | datetime
    required: bool = False
    default: object = None
    choices: tuple[str, ...] | None = None
    minimum: float | None = None


@dataclass(frozen=True)
class LayerSpec:
    """geometry: polygon (stored as MultiPolygon), point (key_places also take a polygon, placed
    at a point inside it), line (a MultiLineString is split into LineStrings) or any."""
    name: str
    geometry: str  # polygon | point | line | any
    columns: tuple[Column, ...]
    in_jurisdiction: bool = False  # rows outside the districts are rejected
    ignored: tuple[str, ...] = ()  # fields a file may carry that are deliberately not imported

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def max_length(self, name: str) -> int | None:
        """The width of the text column in the table, so a long value is a reject, not a crash."""
        column = Base.metadata.tables[self.name].c.get(name)
        if column is None and name.endswith("_code"):  # parent_code, community_code
            column = Base.metadata.tables["admin_areas"].c.code
        return getattr(getattr(column, "type", None), "length", None)


LAYERS: dict[str, LayerSpec] = {s.name: s for s in (
    LayerSpec("admin_areas", "polygon", (
        Column("code", required=True), Column("name", required=True),
        Column("level", required=True, choices=ADMIN_LEVELS), Column("parent_code"))),
    LayerSpec("grids", "polygon", (
        Column("code", required=True), Column("name", required=True), Column("community_code"),
        Column("grid_head"), Column("police_officer"), Column("assistant"), Column("supervisor")),
        # workload is derived from base units, never typed in (DESIGN.md)
        ignored=("households", "population")),
    LayerSpec("base_units", "any", (
        Column("kind", default="building", choices=("building", "address")), Column("name"),
        Column("address"), Column("households", "int", default=0, minimum=0),
        Column("population", "int", default=0, minimum=0), Column("estimated", "bool", default=False),
        Column("source")), in_jurisdiction=True),
    LayerSpec("incidents", "point", (
        Column("category", required=True), Column("reported_at", "datetime"),
        Column("status", default="reported", choices=INCIDENT_STATUSES),
        Column("priority", default="normal", choices=("normal", "high", "urgent")),
        Column("source"), Column("description"), Column("weight", "float"), Column("count", "int", minimum=0),
        Column("simulated", "bool", default=False), Column("dispatched_at", "datetime"),
        Column("closed_at", "datetime")), in_jurisdiction=True),
    LayerSpec("key_places", "point", (
        Column("name"), Column("category", required=True), Column("address")), in_jurisdiction=True),
    LayerSpec("streets", "line", (
        Column("name"), Column("class"), Column("length_m", "float", minimum=0),
        Column("oneway", "bool", default=False))),
)}


def spec(layer: str) -> LayerSpec:
    try:
        return LAYERS[layer]
    except KeyError:
        raise ValueError(f"unknown layer {layer!r}; use one of {', '.join(LAYERS)}") from None
