"""The planner page's Auto plan panel in Chromium: run it with minimise disruption and follow
streets on a draft of the sample city, land on the new draft and see its report."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from mapapp.accounts.queries import add_user
from mapapp.grids import queries as gq
from tests.browser.conftest import PASSWORD, shot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def draft(sample_city):
    with sample_city.begin() as conn:
        add_user(conn, "autoplanner", "planner", PASSWORD)
        return gq.create_draft(conn, "auto panel draft")


def test_auto_panel_makes_and_opens_a_draft(page, server, draft, sample_city):
    page.goto(server + f"/plan/{draft}?lang=en")
    page.fill("#name", "autoplanner")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#plan-metrics tbody tr")
    page.click(".plan-auto summary")
    page.fill("#plan-auto-name", "panel auto")
    page.fill("#plan-auto-low", "600")  # above the top: the server's 400 names the field
    page.click("#plan-auto button")
    page.wait_for_function("() => document.querySelector('#plan-auto-report').textContent.includes('band:')")
    page.fill("#plan-auto-low", "300")
    page.check("#plan-auto-disruption")
    page.check("#plan-auto-streets")
    page.click("#plan-auto button")
    page.wait_for_url(lambda url: f"/plan/{draft}" not in url, timeout=120_000)
    page.wait_for_selector("#plan-auto-report div")
    report = page.locator("#plan-auto-report").text_content()
    assert "Grids" in report and "band violations" in report and "Households changing grid" in report
    with sample_city.connect() as conn:
        row = conn.execute(text("SELECT id, status, base_plan_id FROM grid_plans WHERE name = 'panel auto'")).one()
    assert row.status == "draft" and row.base_plan_id == draft and page.url.endswith(f"/plan/{row.id}?lang=en")
    assert page.locator("#plan-name").text_content() == "panel auto"
    page.wait_for_selector("#plan-metrics tbody tr")
    shot(page, "plan_auto_panel")
