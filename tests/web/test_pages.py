"""The command-center page: folium map, local assets only, escaped user text, languages."""
from __future__ import annotations

import re

from tests.web.conftest import login


def test_map_page_renders_layers_from_local_assets(viewer):
    r = viewer.get("/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "L.map(" in html and "mapapp.start(" in html
    srcs = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert srcs and not [s for s in srcs if s.startswith(("http:", "https:", "//"))]
    assert "910101001001001" in html  # grid layer
    assert "网格" in html  # Chinese by default


def test_user_text_is_escaped_on_the_page(viewer):
    html = viewer.get("/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x onerror" not in html
    assert "Test Community <b>" not in html


def test_static_assets_are_served(viewer):
    for path in ("/static/js/command_center.js", "/static/css/mapapp.css"):
        assert viewer.get(path).status_code == 200


def test_english_on_request_and_remembered(app, city):
    c = app.test_client()
    login(c, "viewer")
    html = c.get("/?lang=en").get_data(as_text=True)
    assert "Command-center map" in html and 'lang="en"' in html
    html = c.get("/").get_data(as_text=True)
    assert 'lang="en"' in html
    html = c.get("/?lang=zh").get_data(as_text=True)
    assert 'lang="zh-CN"' in html


def test_login_page_in_both_languages(app, city):
    c = app.test_client()
    assert "登录" in c.get("/login").get_data(as_text=True)
    assert "Log in" in c.get("/login?lang=en").get_data(as_text=True)


def test_open_redirect_refused(app, city):
    c = app.test_client()
    c.get("/login")
    with c.session_transaction() as sess:
        csrf = sess["csrf"]
    r = c.post("/login?next=https://evil.example/", data={"name": "viewer",
               "password": "correct horse battery", "csrf_token": csrf})
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_tile_server_replaces_the_drawn_base_map(engine, city, tmp_path):
    from mapapp import create_app
    from mapapp.settings import Settings

    url = engine.url.render_as_string(hide_password=False)
    app = create_app(Settings(database_url=url, home=tmp_path, tiles="http://tiles.intranet/{z}/{x}/{y}.png",
                              tiles_attribution="Intranet tiles"))
    c = app.test_client()
    login(c, "viewer")
    html = c.get("/").get_data(as_text=True)
    assert "http://tiles.intranet/{z}/{x}/{y}.png" in html and "Intranet tiles" in html
    assert '"basemap": null' in html


def test_public_read_mode_shows_the_map_without_login(public_app, city):
    r = public_app.test_client().get("/")
    assert r.status_code == 200 and "L.map(" in r.get_data(as_text=True)


def test_map_offers_status_and_area_filters_with_names_escaped(viewer):
    html = viewer.get("/").get_data(as_text=True)
    assert '<select id="status-filter">' in html and '<option value="open">' in html
    assert '<option value="closed">' in html and '<option value="voided">' in html
    assert '<option value="community:910101001001">Test Community &lt;b&gt;</option>' in html
    assert 'value="grid:910101001001001"' in html and "West &lt;script&gt;" in html
    assert "West <script>" not in html
