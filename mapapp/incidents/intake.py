"""One incident from a request body, through the same validation as a bulk import."""
from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import shapely

from mapapp.errors import ParamError
from mapapp.incidents.taxonomy import Taxonomy
from mapapp.io.layers import spec
from mapapp.io.prepare import prepare

FIELDS = ("category", "reported_at", "priority", "source", "description", "weight", "count")


@dataclass(frozen=True)
class NewIncident:
    values: dict
    wkb: bytes
    notes: tuple[str, ...]


def _point(body: dict) -> tuple[dict, object]:
    """Properties and point from a GeoJSON Feature or a flat {lon, lat, ...} object."""
    if body.get("type") == "Feature":
        props = body.get("properties") or {}
        geom = body.get("geometry")
        if not isinstance(geom, dict) or geom.get("type") != "Point":
            raise ParamError("geometry must be a GeoJSON Point", field="geometry")
        coords = geom.get("coordinates")
        if not isinstance(coords, list) or len(coords) < 2:
            raise ParamError("geometry.coordinates must be [lon, lat]", field="geometry")
        lon, lat = coords[0], coords[1]
    else:
        props = body
        if "lon" not in body or "lat" not in body:
            missing = "lon" if "lon" not in body else "lat"
            raise ParamError(f"{missing} is required", field=missing)
        lon, lat = body["lon"], body["lat"]
    for name, v in (("lon", lon), ("lat", lat)):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ParamError(f"{name} must be a number", field=name)
    return props, shapely.Point(float(lon), float(lat))


def validate(body, taxonomy: Taxonomy, jurisdiction) -> NewIncident:
    """Check one incident as the importer would check a row; the first problem is a ParamError."""
    if not isinstance(body, dict):
        raise ParamError("the body must be a JSON object or a GeoJSON Feature", field="body")
    props, point = _point(body)
    datum = props.get("datum", body.get("datum", "wgs84"))
    if datum not in ("wgs84", "gcj02", "bd09"):
        raise ParamError("datum must be wgs84, gcj02 or bd09", field="datum")
    unknown = sorted(set(props) - set(FIELDS) - {"lon", "lat", "datum", "type", "geometry", "properties"})
    if unknown:
        raise ParamError(f"unknown field {unknown[0]!r}", field=unknown[0])
    row = {k: props.get(k) for k in FIELDS}
    gdf = gpd.GeoDataFrame([{**row, "_row": 1}], geometry=[point], crs=4326)
    prepared = prepare(gdf, spec("incidents"), src_crs=gdf.crs, datum=datum,
                       jurisdiction=jurisdiction, taxonomy=taxonomy, fix_swapped_file=False)
    if prepared.rejects:
        first = prepared.rejects[0]
        where = "geometry" if body.get("type") == "Feature" else "lon,lat"
        field = where if first.field == "geometry" else first.field
        raise ParamError(first.reason, field=field)
    out = prepared.frame.iloc[0]
    values = {k: out[k] for k in prepared.frame.columns if k not in ("geometry", "_row")}
    return NewIncident(values, shapely.to_wkb(out.geometry), tuple(prepared.notes))
