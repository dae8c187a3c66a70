"""Personal data never reaches a viewer's browser: phone, ID numbers and e-mails in incident text
are masked, staff names in the history are withheld; dispatchers see everything."""
from __future__ import annotations

TEXT = "张先生 13812345678 报称门口积水, 身份证 11010119900307123X, 邮箱 zhang.san@example.com"
SECRETS = ("13812345678", "19900307", "zhang.san@")


def _filed(app, city):
    c = app.test_client()
    headers = {"Authorization": f"Bearer {city['token']}"}  # the dispatcher's token
    r = c.post("/api/incidents", json={"category": "city_mgmt.sanitation", "lon": 24.9471, "lat": 60.1651,
                                       "description": TEXT}, headers=headers)
    assert r.status_code == 201, r.json
    case = r.json["id"]
    r = c.post(f"/api/incidents/{case}/transitions", json={"action": "register", "note": "回电 13987654321"},
               headers=headers)
    assert r.status_code == 200, r.json
    return case


def _bodies(client, case: int) -> list[str]:
    return [client.get(path).get_data(as_text=True) for path in (
        f"/api/incidents/{case}", "/api/incidents?limit=1000", "/api/incidents/latest",
        f"/open311/v2/requests/{case}.json", "/open311/v2/requests.json")]


def test_viewer_gets_masked_text_and_no_staff_names(app, city, viewer):
    case = _filed(app, city)
    for body in _bodies(viewer, case):
        assert str(case) in body
        assert not any(s in body for s in SECRETS + ("13987654321",)), body[:300]
    got = viewer.get(f"/api/incidents/{case}").json
    assert "138****5678" in got["description"] and "z***@example.com" in got["description"]
    assert got["history"][1]["note"] == "回电 139****4321"
    assert all(step["actor"] is None for step in got["history"])


def test_dispatcher_sees_the_full_text_and_who_acted(app, city, dispatcher):
    case = _filed(app, city)
    for body in _bodies(dispatcher, case):
        assert "13812345678" in body
    got = dispatcher.get(f"/api/incidents/{case}").json
    assert got["description"] == TEXT and got["history"][1]["note"] == "回电 13987654321"
    assert got["history"][0]["actor"] == "dispatcher"
