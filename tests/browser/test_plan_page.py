"""The planner map in Chromium: paint a building into the neighbouring grid, see the figures change."""
from __future__ import annotations

import numpy as np
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


def shared_vertices(draft_id: int, engine, home: str, target: str) -> tuple[list, np.ndarray]:
    """Vertices the home and target grids share (as the map gets them: 6 decimals), and every
    grid of the draft."""
    with engine.connect() as conn:
        rows = gq.snapshot(conn, draft_id)
    g = {r["code"]: shapely.from_geojson(r["geometry"]) for r in rows}
    a = {tuple(c) for c in shapely.get_coordinates(g[home]).round(6).tolist()}
    b = {tuple(c) for c in shapely.get_coordinates(g[target]).round(6).tolist()}
    return sorted(a & b), np.array(list(g.values()), dtype=object)


def pick_move(page, vertices: list, grids: np.ndarray, home: str) -> tuple[float, ...]:
    """A shared vertex, its screen position and a 12 px step towards the home grid's middle
    that leaves every grid valid and changes the home grid's shape."""
    from mapapp.grids.edits import EditError, move_vertex
    steps = page.evaluate("""([verts, code]) => {
        const map = document.getElementById('plan-map').planMap;
        const box = document.getElementById('plan-map').getBoundingClientRect();
        let centre = null;
        map.eachLayer((l) => { if (l.feature && l.feature.id === code && l.getBounds) centre = l.getBounds().getCenter(); });
        const c = map.latLngToContainerPoint(centre);
        return verts.map(([lon, lat]) => {
            const p = map.latLngToContainerPoint([lat, lon]);
            const n = Math.hypot(c.x - p.x, c.y - p.y);
            const q = L.point(p.x + 12 * (c.x - p.x) / n, p.y + 12 * (c.y - p.y) / n);
            const to = map.containerPointToLatLng(q);
            return [box.left + p.x, box.top + p.y, box.left + q.x, box.top + q.y, to.lng, to.lat]; }); }""",
        [vertices, home])
    for (lon, lat), (x, y, x2, y2, lon2, lat2) in zip(vertices, steps):
        try:
            move_vertex(grids, (lon, lat), (lon2, lat2), 1e-6)
        except EditError:
            continue
        return x, y, x2, y2
    raise AssertionError("no shared vertex can move 12 px into the home grid")


def test_move_a_vertex_and_box_select(page, server, draft, sample_city):
    page.goto(server + f"/plan/{draft['plan']}?lang=en")
    page.fill("#name", "planner")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector(f"#plan-metrics tr[data-code='{draft['home']}']")
    page.select_option("#plan-target", draft["home"])
    version = int(page.locator("#plan-version").text_content())
    pp_cell = f"#plan-metrics tr[data-code='{draft['home']}'] td:nth-child(4)"
    pp_before = page.locator(pp_cell).text_content()
    page.click("#plan-vertices")
    page.wait_for_selector(".marker-icon", state="attached")
    vertices, grids = shared_vertices(draft["plan"], sample_city, draft["home"], draft["target"])
    # snapping would pull the vertex onto a neighbour's: off here, so the test knows where it lands
    page.evaluate("() => document.getElementById('plan-map').planMap.pm.setGlobalOptions({snappable: false})")
    x, y, x2, y2 = pick_move(page, vertices, grids, draft["home"])
    dx, dy = x2 - x, y2 - y
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y + dy / 2, steps=3)
    page.mouse.move(x + dx, y + dy, steps=3)
    page.mouse.up()
    page.wait_for_function("(v) => Number(document.querySelector('#plan-version').textContent) === v"
                           " || document.querySelector('#plan-error').textContent !== ''", arg=version + 1)
    assert page.locator("#plan-error").text_content() == ""
    # the home grid's compactness figure follows the moved boundary
    page.wait_for_function("([sel, before]) => document.querySelector(sel).textContent !== before",
                           arg=[pp_cell, pp_before])
    shot(page, "plan_vertex")
    page.click("#plan-vertices")
    # Shift-drag a box around the building on the grid edge: it joins the chosen (target) grid
    page.select_option("#plan-target", draft["target"])
    before_target = cell(page, draft["target"])
    bx = page.locator(f"path.unit-{draft['unit']}").bounding_box()
    page.keyboard.down("Shift")
    page.mouse.move(bx["x"] - 3, bx["y"] - 3)
    page.mouse.down()
    page.mouse.move(bx["x"] + bx["width"] + 3, bx["y"] + bx["height"] + 3, steps=4)
    page.mouse.up()
    page.keyboard.up("Shift")
    page.wait_for_function("(v) => Number(document.querySelector('#plan-version').textContent) === v"
                           " || document.querySelector('#plan-error').textContent !== ''", arg=version + 2)
    assert page.locator("#plan-error").text_content() == ""
    assert cell(page, draft["target"]) - before_target >= draft["households"]
    assert page.errors == []
