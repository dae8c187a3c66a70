import json

import pytest

from mapapp.incidents import taxonomy


def test_default_taxonomy_has_the_six_categories_in_both_languages():
    tax = taxonomy.load()
    tops = {c.code: c for c in tax.tops()}
    assert set(tops) == {"disputes", "public_order", "safety", "city_mgmt", "services", "emergency"}
    assert tops["disputes"].zh == "矛盾纠纷" and tops["disputes"].en == "Disputes"
    for top in tops.values():
        assert tax.children(top.code), f"{top.code} has no subcategories"


def test_subcategory_inherits_colour_and_deadline_unless_set():
    tax = taxonomy.load()
    theft, fight = tax.get("public_order.theft"), tax.get("public_order.fight")
    assert theft.color == tax.get("public_order").color
    assert theft.deadline_hours == 24 and fight.deadline_hours == 2
    assert theft.top == "public_order"


def test_expand_top_level_code():
    tax = taxonomy.load()
    assert set(tax.expand(["emergency"])) == {"emergency", *[c.code for c in tax.children("emergency")]}
    with pytest.raises(KeyError):
        tax.expand(["nope"])


@pytest.mark.parametrize("broken, message", [
    ({"categories": []}, "non-empty"),
    ({"categories": [{"code": "a", "zh": "甲", "en": "A", "color": "red", "deadline_hours": 1}]}, "color"),
    ({"categories": [{"code": "a", "zh": "甲", "en": "A", "color": "#ff0000", "deadline_hours": 0}]}, "deadline_hours"),
    ({"categories": [{"code": "a", "zh": "甲", "en": "A", "color": "#ff0000", "deadline_hours": 1,
                      "children": [{"code": "b.x"}]}]}, "must start with"),
    ({"categories": [{"code": "a", "zh": "甲", "en": "A", "color": "#ff0000"}]}, "deadline_hours"),
])
def test_malformed_taxonomy_is_named(broken, message):
    with pytest.raises(taxonomy.TaxonomyError, match=message):
        taxonomy.parse(broken)


def test_replacement_file(tmp_path):
    path = tmp_path / "tax.json"
    path.write_text(json.dumps({"categories": [{"code": "x", "zh": "某", "en": "X", "color": "#123456",
                                                "deadline_hours": 5, "children": [{"code": "x.y", "zh": "子", "en": "Y"}]}]}))
    tax = taxonomy.load(path)
    assert [c.code for c in tax.categories.values()] == ["x", "x.y"]
    assert tax.get("x.y").label("en") == "Y" and tax.get("x.y").label("zh") == "子"
