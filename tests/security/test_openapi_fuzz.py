"""/api/openapi.json describes every JSON route, and schemathesis, generating requests from it,
gets no 5xx from any operation (bounded: few examples per operation, fixed seed, time cap)."""
from __future__ import annotations

import time

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from sqlalchemy import text

from mapapp.accounts.queries import create_token

EXAMPLES_PER_OPERATION = 8
TIME_CAP_SECONDS = 50.0
FUZZ = settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


def test_openapi_lists_every_json_route_with_its_roles(app, city):
    spec = app.test_client().get("/api/openapi.json").json
    assert spec["openapi"].startswith("3.")
    routes = {(r.rule, m) for r in app.url_map.iter_rules() if r.rule.startswith(("/api/", "/open311/"))
              and r.endpoint != "openapi.spec" for m in r.methods - {"HEAD", "OPTIONS"}}
    described = {(p, m.upper()) for p, ops in spec["paths"].items() for m in ops}
    assert len(described) == len(routes) > 40
    op = spec["paths"]["/api/incidents"]["post"]
    assert op["x-roles"] == ["admin", "dispatcher"] and "lon" in \
        op["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert spec["paths"]["/api/incidents/{incident_id}"]["get"]["parameters"][0]["schema"]["type"] == "integer"


def test_schemathesis_finds_no_server_error(app, city, db):
    with db.begin() as conn:
        token = create_token(conn, "admin", "schemathesis")
        conn.execute(text("SELECT setval('grid_plans_id_seq', 100)"))  # the city's plans have fixed ids
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    started, examples, failures, operations = time.monotonic(), [0], [], 0

    for result in schema.get_all_operations():
        operation = result.ok()
        if time.monotonic() - started > TIME_CAP_SECONDS:
            break
        operations += 1

        @FUZZ
        @given(case=operation.as_strategy())
        def fuzz(case):
            examples[0] += 1
            label = f"{case.method} {case.formatted_path} {case.query} {case.body!r}"
            try:
                response = case.call(headers=headers)
            except Exception as exc:  # noqa: BLE001 - the app raised instead of answering
                failures.append(f"{label}: raised {exc!r}"[:400])
                return
            if response.status_code >= 500:
                failures.append(f"{label}: {response.status_code} {response.text[:200]}")

        fuzz()
    print(f"schemathesis: {examples[0]} requests over {operations} operations in "
          f"{time.monotonic() - started:.1f} s")
    assert not failures, "\n".join(failures)
    assert operations > 40 and examples[0] >= operations
    assert not_a_server_error  # the check schemathesis would apply; we collect failures ourselves
