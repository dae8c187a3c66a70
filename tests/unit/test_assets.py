import re
from pathlib import Path

import folium
import folium.plugins
import pytest

from mapapp.web.assets import LOCAL_ASSETS, localize

STATIC = Path(__file__).resolve().parents[2] / "static"


def _map_with_plugins() -> folium.Map:
    m = folium.Map(tiles=None)
    folium.GeoJson({"type": "FeatureCollection", "features": []}).add_to(m)
    folium.LayerControl().add_to(m)
    folium.plugins.Fullscreen().add_to(m)
    folium.plugins.MarkerCluster().add_to(m)
    folium.plugins.HeatMap([[60.1, 24.9]]).add_to(m)
    folium.plugins.VectorGridProtobuf("/tiles/{z}/{x}/{y}.pbf", "v").add_to(m)
    return m


def test_rendered_page_references_no_outside_url():
    m = _map_with_plugins()
    localize(m)
    html = m.get_root().render()
    refs = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert refs, "no assets rendered"
    assert not [r for r in refs if re.match(r"(https?:)?//", r)]
    assert "cdn" not in " ".join(refs).lower()
    for ref in refs:
        assert (STATIC / ref.removeprefix("/static/")).is_file(), ref


def test_every_vendored_asset_exists():
    for path in LOCAL_ASSETS.values():
        assert (STATIC / "vendor" / path).is_file(), path


def test_unknown_asset_is_refused():
    m = folium.Map(tiles=None)
    m.default_js = [("new_plugin", "https://cdn.example/x.js")]
    with pytest.raises(KeyError, match="new_plugin"):
        localize(m)
