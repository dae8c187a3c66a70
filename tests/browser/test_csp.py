"""The Content-Security-Policy in a real Chromium: the folium map runs with no violation, and
markup injected into the page cannot run script (inline handlers and nonce-less scripts are refused)."""
from __future__ import annotations

import pytest

from tests.browser.conftest import PASSWORD

pytestmark = pytest.mark.browser

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def test_map_runs_under_the_csp_and_injected_markup_does_not(page, server, sample_city):
    page.add_init_script(RECORD_VIOLATIONS)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(server + "/")
    page.fill("#name", "duty")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    page.wait_for_selector(".mapapp-map[data-incidents]", timeout=30000)
    assert page.evaluate("window.__csp") == [] and not console, (page.evaluate("window.__csp"), console)
    assert not page.errors, page.errors

    page.evaluate("""() => {
        const d = document.createElement('div');
        d.innerHTML = '<img src="/nothing.png" onerror="window.__ran = 1">';
        document.body.appendChild(d);
        const s = document.createElement('script');
        s.textContent = 'window.__ran = 2';
        document.body.appendChild(s);
    }""")
    # a function, not an expression string: the CSP (rightly) refuses to eval a string
    page.wait_for_function("() => window.__csp.length >= 2", timeout=10000)
    assert page.evaluate("window.__ran") is None
    assert all(v.startswith("script-src") for v in page.evaluate("window.__csp"))
