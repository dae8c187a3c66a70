"""The planner map on a SYNTHETIC plan of 400 grids (2,000 buildings, a dense street network): a
vertex drag snaps against what is near the edited grid only, draws only the buildings around the
view, replaces only the changed grids' table rows, and shows the answer soon after the drop; a
grid split along a drawn line and merged back adds and removes its row and list entry.
On the code before these limits a drag measured every grid and street on each mousemove and
every edit rebuilt the whole table twice (half a second an edit on 1,000 grids)."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import shapely
from sqlalchemy import text

from mapapp import create_app
from mapapp.accounts.queries import add_user
from mapapp.grids import queries as gq
from mapapp.grids.synthetic import DX, DY, X0, Y0, lattice_city_files
from mapapp.io.store import import_file
from mapapp.settings import Settings
from tests.browser.conftest import PASSWORD, shot
from tests.conftest import DATA_TABLES

pytestmark = pytest.mark.browser

N = 20  # 20 x 20 grids in 4 communities


@pytest.fixture(scope="module")
def lattice(engine):
    """The lattice city loaded, a planner and a draft of its plan."""
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(DATA_TABLES)} RESTART IDENTITY CASCADE"))
    with tempfile.TemporaryDirectory() as tmp:
        lattice_city_files(Path(tmp), N, N, per_grid=5)
        for layer, name in (("admin_areas", "areas"), ("base_units", "units"), ("streets", "streets")):
            import_file(engine, layer, Path(tmp) / f"{name}.geojson")
        import_file(engine, "grids", Path(tmp) / "grids.geojson", plan="lattice", publish=True)
    with engine.begin() as conn:
        add_user(conn, "bigplanner", "planner", PASSWORD)
        plan_id = gq.create_draft(conn, "lattice draft")
        grids = {r["code"]: shapely.from_geojson(r["geometry"]) for r in gq.snapshot(conn, plan_id)}
    return {"plan": plan_id, "grids": grids}


@pytest.fixture(scope="module")
def lattice_server(lattice, app_url, tmp_path_factory):
    import threading

    from werkzeug.serving import make_server

    app = create_app(Settings(database_url=app_url, home=tmp_path_factory.mktemp("home")))
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


SNAPPABLE = """() => { const map = document.getElementById('plan-map').planMap; let n = 0;
    map.eachLayer((l) => { if (l instanceof L.Polyline && l.options.snapIgnore !== true && !l._pmTempLayer
                               && l.getLatLngs().flat(5).length > 1) n += 1; }); return n; }"""


def _screen(page, lon: float, lat: float) -> tuple[float, float]:
    return tuple(page.evaluate("""([x, y]) => { const m = document.getElementById('plan-map').planMap;
        const p = m.latLngToContainerPoint([y, x]); const b = m.getContainer().getBoundingClientRect();
        return [b.left + p.x, b.top + p.y]; }""", [lon, lat]))


def _code_at(grids: dict, i: int, j: int) -> str:
    """The code of the grid whose lower left corner is lattice point (i, j)."""
    x, y = X0 + i * DX, Y0 + j * DY
    return next(c for c, g in grids.items() if abs(g.bounds[0] - x) < 1e-9 and abs(g.bounds[1] - y) < 1e-9)


def test_edits_on_a_400_grid_plan_touch_only_what_changed(page, lattice_server, lattice):
    corner = (X0 + 13 * DX, Y0 + 7 * DY)  # inside a community, shared by four grids
    code = _code_at(lattice["grids"], 13, 7)
    page.goto(lattice_server + f"/plan/{lattice['plan']}?lang=en")
    page.fill("#name", "bigplanner")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_function(f"() => document.querySelectorAll('#plan-metrics tbody tr').length === {N * N}"
                           " && document.querySelector('path.plan-street')", timeout=60000)
    version = int(page.locator("#plan-version").text_content())
    page.select_option("#plan-target", code)
    page.click("#plan-vertices")
    page.wait_for_selector(".marker-icon", state="attached")
    page.evaluate("([x, y]) => { document.getElementById('plan-map').planMap.setView([y, x], 17, {animate: false}); }",
                  list(corner))
    page.wait_for_timeout(200)
    # snap targets: the grids around the edited one and the streets there (not all 400 grids and
    # the whole network); buildings: those around the view only (not all 2,000)
    snappable = page.evaluate(SNAPPABLE)
    assert 2 <= snappable <= 30
    drawn = page.evaluate("() => document.querySelectorAll('path.plan-unit').length")
    assert 0 < drawn <= 200
    page.evaluate("""() => { window.rowsAdded = 0; new MutationObserver((ms) => { for (const m of ms)
        window.rowsAdded += m.addedNodes.length; }).observe(document.querySelector('#plan-metrics tbody'),
        {childList: true}); }""")
    pp_cell = f"#plan-metrics tr[data-code='{code}'] td:nth-child(4)"
    pp_before = page.locator(pp_cell).text_content()
    box = page.locator("#plan-map").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 15, y - 15, steps=5)
    page.mouse.move(x + 30, y - 30, steps=5)  # 30 px into the grid: nothing within 15 px to snap to
    page.mouse.up()
    page.wait_for_function("() => performance.getEntriesByName('plan-edit').length > 0"
                           " || document.querySelector('#plan-error').textContent !== ''")
    assert page.locator("#plan-error").text_content() == ""
    assert int(page.locator("#plan-version").text_content()) == version + 1
    assert page.locator(pp_cell).text_content() != pp_before  # the moved corner changed its shape
    # the four grids sharing the corner are redrawn in the table, no others
    assert 1 <= page.evaluate("() => window.rowsAdded") <= 4
    assert page.locator("#plan-metrics tbody tr").count() == N * N
    # drop -> answer drawn, with the request: well under a second even on a busy CI machine
    # (the 200 ms goal on 1,000 grids is scripts/bench_plans' figure)
    assert page.evaluate("() => performance.getEntriesByName('plan-edit')[0].duration") < 1000
    shot(page, "plan_large_vertex")
    page.click("#plan-vertices")
    # split (2, 3) along a line drawn across its bottom: a new grid, coded next in its community
    split = _code_at(lattice["grids"], 2, 3)
    page.select_option("#plan-target", split)
    page.evaluate("([x, y]) => { document.getElementById('plan-map').planMap.setView([y, x], 17, {animate: false}); }",
                  [X0 + 2.5 * DX, Y0 + 3.5 * DY])
    page.wait_for_timeout(200)
    page.click("#plan-split")
    y = Y0 + 3.05 * DY  # 5 % above the grid's bottom edge: no building there to click
    for lon in (X0 + 1.7 * DX, X0 + 3.3 * DX, X0 + 3.3 * DX):
        page.mouse.click(*_screen(page, lon, y))
    page.wait_for_function("() => performance.getEntriesByName('plan-edit').length > 1"
                           " || document.querySelector('#plan-error').textContent !== ''")
    assert page.locator("#plan-error").text_content() == ""
    assert page.locator("#plan-metrics tbody tr").count() == N * N + 1
    new = split[:-3] + f"{max(int(c[-3:]) for c in lattice['grids'] if c[:-3] == split[:-3]) + 1:03d}"
    assert page.locator(f"#plan-metrics tr[data-code='{new}']").count() == 1
    assert page.locator(f"#plan-target option[value='{new}']").count() == 1
    # merge: the new grid is taken back into the one it was cut from
    page.click("#plan-merge")
    page.locator(f"path.grid-{new}").dispatch_event("click")
    page.wait_for_function("() => performance.getEntriesByName('plan-edit').length > 2"
                           " || document.querySelector('#plan-error').textContent !== ''")
    assert page.locator("#plan-error").text_content() == ""
    assert page.locator("#plan-metrics tbody tr").count() == N * N
    assert page.locator(f"#plan-metrics tr[data-code='{new}']").count() == 0
    assert page.locator(f"#plan-target option[value='{new}']").count() == 0
    assert int(page.locator("#plan-version").text_content()) == version + 3
    assert page.errors == []
