"""folium map builders. Layers that stay small (communities, grids, key places) are drawn by
folium; incidents and the offline base map are fetched by bbox into empty folium layers by
static/js/command_center.js, so the page never carries them inline."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import folium
import folium.plugins
import shapely
from folium.utilities import JsCode

from mapapp.web.assets import localize

GRID_STYLE = {"color": "#1f4e9c", "weight": 2, "fillColor": "#3b7dd8", "fillOpacity": 0.06}
COMMUNITY_STYLE = {"color": "#444444", "weight": 3, "dashArray": "8 6", "fill": False}
KEY_PLACE_COLOR = "#5d4037"


@dataclass(frozen=True)
class MapLayers:
    """What the page script needs to find the folium objects it fills."""
    map: str
    basemap: str | None
    incidents: str
    grids: str
    labels: str
    clusters: str
    places: str


def grid_label(code: str) -> str:
    """Short on-map label of a 15-digit code: street-community-grid sequence, e.g. 1-2-5."""
    if len(code) == 15 and code.isdigit():
        return f"{int(code[6:9])}-{int(code[9:12])}-{int(code[12:])}"
    return code


def build_command_center(*, bounds, communities: list[dict], grids: list[dict],
                         key_places: list[dict], t, tiles: str | None,
                         tiles_attribution: str | None, tile_url: str) -> tuple[folium.Map, MapLayers]:
    # max_zoom is the map's own, so the cluster tiles' maxZoom stops their requests without capping the map
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=True, zoom_start=15, maxZoom=19,
                   location=[(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2]
                   if bounds else [0, 0], height="100%", width="100%")
    basemap = None
    if tiles:
        folium.TileLayer(tiles=tiles, attr=tiles_attribution or tiles, name="tiles",
                         max_zoom=19).add_to(m)
    else:
        basemap = folium.FeatureGroup(name=t("layer.basemap"), overlay=True, show=True)
        basemap.add_to(m)
    if bounds:
        m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])

    folium.GeoJson(
        {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": c["geometry"],
             "properties": {"code": c["code"], "name": c["name"]}} for c in communities]},
        name=t("layer.communities"), style_function=lambda _: COMMUNITY_STYLE,
        on_each_feature=JsCode("function (f, layer) { mapapp.bindAreaTooltip(f, layer); }"),
    ).add_to(m)

    # each grid's label point travels in its properties and the page script draws the labels:
    # a folium Marker per grid would cost the server two Jinja template compilations a grid
    at = shapely.point_on_surface(shapely.from_geojson([json.dumps(g["geometry"]) for g in grids]))
    grid_layer = folium.GeoJson(
        {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": g["code"], "geometry": g["geometry"],
             "properties": {**{k: g[k] for k in ("code", "name", "community_name", "households",
                                                 "population", "estimated", "team")},
                            "label": grid_label(g["code"]), "label_at": [p.y, p.x]}}
            for g, p in zip(grids, at)]},
        name=t("layer.grids"), style_function=lambda _: GRID_STYLE,
        highlight_function=lambda _: {"weight": 4, "fillOpacity": 0.2},
        on_each_feature=JsCode("function (f, layer) { mapapp.bindGrid(f, layer); }"),
    )
    grid_layer.add_to(m)

    labels = folium.FeatureGroup(name=t("layer.grid_labels"), show=True)  # filled by the page script
    labels.add_to(m)

    places = folium.GeoJson(
        {"type": "FeatureCollection", "features": key_places},
        name=t("layer.key_places"), show=True,
        marker=folium.CircleMarker(radius=5, color="#ffffff", weight=1, fill=True,
                                   fill_color=KEY_PLACE_COLOR, fill_opacity=0.9),
        on_each_feature=JsCode("function (f, layer) { mapapp.bindKeyPlace(f, layer); }"),
    )
    places.add_to(m)

    incidents = folium.FeatureGroup(name=t("layer.incidents"), show=True)
    incidents.add_to(m)
    # below POINT_ZOOM every matching incident is counted into clusters served as vector tiles
    tiles = folium.plugins.VectorGridProtobuf(tile_url, name=t("layer.incident_clusters"),
                                              options="mapapp.tileOptions()", show=True)
    tiles.add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    folium.plugins.Fullscreen(position="topleft").add_to(m)
    localize(m)
    return m, MapLayers(map=m.get_name(), basemap=basemap.get_name() if basemap else None,
                        incidents=incidents.get_name(), grids=grid_layer.get_name(), labels=labels.get_name(),
                        clusters=tiles.get_name(), places=places.get_name())


_RENDERED: dict[str, tuple[dict[str, str], MapLayers]] = {}
RENDERED_KEPT = 16


def command_center_parts(lang: str, t, **inputs) -> tuple[dict[str, str], MapLayers]:
    """build_command_center rendered into page parts, kept per process for the same inputs (the
    same layers in the same language render the same): folium's rendering is most of the page's
    CPU, and every member of staff opens the same map."""
    key = hashlib.sha1(json.dumps([lang, inputs], sort_keys=True, default=str).encode()).hexdigest()
    hit = _RENDERED.get(key)
    if hit is None:
        m, layers = build_command_center(t=t, **inputs)
        hit = render_parts(m), layers
        while len(_RENDERED) >= RENDERED_KEPT:
            _RENDERED.pop(next(iter(_RENDERED)), None)
        _RENDERED[key] = hit
    return hit


def render_parts(m: folium.Map) -> dict[str, str]:
    """The three parts of a folium page, to place inside our own template."""
    fig = m.get_root()
    fig.render()
    return {"header": fig.header.render(), "html": fig.html.render(), "script": fig.script.render()}
