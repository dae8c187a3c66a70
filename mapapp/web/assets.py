"""Serve every folium asset from static/vendor instead of a CDN.

Command centres run on intranets with no internet, so a map page must never reference an
outside URL: a page that asks a CDN for Leaflet shows no map at all there. folium lists each
element's scripts and stylesheets as (name, url) pairs in the class attributes ``default_js``
and ``default_css``; when the page renders, ``JSCSSMixin.render`` adds one header link per pair,
keyed by name, reading ``self.default_js``, so a list set on the instance replaces the class's.
`localize` sets such instance lists on every element of a map's figure, with each URL replaced
by our vendored copy (``static/vendor/``, filled by ``scripts/vendor_assets``), so the class
lists and other maps are left alone.

It refuses, with `UnvendoredAsset` (a `KeyError` naming the asset), anything it cannot point
at a local file, so a new plugin with a CDN URL fails loudly in tests instead of silently
reaching for the internet:

- an asset name not in `LOCAL_ASSETS`;
- a known name whose folium URL is no longer the package and major.minor version we vendored
  (a folium upgrade that moves to another build, or a plugin reusing a name: folium's BoatMarker
  calls its script "markerclusterjs");
- elements that add CDN links while rendering, out of reach of ``default_js`` (branca
  colormaps, e.g. a Choropleth legend, load d3; VegaLite loads vega), and links with an
  absolute URL already in the figure.

Usage, after building the map and before rendering it::

    m = folium.Map(...); ...; localize(m)        # or localize(m, static_url="/app/static")
    html = m.get_root().render()
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from branca.colormap import ColorMap
from branca.element import Element, Figure, Link
from folium.features import VegaLite

STATIC_PREFIX = "/static"

# folium asset name -> (file under static/vendor/, pattern folium's URL for it must match).
# The patterns pin the package and the major.minor version that the vendored file stands in for.
_VENDORED: dict[str, tuple[str, str]] = {
    # folium.Map
    "leaflet": ("leaflet/dist/leaflet.js", r"/leaflet@1\.9\.\d+/dist/leaflet\.js$"),
    "leaflet_css": ("leaflet/dist/leaflet.css", r"/leaflet@1\.9\.\d+/dist/leaflet\.css$"),
    "jquery": ("jquery/dist/jquery.min.js", r"/jquery-3\.7\.\d+(\.min)?\.js$"),
    "bootstrap": ("bootstrap/dist/js/bootstrap.bundle.min.js",
                  r"/bootstrap@5\.2\.\d+/dist/js/bootstrap\.bundle\.min\.js$"),
    "bootstrap_css": ("bootstrap/dist/css/bootstrap.min.css",
                      r"/bootstrap@5\.2\.\d+/dist/css/bootstrap\.min\.css$"),
    "awesome_markers": ("leaflet.awesome-markers/dist/leaflet.awesome-markers.js",
                        r"/Leaflet\.awesome-markers/2\.0\.\d+/leaflet\.awesome-markers(\.min)?\.js$"),
    "awesome_markers_css": ("leaflet.awesome-markers/dist/leaflet.awesome-markers.css",
                            r"/Leaflet\.awesome-markers/2\.0\.\d+/leaflet\.awesome-markers\.css$"),
    "awesome_markers_font_css": ("fontawesome-free/css/all.min.css",
                                 r"/fontawesome-free@6\.2\.\d+/css/all(\.min)?\.css$"),
    "awesome_rotate_css": ("folium/leaflet.awesome.rotate.min.css",
                           r"/folium/templates/leaflet\.awesome\.rotate(\.min)?\.css$"),
    # folium.plugins
    # folium asks for @latest; we pin the build we vendored (scripts/vendor_assets)
    "leaflet_geoman_js": ("leaflet-geoman/dist/leaflet-geoman.js",
                          r"/@geoman-io/leaflet-geoman-free@(latest|2\.\d+\.\d+)/dist/leaflet-geoman(\.min)?\.js$"),
    "leaflet_geoman_css": ("leaflet-geoman/dist/leaflet-geoman.css",
                           r"/@geoman-io/leaflet-geoman-free@(latest|2\.\d+\.\d+)/dist/leaflet-geoman\.css$"),
    "Control.Fullscreen.js": ("leaflet.fullscreen/Control.FullScreen.js",
                              r"/leaflet\.fullscreen@3\.0\.\d+/Control\.FullScreen(\.min)?\.js$"),
    "Control.FullScreen.css": ("leaflet.fullscreen/Control.FullScreen.css",
                               r"/leaflet\.fullscreen@3\.0\.\d+/Control\.FullScreen\.css$"),
    "Control_MiniMap_js": ("leaflet-minimap/dist/Control.MiniMap.min.js",
                           r"/leaflet-minimap/3\.6\.\d+/Control\.MiniMap(\.min)?\.js$"),
    "Control_MiniMap_css": ("leaflet-minimap/dist/Control.MiniMap.min.css",
                            r"/leaflet-minimap/3\.6\.\d+/Control\.MiniMap(\.min)?\.css$"),
    "Control_MousePosition_js": ("leaflet-mouse-position/src/L.Control.MousePosition.js",
                                 r"/Leaflet\.MousePosition/src/L\.Control\.MousePosition(\.min)?\.js$"),
    "Control_MousePosition_css": ("leaflet-mouse-position/src/L.Control.MousePosition.css",
                                  r"/Leaflet\.MousePosition/src/L\.Control\.MousePosition(\.min)?\.css$"),
    # folium asks for 1.1.0; we serve 1.5.3, the release for Leaflet 1.9 (same API)
    "markerclusterjs": ("leaflet.markercluster/dist/leaflet.markercluster.js",
                        r"/leaflet\.markercluster/1\.\d+\.\d+/leaflet\.markercluster\.js$"),
    "markerclustercss": ("leaflet.markercluster/dist/MarkerCluster.css",
                         r"/leaflet\.markercluster/1\.\d+\.\d+/MarkerCluster\.css$"),
    "markerclusterdefaultcss": ("leaflet.markercluster/dist/MarkerCluster.Default.css",
                                r"/leaflet\.markercluster/1\.\d+\.\d+/MarkerCluster\.Default\.css$"),
    # folium's own patched Leaflet.heat build
    "leaflet-heat.js": ("leaflet.heat/leaflet_heat.min.js",
                        r"/folium/templates/leaflet_heat\.min\.js$"),
    "vectorGrid": ("leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js",
                   r"/leaflet\.vectorgrid@[^/]+/dist/Leaflet\.VectorGrid\.bundled(\.min)?\.js$"),
}

LOCAL_ASSETS: dict[str, str] = {
    name: f"{STATIC_PREFIX}/vendor/{path}" for name, (path, _) in _VENDORED.items()
}
"""folium asset name -> its vendored copy, as a URL path under the default static URL."""

DEFAULT_DROP = frozenset({
    # Bootstrap 3 Glyphicons: gone from Bootstrap 5, not vendored. folium.Icon(prefix="glyphicon")
    # (folium's default prefix) therefore shows no glyph; use prefix="fa" (Font Awesome).
    "glyphicons_css",
    # Bootstrap 5 (vendored, in LOCAL_ASSETS): no folium element we use needs it, and its reboot
    # and .badge/.table/legend rules would restyle our own pages around the map. Pass
    # drop={"glyphicons_css"} to localize to load it anyway.
    "bootstrap", "bootstrap_css",
})
"""Asset names `localize` removes instead of localizing, unless told otherwise."""

# Elements whose render() adds CDN links straight into the figure header, past default_js.
_RENDER_TIME_LINKS: dict[type, str] = {ColorMap: "d3", VegaLite: "vega-lite"}


class UnvendoredAsset(KeyError):
    """A folium asset that has no vendored copy, so the page would fetch it from the internet."""

    def __init__(self, name: str, reason: str):
        super().__init__(name)
        self.name = name
        self.reason = reason

    def __str__(self) -> str:
        return (f"folium asset {self.name!r} {self.reason}; vendor it in scripts/vendor_assets "
                "and map it in mapapp/web/assets.py, or drop it")


def local_url(name: str, static_url: str = STATIC_PREFIX) -> str:
    """URL of the vendored copy of folium asset `name` (KeyError if there is none)."""
    if name not in _VENDORED:
        raise UnvendoredAsset(name, "has no vendored copy")
    return f"{static_url.rstrip('/')}/vendor/{_VENDORED[name][0]}"


def _is_local_copy(name: str, url: str) -> bool:
    return url.endswith(f"/vendor/{_VENDORED[name][0]}") and not _is_absolute(url)


def _is_absolute(url: str) -> bool:
    return bool(re.match(r"^([a-z][a-z0-9+.-]*:|//)", url, re.IGNORECASE))


def _localized(assets: Iterable[tuple[str, str]], static_url: str,
               drop: frozenset[str]) -> list[tuple[str, str]]:
    out = []
    for name, url in assets:
        if name in drop:
            continue
        target = local_url(name, static_url)
        if not (_is_local_copy(name, url) or re.search(_VENDORED[name][1], url)):
            raise UnvendoredAsset(name, f"now points at {url}, not the build vendored as "
                                        f"{_VENDORED[name][0]}")
        out.append((name, target))
    return out


def _walk(element: Element, static_url: str, drop: frozenset[str]) -> None:
    for cls, asset in _RENDER_TIME_LINKS.items():
        if isinstance(element, cls):
            raise UnvendoredAsset(asset, f"is linked from a CDN by {type(element).__name__} "
                                         "while it renders, which localize cannot redirect")
    for attr in ("default_js", "default_css"):
        assets = getattr(element, attr, None)
        if assets is not None:
            # a new list on the instance: the class's list (shared by every map) stays as it is
            setattr(element, attr, _localized(assets, static_url, drop))
    children = list(element._children.items())
    if isinstance(element, Figure):  # its header, html and script are not among its _children
        children += [("header", element.header), ("html", element.html), ("script", element.script)]
    for key, child in children:
        if isinstance(child, Link) and _is_absolute(child.url):
            # a link already in the figure, keyed by asset name (an earlier render, or by hand)
            if key not in drop and key not in _VENDORED:
                raise UnvendoredAsset(key, f"is linked from {child.url}")
            kept = _localized([(key, child.url)], static_url, drop)
            if not kept:
                del element._children[key]
                continue
            child.url = kept[0][1]
        _walk(child, static_url, drop)


def localize(fig_or_map: Element, static_url: str = STATIC_PREFIX, *,
             drop: Iterable[str] = DEFAULT_DROP) -> None:
    """Point every script and stylesheet of the figure holding `fig_or_map` at static/vendor.

    Walks the figure (the map's root) and all its children recursively, in place; call it after
    adding the map's layers and plugins and before rendering. `static_url` is where the app
    serves static/ (Flask's default "/static"). Assets named in `drop` are removed. Raises
    `UnvendoredAsset` (a KeyError naming the asset) for any asset it cannot serve locally.
    Calling it again (e.g. after adding more plugins) is harmless.
    """
    _walk(fig_or_map.get_root(), static_url, frozenset(drop))
