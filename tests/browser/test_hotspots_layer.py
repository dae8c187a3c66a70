"""The hot spot layer on the command-center map: turned on, it draws cells coloured by bin with
a legend, and follows the period filter."""
from __future__ import annotations

import pytest

from tests.browser.conftest import shot
from tests.browser.test_command_center import login

pytestmark = pytest.mark.browser

FILLS = """() => { const l = window.mapappHotspots.layer(); const out = {};
                   l.eachLayer(x => { out[x.options.fillColor] = (out[x.options.fillColor] || 0) + 1; });
                   return out; }"""


def test_hotspot_layer_draws_coloured_cells(page, server, sample_city):
    login(page, server)
    assert page.is_hidden("#hotspot-legend")
    page.check("#hotspot-toggle")
    page.wait_for_selector("body[data-hotspots]", timeout=60000)
    drawn = page.get_attribute("body", "data-hotspots")
    assert drawn not in ("error", "0"), page.text_content("#hotspot-status")
    fills = page.evaluate(FILLS)
    assert fills.get("#b2182b", 0) > 0  # 99 % hot spots: the sample city plants some
    assert sum(fills.values()) == int(drawn)
    assert page.is_visible("#hotspot-legend")
    assert "FDR" in page.text_content("#hotspot-status")
    shot(page, "hotspots")
    page.select_option("#period", "all")
    assert "since=30d" in page.get_attribute("body", "data-hotspots-query")
    page.select_option("#period", "all")
    page.wait_for_function("() => document.body.dataset.hotspots && document.body.dataset.hotspots !== 'error'"
                           " && !document.body.dataset.hotspotsQuery.includes('since')", timeout=60000)
    assert page.evaluate(FILLS).get("#b2182b", 0) > 0
    assert not page.errors


def test_cluster_and_heat_layers_draw_with_bandwidth(page, server, sample_city):
    login(page, server)
    page.select_option("#period", "all")
    page.check("#clusters-toggle")
    page.wait_for_selector("body[data-clusters]", timeout=60000)
    n = int(page.get_attribute("body", "data-clusters"))
    assert n > 0
    assert page.evaluate("() => window.mapappHotspots.extra('clusters').getLayers().length") == n
    page.check("#heat-toggle")
    page.wait_for_selector("body[data-heat]", timeout=60000)
    assert float(page.get_attribute("body", "data-heat")) > 0
    note = page.text_content("#hotspot-extra")
    assert "米" in note and str(round(float(page.get_attribute("body", "data-heat")))) in note
    assert page.evaluate("() => !!window.mapappHotspots.extra('heat')._image")
    shot(page, "hotspots-clusters-heat")
    page.uncheck("#clusters-toggle")
    assert page.evaluate("() => window.mapappHotspots.extra('clusters')") is None
    assert not page.errors


def test_permutation_p_values_state_the_fdr_caveat(page, server, sample_city):
    login(page, server)
    page.select_option("#period", "all")
    page.check("#hotspot-toggle")
    page.wait_for_selector("body[data-hotspots]", timeout=60000)
    assert "1/1000" not in page.text_content("#hotspot-status")
    page.select_option("#hotspot-pvalues", "999")
    page.wait_for_function("() => (document.body.dataset.hotspotsQuery || '').includes('permutations=999')"
                           " && document.body.dataset.hotspots && document.body.dataset.hotspots !== 'error'",
                           timeout=120000)
    assert "1/1000" in page.text_content("#hotspot-status") and "FDR" in page.text_content("#hotspot-status")
    assert not page.errors
