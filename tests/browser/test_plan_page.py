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
    # snapping would pull the vertex onto a neighbour's: off here, so the test knows where it lands
    page.evaluate("() => document.getElementById('plan-map').planMap.pm.setGlobalOptions({snappable: false})")
    page.click("#plan-vertices")
    page.wait_for_selector(".marker-icon", state="attached")
    vertices, grids = shared_vertices(draft["plan"], sample_city, draft["home"], draft["target"])
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


M_PER_DEG_LAT = 111_320.0


def _metres(a, b) -> float:
    """Distance in metres between two lon/lat points a few hundred metres apart."""
    k = np.cos(np.radians((a[1] + b[1]) / 2))
    return float(np.hypot((a[0] - b[0]) * k, a[1] - b[1]) * M_PER_DEG_LAT)


def _plan_state(engine, plan_id: int):
    """The draft's grids (code -> geometry), their communities' geometries, and the streets."""
    with engine.connect() as conn:
        rows = gq.snapshot(conn, plan_id)
        comms = dict(conn.execute(text("SELECT id, ST_AsText(geom) FROM admin_areas "
                                       "WHERE level = 'community'")).all())
        streets = [r[0] for r in conn.execute(text("SELECT ST_AsText(geom) FROM streets"))]
    grids = {r["code"]: shapely.from_geojson(r["geometry"]) for r in rows}
    comm_of = {r["code"]: shapely.from_wkt(comms[r["community_id"]]) for r in rows}
    return grids, comm_of, shapely.from_wkt(np.array(streets, dtype=object))


def _valid_move(grids: dict, comm_of: dict, v, to) -> bool:
    """True when moving vertex v to `to` keeps every grid valid and inside its community."""
    from mapapp.grids.edits import EditError, move_vertex
    codes = list(grids)
    try:
        moved, out = move_vertex(np.array([grids[c] for c in codes], dtype=object), v, to, 6e-7)
    except EditError:
        return False
    for c, m, g in zip(codes, moved, out):
        if m and shapely.difference(g, comm_of[c]).area > shapely.difference(grids[c], comm_of[c]).area + 1e-10:
            return False
    return True


def _snap_case(engine, plan_id: int, on_node: bool) -> dict:
    """A vertex of some grid and a street point 5-25 m away (a street node, or the middle of a
    street segment at least 20 m long) it can move to: nothing else to snap to within 8 m
    (other streets' lines within 3 m, other grids' boundaries), and the move keeps every grid valid."""
    grids, comm_of, streets = _plan_state(engine, plan_id)
    boundaries = {c: g.boundary for c, g in grids.items()}
    lines = shapely.get_parts(streets)
    segs = []  # every street segment as (a, b)
    for line in lines:
        xy = shapely.get_coordinates(line)
        segs += list(zip(map(tuple, xy[:-1]), map(tuple, xy[1:])))
    seg_lines = shapely.linestrings(np.array([[a, b] for a, b in segs]))
    tree = shapely.STRtree(seg_lines)
    if on_node:
        points = sorted({a for a, _ in segs} | {b for _, b in segs})
    else:
        points = [((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) for a, b in segs if _metres(a, b) >= 20]
    for code, g in grids.items():
        verts = [tuple(c) for c in shapely.get_coordinates(shapely.get_exterior_ring(shapely.get_parts(g)[0]))[:-1]]
        others = shapely.union_all([b for c, b in boundaries.items() if c != code])
        for v in verts:
            if min(_metres(v, w) for w in verts if w != v) < 4:
                continue
            near = [p for p in points if 5 <= _metres(v, p) <= 25]
            for p in near:
                pt = shapely.Point(p)
                if others.distance(pt) * M_PER_DEG_LAT * 0.5 < 8:  # 0.5: cos(60 N) for longitude
                    continue
                close = tree.query(pt, predicate="dwithin", distance=3 / M_PER_DEG_LAT)
                if on_node:
                    # other street nodes would compete for the snap
                    if any(_metres(p, q) < 6 for q in points if q != p):
                        continue
                    if any(p not in (segs[i][0], segs[i][1]) for i in close):
                        continue
                elif len(close) != 1:
                    continue
                if _valid_move(grids, comm_of, v, p):
                    return {"code": code, "vertex": v, "street": p}
    raise AssertionError("the sample city has no grid vertex near a street to snap to")


def _open_plan(page, server, plan_id: int) -> None:
    page.goto(server + f"/plan/{plan_id}?lang=en")
    page.fill("#name", "planner")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#plan-metrics tbody tr")
    page.wait_for_selector("path.plan-street", state="attached")


def _screen(page, lonlat) -> tuple[float, float]:
    return tuple(page.evaluate("""([lon, lat]) => {
        const map = document.getElementById('plan-map').planMap;
        const box = document.getElementById('plan-map').getBoundingClientRect();
        const p = map.latLngToContainerPoint([lat, lon]);
        return [box.left + p.x, box.top + p.y]; }""", list(lonlat)))


def _drag(page, start, end) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=4)
    page.mouse.move(*end, steps=4)
    page.mouse.up()


@pytest.fixture(scope="module")
def snap_draft(sample_city, draft):
    """A second draft of the sample plan (the planner comes with `draft`)."""
    with sample_city.begin() as conn:
        return gq.create_draft(conn, "snap draft")


@pytest.mark.parametrize("on_node", [True, False], ids=["street node", "street line"])
def test_a_dragged_vertex_snaps_onto_the_street(page, server, sample_city, snap_draft, on_node):
    case = _snap_case(sample_city, snap_draft, on_node)
    _open_plan(page, server, snap_draft)
    page.select_option("#plan-target", case["code"])
    # Geoman's options on the edited grid: snapping on, 15 px, to vertices and segments
    page.click("#plan-vertices")
    page.wait_for_selector(".marker-icon", state="attached")
    opts = page.evaluate("""() => { let o = null; document.getElementById('plan-map').planMap.eachLayer(
        (l) => { if (l.pm && l.pm.enabled && l.pm.enabled() && l.feature) o = l.pm.options; }); return o; }""")
    assert opts["snappable"] is True and opts["snapDistance"] == 15 and opts["snapSegment"] is True
    assert opts["allowSelfIntersection"] is False
    mid = ((case["vertex"][0] + case["street"][0]) / 2, (case["vertex"][1] + case["street"][1]) / 2)
    page.evaluate("([lon, lat]) => document.getElementById('plan-map').planMap.setView([lat, lon], 18, {animate: false})",
                  list(mid))
    page.wait_for_timeout(200)
    version = int(page.locator("#plan-version").text_content())
    x, y = _screen(page, case["street"])
    _drag(page, _screen(page, case["vertex"]), (x + 3, y + 2))  # dropped 3-4 px off the street
    page.wait_for_function("(v) => Number(document.querySelector('#plan-version').textContent) === v"
                           " || document.querySelector('#plan-error').textContent !== ''", arg=version + 1)
    assert page.locator("#plan-error").text_content() == ""
    with sample_city.connect() as conn:
        after = shapely.from_geojson(gq.snapshot(conn, snap_draft, [case["code"]])[0]["geometry"])
        coords = shapely.get_coordinates(after)
        gone = np.abs(coords - case["vertex"]).max(axis=1) < 1e-9
        assert not gone.any(), "the dragged vertex did not move"
        # the new vertex: the one nearest the drop point, compared with the streets in the database
        new = coords[np.argmin(np.hypot(*(coords - case["street"]).T))]
        dist = conn.execute(text("SELECT min(ST_Distance(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326))) "
                                 "FROM streets"), {"x": new[0], "y": new[1]}).scalar()
    assert dist < 1e-9  # degrees: on the street line (well under a millimetre)
    if on_node:
        assert np.abs(new - case["street"]).max() < 1e-9  # exactly the street's node
    else:
        assert _metres(tuple(new), case["street"]) < 1.0  # on the segment, next to where it was dropped
        nodes = shapely.get_coordinates(_plan_state(sample_city, snap_draft)[2])
        assert np.hypot(*(nodes - new).T).min() * M_PER_DEG_LAT * 0.5 > 5  # not a street's node
    assert page.errors == []


def test_a_self_crossing_drag_is_refused_in_the_browser(page, server, sample_city, snap_draft):
    grids, comm_of, _ = _plan_state(sample_city, snap_draft)
    code, g = next((c, g) for c, g in sorted(grids.items()) if shapely.get_num_geometries(g) == 1)
    ring = shapely.get_coordinates(shapely.get_exterior_ring(shapely.get_parts(g)[0]))[:-1]
    centre = np.asarray(g.centroid.coords[0])
    # a vertex pulled through the middle to the far side of its grid: the ring crosses itself
    v, to = next((tuple(p), tuple(centre + 0.8 * (centre - p))) for p in ring
                 if not shapely.Polygon([tuple(centre + 0.8 * (centre - p)) if tuple(q) == tuple(p) else tuple(q)
                                         for q in ring]).is_valid)
    _open_plan(page, server, snap_draft)
    version = page.locator("#plan-version").text_content()
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.evaluate("() => document.getElementById('plan-map').planMap.pm.setGlobalOptions({snappable: false})")
    page.select_option("#plan-target", code)
    page.click("#plan-vertices")
    page.wait_for_selector(".marker-icon", state="attached")
    page.evaluate("([x0, y0, x1, y1]) => document.getElementById('plan-map').planMap.fitBounds("
                  "[[y0, x0], [y1, x1]], {animate: false, padding: [40, 40]})",
                  [min(v[0], to[0]), min(v[1], to[1]), max(v[0], to[0]), max(v[1], to[1])])
    page.wait_for_timeout(200)
    _drag(page, _screen(page, v), _screen(page, to))
    page.wait_for_function("() => document.querySelector('#plan-error').textContent !== ''")
    message = page.locator("#plan-error").text_content()
    assert "cross itself" in message and code in message
    assert page.locator("#plan-error").is_visible()
    page.wait_for_timeout(300)
    assert posts == []  # nothing was sent
    assert page.locator("#plan-version").text_content() == version
    with sample_city.connect() as conn:
        now = shapely.from_geojson(gq.snapshot(conn, snap_draft, [code])[0]["geometry"])
    assert now.equals(g)
    assert page.errors == []


def test_an_edit_draws_its_local_check_in_red_and_undo_clears_it(page, server, sample_city, snap_draft):
    grids, comm_of, _ = _plan_state(sample_city, snap_draft)
    shared = np.concatenate([shapely.get_coordinates(g) for g in grids.values()]).round(9)
    keys, counts = np.unique(shared, axis=0, return_counts=True)
    alone = {tuple(k) for k, n in zip(keys.tolist(), counts) if n == 1}
    # a vertex of the community's edge that no other grid has, pulled 5 m into its grid: a gap opens
    for code, g in sorted(grids.items()):
        centre = np.asarray(g.centroid.coords[0])
        for v in shapely.get_coordinates(shapely.get_exterior_ring(shapely.get_parts(g)[0]))[:-1]:
            if tuple(v.round(9).tolist()) not in alone:
                continue
            to = v + (centre - v) * 5 / _metres(tuple(v), tuple(centre))
            if _valid_move(grids, comm_of, tuple(v), tuple(to)):
                break
        else:
            continue
        break
    else:
        raise AssertionError("no grid vertex of the sample can open a gap")
    _open_plan(page, server, snap_draft)
    page.wait_for_function("() => document.querySelector('#plan-summary').textContent.includes('coverage problems')")
    red = "document.querySelectorAll('path.plan-problem').length"
    before = page.evaluate(f"() => {red}")
    version = int(page.locator("#plan-version").text_content())
    page.evaluate("() => document.getElementById('plan-map').planMap.pm.setGlobalOptions({snappable: false})")
    page.select_option("#plan-target", code)
    page.click("#plan-vertices")
    page.wait_for_selector(".marker-icon", state="attached")
    page.evaluate("([lon, lat]) => document.getElementById('plan-map').planMap.setView([lat, lon], 18, {animate: false})",
                  v.tolist())
    page.wait_for_timeout(200)
    _drag(page, _screen(page, tuple(v)), _screen(page, tuple(to)))
    page.wait_for_function("(v) => Number(document.querySelector('#plan-version').textContent) === v"
                           " || document.querySelector('#plan-error').textContent !== ''", arg=version + 1)
    assert page.locator("#plan-error").text_content() == ""
    # the answer's local check is drawn at once: a new red problem where the vertex left the edge
    assert page.evaluate(f"() => {red}") > before
    stroke = page.evaluate("() => [...document.querySelectorAll('path.plan-problem')].map((p) => p.getAttribute('stroke'))")
    assert set(stroke) == {"#d50000"}
    gaps = page.evaluate("""([lon, lat]) => { const out = []; document.getElementById('plan-map').planMap.eachLayer(
        (l) => { if (l.feature && l.feature.properties && l.feature.properties.kind === 'gap' && l.getBounds
                      && l.getBounds().pad(0.5).contains([lat, lon])) out.push(l.feature.properties.area_m2); });
        return out; }""", list((v + to) / 2))
    assert gaps and max(gaps) > 1  # the gap's area in m², next to the moved vertex
    shot(page, "plan_local_check")
    page.click("#plan-undo")
    page.wait_for_function("(v) => Number(document.querySelector('#plan-version').textContent) === v", arg=version + 2)
    assert page.evaluate(f"() => {red}") == before
    assert page.errors == []
