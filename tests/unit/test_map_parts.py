"""The rendered command-center map is reused only for identical inputs."""
from mapapp.web.maps import command_center_parts

SQUARE = {"type": "Polygon", "coordinates": [[[24.94, 60.16], [24.95, 60.16], [24.95, 60.17], [24.94, 60.17], [24.94, 60.16]]]}


def _inputs(name: str) -> dict:
    grid = {"code": "910101001001001", "name": name, "community_name": "C", "households": 400,
            "population": 900, "estimated": False, "team": {}, "geometry": SQUARE}
    return dict(bounds=(24.94, 60.16, 24.95, 60.17), communities=[], grids=[grid], key_places=[],
                tiles=None, tiles_attribution=None, tile_url="/tiles/incidents/{z}/{x}/{y}.pbf")


def test_same_inputs_reuse_the_rendered_map_and_any_change_renders_again():
    t = lambda key, **kw: key  # noqa: E731
    first, layers = command_center_parts("zh", t, **_inputs("<b>A</b>"))
    again, _ = command_center_parts("zh", t, **_inputs("<b>A</b>"))
    assert again is first
    renamed, _ = command_center_parts("zh", t, **_inputs("B grid"))
    english, _ = command_center_parts("en", t, **_inputs("<b>A</b>"))
    assert renamed is not first and english is not first
    assert "B grid" in renamed["script"] and "B grid" not in first["script"]
    assert '"label": "1-1-1"' in first["script"] and layers.labels in first["script"]
