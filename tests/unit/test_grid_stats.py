from mapapp.grids.stats import grid_stats, per_thousand
from mapapp.incidents.taxonomy import load
from mapapp.web.maps import grid_label


def test_per_thousand():
    assert per_thousand(4, 400) == 10.0
    assert per_thousand(3, 0) is None


def test_grid_stats_folds_subcategories():
    rows = [{"category": "public_order.theft", "total": 3, "open": 1, "closed": 2},
            {"category": "public_order.noise", "total": 2, "open": 2, "closed": 0},
            {"category": "services.elderly", "total": 1, "open": 0, "closed": 1}]
    st = grid_stats({"households": 500}, rows, load(), "en")
    assert st["total"] == 6 and st["open"] == 3 and st["closed"] == 3
    assert st["per_1000_households"] == 12.0
    assert [c["code"] for c in st["by_category"]] == ["public_order", "services"]
    assert st["by_category"][0]["label"] == "Public order" and st["by_category"][0]["total"] == 5


def test_grid_label_is_community_and_grid_sequence():
    assert grid_label("910101001002013") == "1-2-13"
    assert grid_label("G7") == "G7"
