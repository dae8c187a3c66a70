"""The backtest page in Chromium: reached from the navigation, it shows the scores table and the
hit-rate curve of every method (inline SVG), in Chinese by default and English with ?lang=en."""
from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from tests.browser.conftest import shot
from tests.browser.test_command_center import login

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def recent_thefts(sample_city):
    """Sixteen weeks of thefts up to today around central Helsinki, so the default periods
    (12 weeks of training, the last 4 tested) hold incidents."""
    rng = np.random.default_rng(5)
    rows = [{"x": float(x), "y": float(y), "d": int(d)} for x, y, d in zip(
        rng.normal(24.94, 0.01, 800), rng.normal(60.17, 0.005, 800), rng.integers(0, 110, 800))]
    with sample_city.begin() as conn:
        conn.execute(text("INSERT INTO incidents (category, reported_at, geom) VALUES "
                          "('public_order.theft', now() - make_interval(days => :d), "
                          "ST_SetSRID(ST_MakePoint(:x, :y), 4326))"), rows)
    return sample_city


def test_backtest_page_draws_table_and_curve(page, server, recent_thefts):
    login(page, server)
    page.click("#nav-backtest")
    page.wait_for_selector("#backtest-table", timeout=120000)
    assert page.text_content("h1") == "热点方法回测"
    rows = page.query_selector_all("#backtest-table tbody tr")
    assert [r.get_attribute("data-method") for r in rows] == ["gistar", "kde", "naive", "prospective"]
    cells = page.query_selector_all("#backtest-table tbody tr[data-method=gistar] td")
    assert len(cells) == 1 + 4 * 3 and cells[1].text_content().endswith("%")
    assert page.is_visible("#backtest-curve")
    lines = page.eval_on_selector_all("#backtest-curve polyline.curve",
                                      "ls => ls.map(l => l.points.numberOfItems)")
    assert len(lines) == 4 and min(lines) > 10
    shot(page, "hotspots-backtest")
    page.goto(page.url + ("&" if "?" in page.url else "?") + "lang=en")
    page.wait_for_selector("#backtest-table")
    assert page.text_content("h1") == "Hot spot methods backtested"
    assert "Prospective hot spotting" in page.text_content("#backtest-curve")
    assert not page.errors
