"""Log in, open the command-center map, and check what a person sees."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from tests.browser.conftest import PASSWORD, shot

pytestmark = pytest.mark.browser


def login(page, server):
    page.goto(server + "/")
    assert "/login" in page.url
    page.fill("#name", "duty")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("body[data-ready='1']", timeout=30000)


def layer_count(page, layer: str) -> int:
    return page.evaluate(
        """(layer) => { const cfg = JSON.parse(document.getElementById('mapapp-config').textContent);
                        return window[cfg.layers[layer]].getLayers().length; }""", layer)


def screen_point(page, lon: float, lat: float) -> tuple[float, float]:
    """Where a lon/lat is on the screen (the map draws on a canvas, so we click pixels)."""
    pt = page.evaluate(
        """([lon, lat]) => { const cfg = JSON.parse(document.getElementById('mapapp-config').textContent);
                             const map = window[cfg.layers.map];
                             const p = map.latLngToContainerPoint([lat, lon]);
                             const r = map.getContainer().getBoundingClientRect();
                             return [r.left + p.x, r.top + p.y]; }""", [lon, lat])
    return pt[0], pt[1]


def test_map_draws_grids_and_incidents(page, server, sample_city):
    zooms = []  # the zoom of every incident tile the page asks for
    page.on("request", lambda r: zooms.append(int(r.url.split("/tiles/incidents/")[1].split("/")[0]))
            if "/tiles/incidents/" in r.url and ".pbf" in r.url else None)
    login(page, server)
    page.wait_for_selector(".mapapp-map[data-incidents]", timeout=30000)
    with sample_city.connect() as conn:
        n_grids = conn.execute(text("SELECT count(*) FROM grids g JOIN grid_plans p ON p.id = g.plan_id "
                                    "AND p.status = 'published'")).scalar()
    assert n_grids > 5
    assert layer_count(page, "grids") == n_grids
    drawn = int(page.get_attribute(".mapapp-map", "data-incidents"))
    assert drawn > 0 and layer_count(page, "incidents") == drawn
    assert page.locator(".grid-label").count() == n_grids
    assert "显示" in page.inner_text("#status")
    assert page.locator(".badge.simulated").count() >= 1  # simulated data is labelled
    shot(page, "command_center_zh")
    overflowing = page.evaluate("""() => { const side = document.getElementById('controls').getBoundingClientRect();
        return [...document.querySelectorAll('#controls select, #controls input')]
          .filter(e => e.getBoundingClientRect().right > side.right).map(e => e.id); }""")
    assert overflowing == [], f"controls wider than the side panel: {overflowing}"
    point_zoom = page.evaluate("() => JSON.parse(document.getElementById('mapapp-config').textContent).pointZoom")
    page.evaluate("(z) => { const cfg = JSON.parse(document.getElementById('mapapp-config').textContent);"
                  " window[cfg.layers.map].setZoom(z); }", point_zoom + 1)
    page.wait_for_timeout(1500)
    assert not [z for z in zooms if z >= point_zoom]  # from pointZoom on the list draws: no tile fetched
    page.evaluate("(z) => { const cfg = JSON.parse(document.getElementById('mapapp-config').textContent);"
                  " window[cfg.layers.map].setZoom(z); }", point_zoom - 1)
    page.wait_for_timeout(1500)
    assert set(zooms) == {point_zoom - 1}  # below it the clusters come from tiles
    assert not page.errors, page.errors


def test_period_filter_changes_what_is_drawn(page, server, sample_city):
    login(page, server)
    page.wait_for_selector(".mapapp-map[data-incidents]", timeout=30000)
    page.select_option("#period", "24h")
    page.wait_for_function("() => /\\d/.test(document.getElementById('status').textContent) && "
                           "!document.getElementById('status').textContent.includes('…')")
    day = int(page.get_attribute(".mapapp-map", "data-incidents"))
    page.select_option("#period", "all")
    page.wait_for_function(f"() => Number(document.querySelector('.mapapp-map').dataset.incidents) > {day}",
                           timeout=30000)


def test_grid_panel_opens_on_click(page, server, sample_city):
    from shapely.geometry import shape

    login(page, server)
    page.uncheck("#cat-all")  # no incident markers over the spot we click
    grids = json.loads(page.evaluate("() => fetch('/api/grids').then(r => r.text())"))["features"]
    places = json.loads(page.evaluate("() => fetch('/api/key_places').then(r => r.text())"))["features"]
    grid = max(grids, key=lambda f: shape(f["geometry"]).area)
    code = grid["properties"]["code"]
    # a spot well inside the grid and away from key-place markers, which sit above grids
    inside = shape(grid["geometry"]).buffer(-0.0002)
    for p in places:
        inside = inside.difference(shape(p["geometry"]).buffer(0.0004))
    spot = inside.representative_point()
    page.mouse.click(*screen_point(page, spot.x, spot.y))
    page.wait_for_selector(f"#grid-panel[data-grid='{code}']", timeout=15000)
    assert page.is_visible("#grid-panel")
    assert page.inner_text("#panel-total") == "0"  # no category ticked
    page.check("#cat-all")  # the open panel follows the filter
    page.wait_for_function("() => document.getElementById('panel-total') && "
                           "document.getElementById('panel-total').textContent !== '0'", timeout=15000)
    stats = json.loads(page.evaluate(
        f"() => fetch('/api/grids/{code}/stats?since=30d').then(r => r.text())"))
    assert stats["total"] > 0
    assert int(page.inner_text("#panel-total").replace(",", "")) == stats["total"]
    shot(page, "grid_panel")


def test_language_switch_to_english_is_remembered(page, server, sample_city):
    login(page, server)
    assert "筛选" in page.inner_text("#controls")
    page.click("#lang-switch")
    page.wait_for_selector("body[data-ready='1']")
    assert page.get_attribute("html", "lang") == "en"
    assert "Filter" in page.inner_text("#controls")
    page.goto(server + "/")
    page.wait_for_selector("body[data-ready='1']")
    assert page.get_attribute("html", "lang") == "en"
    page.wait_for_selector(".mapapp-map[data-incidents]", timeout=30000)
    shot(page, "command_center_en")
    page.click("#lang-switch")
    page.wait_for_selector("body[data-ready='1']")
    assert page.get_attribute("html", "lang") == "zh-CN"


def test_new_incident_appears_without_reload(page, server, sample_city):
    import urllib.request

    login(page, server)
    page.wait_for_selector("#latest li[data-id]", timeout=15000)
    page.wait_for_timeout(1000)  # the first poll has taken the current event number
    body = json.dumps({"category": "safety.gas", "lon": 24.9445, "lat": 60.1690,
                       "description": "<b>gas smell</b> in stairwell"}).encode()
    req = urllib.request.Request(server + "/api/incidents", data=body, method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {sample_city.token}"})
    with urllib.request.urlopen(req) as resp:
        new_id = json.loads(resp.read())["id"]
    item = page.wait_for_selector(f"#latest li[data-id='{new_id}']", timeout=12000)
    assert "fresh" in (item.get_attribute("class") or "")
    item.click()
    detail = page.wait_for_selector(f".incident-detail[data-id='{new_id}']", timeout=10000)
    text_shown = detail.inner_text()
    assert "<b>gas smell</b>" in text_shown  # shown as text, not as markup
    assert "上报" in text_shown  # the history's first step
    shot(page, "live_incident")
    assert not page.errors, page.errors


def test_kpi_page_sorts_and_charts(page, server, sample_city):
    login(page, server)
    page.click("#nav-kpi")
    page.wait_for_selector("#kpi-table tbody tr")
    rows = page.locator("#kpi-table tbody tr").count()
    assert rows == page.locator("#kpi-chart .kpi-bar-row").count() > 5
    page.click("#kpi-table thead th:nth-child(8)")  # overdue now, ascending
    page.click("#kpi-table thead th:nth-child(8)")  # descending
    values = [int(v) for v in page.locator("#kpi-table tbody td:nth-child(8)").all_inner_texts()]
    assert values == sorted(values, reverse=True) and values[0] > 0
    assert page.locator(".badge.simulated").count() == 1
    shot(page, "kpi")


def test_zoomed_out_map_shows_vector_tile_clusters(page, server, sample_city):
    login(page, server)
    page.wait_for_selector(".mapapp-map[data-incidents]", timeout=30000)
    tiles = []
    page.on("response", lambda r: tiles.append(r) if "/tiles/incidents/13/" in r.url else None)
    page.evaluate("() => { const cfg = JSON.parse(document.getElementById('mapapp-config').textContent);"
                  " window[cfg.layers.map].setZoom(13); }")
    page.wait_for_function("() => document.querySelector('.mapapp-map').dataset.incidents === '0'")
    page.wait_for_timeout(1500)
    assert tiles and all(r.status == 200 and "v=" in r.url for r in tiles)  # the data version pins the cache
    assert "15" in page.inner_text("#status")
    page.wait_for_timeout(500)
    shot(page, "clusters")
    assert not page.errors, page.errors


def test_status_and_area_filters_narrow_the_latest_list(page, server, sample_city):
    login(page, server)
    page.wait_for_selector("#latest li[data-id]", timeout=30000)
    page.select_option("#period", "all")
    community = page.eval_on_selector("#where-filter option[value^='community:']", "o => o.value")
    page.select_option("#status-filter", "closed")
    page.select_option("#where-filter", community)
    code = community.split(":", 1)[1]
    with sample_city.connect() as conn:
        expected = conn.execute(text("""
            SELECT i.id FROM incidents i JOIN admin_areas c ON c.id = i.community_id
             WHERE i.status = 'closed' AND c.code = :c ORDER BY i.reported_at DESC, i.id DESC LIMIT 20"""),
            {"c": code}).scalars().all()
    assert expected
    page.wait_for_function(
        """(want) => { const got = [...document.querySelectorAll('#latest li[data-id]')].map(li => Number(li.dataset.id));
                       return got.length === want.length && got.every(id => want.includes(id)); }""",
        arg=expected, timeout=30000)
    shot(page, "filters-status-community")
