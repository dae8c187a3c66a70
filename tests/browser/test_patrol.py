"""The patrol page in Chromium: a patrol lead plans a shift and sees the route drawn."""
from __future__ import annotations

import pytest

from mapapp.accounts.queries import add_user
from tests.browser.conftest import PASSWORD, shot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def patrol_lead(sample_city):
    with sample_city.begin() as conn:
        add_user(conn, "lead", "patrol_lead", PASSWORD)
    return "lead"


def _login(page, server, name, target):
    page.goto(server + target)
    assert "/login" in page.url
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url("**/patrol**")


def test_lead_plans_a_patrol_and_sees_the_route(page, server, patrol_lead):
    _login(page, server, patrol_lead, "/patrol?lang=en")
    assert page.inner_text("h1") == "Patrol routes" and page.locator("#nav-patrol").count() == 1
    page.fill("#patrol-teams", "2")
    page.fill("#patrol-shift", "120")
    page.click("#patrol-candidates")
    page.wait_for_selector("path.patrol-candidate", timeout=30000)
    assert page.locator("path.patrol-candidate").count() > 5
    page.click("#patrol-plan")
    page.wait_for_selector("path.patrol-route", timeout=60000)
    assert page.locator("path.patrol-route").count() == 2
    assert page.locator(".patrol-arrow").count() > 0
    rows = page.locator("tr.patrol-stop-row")
    assert rows.count() >= 4
    assert "stops, value" in page.inner_text("#patrol-summary")
    gpx = page.get_attribute("#patrol-export-gpx", "href")
    assert gpx.endswith(".gpx")
    page.click("#patrol-reach")
    page.wait_for_selector("path.patrol-reach", timeout=30000)
    shot(page, "patrol")
    assert not page.errors


def test_patrol_page_needs_the_patrol_lead_role(page, server, sample_city):
    page.goto(server + "/patrol")
    page.fill("#name", "duty")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_load_state()
    assert "patrol_lead" in page.content() and not page.locator("#patrol-map").count()
