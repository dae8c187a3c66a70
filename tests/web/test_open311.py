"""Open311 GeoReport v2 round trip on the taxonomy and the workflow."""
from __future__ import annotations


def test_services_are_the_subcategories(viewer):
    r = viewer.get("/open311/v2/services.json?lang=en")
    codes = {s["service_code"]: s for s in r.json}
    assert "public_order.theft" in codes and "public_order" not in codes
    assert codes["public_order.theft"]["service_name"] == "Theft" and codes["public_order.theft"]["group"] == "Public order"


def test_post_and_read_back(app, city):
    c = app.test_client()
    r = c.post("/open311/v2/requests.json", data={"api_key": city["token"], "service_code": "city_mgmt.sanitation",
                                                 "lat": "60.165", "long": "24.947", "description": "垃圾未清运"})
    assert r.status_code == 201, r.json
    rid = r.json[0]["service_request_id"]
    one = c.get(f"/open311/v2/requests/{rid}.json", headers={"Authorization": f"Bearer {city['token']}"}).json[0]
    assert one["status"] == "open" and one["service_code"] == "city_mgmt.sanitation"
    assert one["agency_responsible"] == "910101001001002" and one["description"] == "垃圾未清运"
    assert abs(one["lat"] - 60.165) < 1e-9 and abs(one["long"] - 24.947) < 1e-9
    listed = c.get(f"/open311/v2/requests.json?api_key={city['token']}&service_code=city_mgmt.sanitation").json
    assert rid in [x["service_request_id"] for x in listed]
    by_id = c.get(f"/open311/v2/requests.json?api_key={city['token']}&service_request_id={rid}").json
    assert [x["service_request_id"] for x in by_id] == [rid]
    closed = c.get(f"/open311/v2/requests.json?api_key={city['token']}&status=closed").json
    assert rid not in [x["service_request_id"] for x in closed]


def test_paging(app, city):
    c = app.test_client()
    key = city["token"]
    p1 = c.get(f"/open311/v2/requests.json?api_key={key}&page=1&page_size=2").json
    p2 = c.get(f"/open311/v2/requests.json?api_key={key}&page=2&page_size=2").json
    assert len(p1) == 2 and p1[0]["service_request_id"] != p2[0]["service_request_id"]


def test_errors_are_open311_lists(app, city):
    c = app.test_client()
    key = city["token"]
    r = c.post("/open311/v2/requests.json", data={"api_key": key, "service_code": "nope", "lat": "60.165", "long": "24.947"})
    assert r.status_code == 400 and "category" in r.json[0]["description"] and r.json[0]["code"] == 400
    r = c.post("/open311/v2/requests.json", data={"api_key": key, "service_code": "public_order", "lat": "60.165"})
    assert r.status_code == 400 and "long" in r.json[0]["description"]
    assert c.post("/open311/v2/requests.json", data={"service_code": "x"}).status_code == 401
    assert c.get(f"/open311/v2/requests.json?api_key={key}&status=maybe").status_code == 400
    assert c.get(f"/open311/v2/requests/999999.json?api_key={key}").status_code == 404
