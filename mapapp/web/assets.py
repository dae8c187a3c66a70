"""Serve every folium asset from static/vendor instead of a CDN.

Command centres run on intranets with no internet, so a map page must never reference an
outside URL. folium elements list their assets in ``default_js``/``default_css`` as
(name, url) pairs; `localize` replaces each one on the instance with our vendored copy, drops
the ones our maps do not use, and refuses a name it does not know, so a new plugin with a CDN
URL fails loudly in tests instead of silently reaching for the internet.
"""
from __future__ import annotations

from branca.element import Element

VENDOR = "vendor"
LOCAL_ASSETS: dict[str, str] = {
    "leaflet": "leaflet/dist/leaflet.js",
    "leaflet_css": "leaflet/dist/leaflet.css",
    "Control.Fullscreen.js": "leaflet.fullscreen/Control.FullScreen.js",
    "Control.FullScreen.css": "leaflet.fullscreen/Control.FullScreen.css",
    "markerclusterjs": "leaflet.markercluster/dist/leaflet.markercluster.js",
    "markerclustercss": "leaflet.markercluster/dist/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/dist/MarkerCluster.Default.css",
    "leaflet-heat.js": "leaflet.heat/dist/leaflet-heat.js",
    "vectorGrid": "leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js",
}
# folium's defaults for Bootstrap widgets and icon markers, which our maps do not use.
DROPPED = frozenset({"jquery", "bootstrap", "bootstrap_css", "glyphicons_css", "awesome_markers",
                     "awesome_markers_css", "awesome_markers_font_css", "awesome_rotate_css"})


def _local(assets: list[tuple[str, str]], static_url: str) -> list[tuple[str, str]]:
    out = []
    for name, _url in assets:
        if name in DROPPED:
            continue
        if name not in LOCAL_ASSETS:
            raise KeyError(f"folium asset {name!r} has no vendored copy; add it to "
                           "scripts/vendor_assets and LOCAL_ASSETS")
        out.append((name, f"{static_url}/{VENDOR}/{LOCAL_ASSETS[name]}"))
    return out


def localize(element: Element, static_url: str = "/static") -> None:
    """Point the assets of `element` and all its children at static/vendor (in place)."""
    for attr in ("default_js", "default_css"):
        assets = getattr(element, attr, None)
        if assets:
            setattr(element, attr, _local(assets, static_url))
    for child in element._children.values():
        localize(child, static_url)
