"""Script payloads posted through the inputs (an incident's description and note, a grid's name)
are drawn as text on the map, the latest list and the incident popup, and none runs in Chromium."""
from __future__ import annotations

import json
import urllib.request

import pytest
from sqlalchemy import text

from tests.browser.conftest import PASSWORD

pytestmark = pytest.mark.browser

PAYLOADS = ['<img src=x onerror="window.__xss=1">', "<script>window.__xss=2</script>",
            '"><svg onload="window.__xss=3">']
RECORD = """window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective));"""


def _post(server: str, token: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(server + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def test_payloads_are_drawn_as_text_and_never_run(page, server, sample_city):
    payload = " ".join(PAYLOADS)
    with sample_city.connect() as conn:
        lon, lat, grid_id, code, old_name = conn.execute(text(
            "SELECT ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom)), g.id, g.code, g.name "
            "FROM grids g JOIN grid_plans p ON p.id = g.plan_id AND p.status = 'published' "
            "ORDER BY g.id LIMIT 1")).one()
    case = _post(server, sample_city.token, "/api/incidents",
                 {"category": "public_order.noise", "lon": lon, "lat": lat, "description": payload})
    _post(server, sample_city.token, f"/api/incidents/{case['id']}/transitions",
          {"action": "register", "note": PAYLOADS[0]})
    with sample_city.begin() as conn:
        conn.execute(text("UPDATE grids SET name = :n WHERE id = :i"), {"n": PAYLOADS[1], "i": grid_id})
    try:
        page.add_init_script(RECORD)
        page.goto(server + "/")
        page.fill("#name", "duty")
        page.fill("#password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_selector("body[data-ready='1']", timeout=30000)
        page.wait_for_selector(f"#latest li[data-id='{case['id']}']", timeout=30000)
        page.click(f"#latest li[data-id='{case['id']}']")
        page.wait_for_selector(".leaflet-popup-content", timeout=30000)
        popup = page.inner_text(".leaflet-popup-content")
        assert PAYLOADS[0] in popup and PAYLOADS[2] in popup, popup  # drawn as text, not markup
        option = page.locator(f"option[value='grid:{code}']").inner_text()
        assert PAYLOADS[1] in option, option
        page.wait_for_timeout(500)
        assert page.evaluate("() => window.__xss") is None
        assert page.evaluate("() => window.__csp") == [], "escaping failed; only the CSP stopped it"
        assert not page.errors, page.errors
    finally:
        with sample_city.begin() as conn:
            conn.execute(text("UPDATE grids SET name = :n WHERE id = :i"), {"n": old_name, "i": grid_id})
