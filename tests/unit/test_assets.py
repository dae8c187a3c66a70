"""Map pages must load every script and stylesheet from static/vendor (no internet on site)."""
import re
from pathlib import Path

import branca.colormap
import folium
import folium.plugins
import pytest

from mapapp.web.assets import DEFAULT_DROP, LOCAL_ASSETS, localize

STATIC = Path(__file__).resolve().parents[2] / "static"
VENDOR = STATIC / "vendor"

# every folium class our maps use that carries assets
USED = [folium.Map, folium.GeoJson, folium.GeoJsonTooltip, folium.LayerControl,
        folium.plugins.Fullscreen, folium.plugins.MiniMap, folium.plugins.MousePosition,
        folium.plugins.MarkerCluster, folium.plugins.HeatMap, folium.plugins.VectorGridProtobuf, folium.plugins.GeoMan]


def _map_with_plugins() -> folium.Map:
    m = folium.Map(location=[31.23, 121.47], zoom_start=14,
                   tiles=folium.TileLayer("/basemap/{z}/{x}/{y}.png", attr="local", max_zoom=18))
    area = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "A"},
        "geometry": {"type": "Polygon", "coordinates": [[[121.46, 31.22], [121.48, 31.22],
                                                         [121.48, 31.24], [121.46, 31.22]]]}}]}
    folium.GeoJson(area, name="areas", tooltip=folium.GeoJsonTooltip(["name"])).add_to(m)
    cluster = folium.plugins.MarkerCluster(name="markers").add_to(m)
    folium.Marker([31.23, 121.47], popup="<b>P</b>",
                  icon=folium.Icon(prefix="fa", icon="info", angle=30)).add_to(cluster)
    folium.plugins.HeatMap([[31.23, 121.47, 2.0]], name="heat").add_to(m)
    folium.plugins.VectorGridProtobuf("/tiles/{z}/{x}/{y}.pbf", "clusters").add_to(m)
    folium.plugins.Fullscreen().add_to(m)
    folium.plugins.MiniMap(tile_layer=folium.TileLayer("/basemap/{z}/{x}/{y}.png", attr="local")).add_to(m)
    folium.plugins.MousePosition().add_to(m)
    folium.LayerControl().add_to(m)
    return m


def _asset_refs(html: str) -> list[str]:
    return re.findall(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]*)"', html)


def test_rendered_page_loads_every_asset_from_static():
    m = _map_with_plugins()
    localize(m)
    html = m.get_root().render()
    refs = _asset_refs(html)
    assert len(refs) >= 15, refs
    assert not [r for r in refs if re.match(r"(?i)(https?:)?//", r)]
    assert not [r for r in re.findall(r'\b(?:src|href)="([^"]*)"', html) if "cdn" in r.lower()]
    assert "http://" not in " ".join(refs) and "https://" not in " ".join(refs)
    for ref in refs:
        assert ref.startswith("/static/vendor/"), ref
        assert (STATIC / ref.removeprefix("/static/")).is_file(), ref
    # what each plugin needs is there, Bootstrap and Glyphicons are not
    for name in ["leaflet", "leaflet_css", "jquery", "awesome_markers_font_css", "vectorGrid",
                 "Control_MiniMap_js", "markerclusterjs", "leaflet-heat.js",
                 "Control.Fullscreen.js", "Control_MousePosition_css"]:
        assert LOCAL_ASSETS[name] in refs, name
    assert not [r for r in refs if "bootstrap" in r or "glyphicons" in r]


def test_static_url_prefix_and_opting_back_into_bootstrap():
    m = folium.Map(tiles=None)
    localize(m, static_url="/app/static/", drop={"glyphicons_css"})
    refs = _asset_refs(m.get_root().render())
    assert "/app/static/vendor/bootstrap/dist/css/bootstrap.min.css" in refs
    assert all(r.startswith("/app/static/vendor/") for r in refs), refs


@pytest.mark.parametrize("cls", USED, ids=lambda c: c.__name__)
def test_every_asset_of_the_classes_we_use_is_vendored_or_dropped(cls):
    for name, url in [*getattr(cls, "default_js", []), *getattr(cls, "default_css", [])]:
        assert name in LOCAL_ASSETS or name in DEFAULT_DROP, (name, url)


def test_every_vendored_asset_exists_with_a_licence():
    for name, url in LOCAL_ASSETS.items():
        assert url.startswith("/static/vendor/"), name
        assert (STATIC / url.removeprefix("/static/")).is_file(), (name, url)
    for package in [d for d in VENDOR.iterdir() if d.is_dir()]:
        assert (package / "LICENSE").is_file(), package.name
    assert (VENDOR / "README.md").is_file()


def test_vendored_css_refers_only_to_vendored_files():
    """url(images/...) and url(../webfonts/...) must resolve in the copied layout."""
    for css in VENDOR.rglob("*.css"):
        text = css.read_text(encoding="utf-8")
        assert "@import" not in text, css
        for raw in re.findall(r"url\(\s*([^)]*?)\s*\)", text):
            ref = raw.strip("'\"")
            if ref.startswith(("data:", "#", "%23")):  # %23: a fragment inside an inline SVG
                continue
            assert not re.match(r"(?i)([a-z]+:|//)", ref), (css, ref)
            path = ref.split("?")[0].split("#")[0]
            if path.endswith(".ttf"):  # a fallback after the .woff2, left out on purpose
                assert (css.parent / path).with_suffix(".woff2").is_file(), (css, ref)
                continue
            assert (css.parent / path).is_file(), (css, ref)


def test_unknown_asset_is_refused():
    m = folium.Map(tiles=None)
    m.default_js = [*m.default_js, ("new_plugin", "https://cdn.example/x.js")]
    with pytest.raises(KeyError, match="new_plugin"):
        localize(m)


def test_known_name_pointing_at_another_build_is_refused():
    m = folium.Map(tiles=None)
    folium.plugins.BoatMarker([0, 0]).add_to(m)  # folium names its script "markerclusterjs"
    with pytest.raises(KeyError, match="markerclusterjs"):
        localize(m)


def test_element_adding_cdn_links_while_rendering_is_refused():
    m = folium.Map(tiles=None)
    branca.colormap.LinearColormap(["white", "red"], vmin=0, vmax=1).add_to(m)
    with pytest.raises(KeyError, match="d3"):
        localize(m)


def test_class_defaults_untouched_and_a_rendered_figure_is_fixed():
    before = list(folium.Map.default_js), list(folium.plugins.HeatMap.default_js)
    m = _map_with_plugins()
    m.get_root().render()  # header now holds folium's CDN links
    localize(m)
    localize(m)  # idempotent
    refs = _asset_refs(m.get_root().render())
    assert all(r.startswith("/static/vendor/") for r in refs), refs
    assert (list(folium.Map.default_js), list(folium.plugins.HeatMap.default_js)) == before
    assert "cdn" in folium.Map.default_js[0][1]
