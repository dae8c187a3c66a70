"""The planner map in Chromium: paint a building into the neighbouring grid, see the figures change."""
from __future__ import annotations

import pytest
import shapely
from sqlalchemy import text

from mapapp.accounts.queries import add_user
from mapapp.grids import queries as gq
from tests.browser.conftest import PASSWORD, shot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def draft(sample_city):
    """A planner and a draft of the sample plan, with one building on a grid edge to move."""
    with sample_city.begin() as conn:
        add_user(conn, "planner", "planner", PASSWORD)
        plan_id = gq.create_draft(conn, "browser draft")
        grids = {r["code"]: shapely.from_geojson(r["geometry"]) for r in gq.snapshot(conn, plan_id)}
        units = conn.execute(text(
            "SELECT b.id, g.code, b.households FROM base_units b JOIN grids g ON g.plan_id = :p "
            "AND ST_Covers(g.geom, ST_PointOnSurface(b.geom)) WHERE b.households > 0 "
            "AND GeometryType(b.geom) IN ('POLYGON', 'MULTIPOLYGON') ORDER BY b.households DESC"),
            {"p": plan_id}).all()
    for unit_id, home, hh in units:  # a building whose grid has a neighbour sharing an edge
        for code, geom in grids.items():
            if code != home and geom.intersection(grids[home]).length > 0:
                return {"plan": plan_id, "unit": unit_id, "home": home, "target": code, "households": hh}
    raise AssertionError("the sample plan has no two neighbouring grids")


def cell(page, code: str) -> int:
    return int(page.locator(f"#plan-metrics tr[data-code='{code}'] td").nth(1).text_content())


def test_paint_a_building_into_another_grid(page, server, draft):
    page.goto(server + f"/plan/{draft['plan']}?lang=en")
    page.fill("#name", "planner")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector(f"#plan-metrics tr[data-code='{draft['target']}']")
    page.wait_for_selector(f"path.unit-{draft['unit']}", state="attached")
    before_home, before_target = cell(page, draft["home"]), cell(page, draft["target"])
    page.select_option("#plan-target", draft["target"])
    page.locator(f"path.unit-{draft['unit']}").dispatch_event("click")
    page.wait_for_function(
        "([code, n]) => { const r = document.querySelector(`#plan-metrics tr[data-code='${code}'] td:nth-child(2)`);"
        " return r && Number(r.textContent) !== n; }", arg=[draft["target"], before_target])
    # the painted building's households leave its grid and join the target (neighbours may follow:
    # its Voronoi cell among the grid's buildings moves)
    assert cell(page, draft["target"]) - before_target >= draft["households"]
    assert before_home - cell(page, draft["home"]) == cell(page, draft["target"]) - before_target
    assert page.locator("#plan-version").text_content() == "1"
    shot(page, "plan_paint")
    page.click("#plan-undo")
    page.wait_for_function("() => document.querySelector('#plan-version').textContent === '2'")
    page.wait_for_function(
        "([code, n]) => Number(document.querySelector(`#plan-metrics tr[data-code='${code}'] td:nth-child(2)`)"
        ".textContent) === n", arg=[draft["target"], before_target])
    assert page.errors == []


def test_rebalance_two_neighbouring_grids_from_the_page(page, server, draft):
    page.goto(server + f"/plan/{draft['plan']}?lang=en")
    page.fill("#name", "planner")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector(f"#plan-metrics tr[data-code='{draft['target']}']")
    version = int(page.locator("#plan-version").text_content())
    a, b = cell(page, draft["home"]), cell(page, draft["target"])
    page.select_option("#plan-target", draft["home"])
    page.click("#plan-rebalance")
    assert "neighbouring grid" in page.locator("#plan-hint").text_content()
    page.locator(f"path.grid-{draft['target']}").dispatch_event("click")
    page.wait_for_function("(v) => Number(document.querySelector('#plan-version').textContent) === v",
                           arg=version + 1)
    a2, b2 = cell(page, draft["home"]), cell(page, draft["target"])
    # the two grids' households are re-split between them: none lost, and no less balanced
    assert a2 + b2 == a + b and abs(a2 - b2) <= abs(a - b)
    assert page.locator("#plan-hint").text_content() == ""
    assert page.errors == []
