"""Every route of the Flask URL map has a declared policy (mapapp/web/policy.py), and each route
really answers as that policy says: anonymous and roles outside the policy get 401/403 (or the
login redirect for pages), the roles inside it get through."""
from __future__ import annotations

from werkzeug.routing import IntegerConverter, PathConverter, Rule

from mapapp.web.policy import POLICY, ROLE_ORDER, Policy
from tests.web.conftest import login

STRING_SAMPLES = {"code": "910101001001001"}
HOW_TO_ADD = ("add it to POLICY in mapapp/web/policy.py in the same commit as the route, e.g.\n"
              '    "{endpoint}": VIEWER,                          # any logged-in role may read\n'
              '    "{endpoint}": PUBLIC,                          # aggregated, also in public read mode\n'
              '    "{endpoint}": _policy("dispatcher", write=True),  # a write needs a staff role\n'
              '    "{endpoint}": ANONYMOUS,                       # no login at all (rarely right)')
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _rules(app) -> list[Rule]:
    return sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))


def _url(app, rule: Rule) -> str:
    values = {}
    for name, conv in rule._converters.items():
        if isinstance(conv, IntegerConverter):
            values[name] = 1
        elif isinstance(conv, PathConverter):
            values[name] = "no-such-file.css"
        else:
            values[name] = STRING_SAMPLES.get(name, "x")
    return rule.build(values)[1]


def _methods(rule: Rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def _refused(resp, policy: Policy) -> bool:
    """401/403, or for a login-only route the redirect to the login page (an open route may
    answer 401 for a wrong password, never 403)."""
    if policy.anonymous:
        return resp.status_code == 403
    return resp.status_code in (401, 403) or (
        not policy.anonymous and resp.status_code == 302 and "/login" in resp.headers.get("Location", ""))


def test_every_route_has_a_policy(app):
    missing = [r for r in _rules(app) if r.endpoint not in POLICY]
    assert not missing, "\n\n".join(
        f"route {r.rule} {_methods(r)} (endpoint {r.endpoint!r}) has no route policy: "
        + HOW_TO_ADD.format(endpoint=r.endpoint) for r in missing)


def test_policy_names_no_vanished_endpoint(app):
    endpoints = {r.endpoint for r in _rules(app)}
    stale = sorted(set(POLICY) - endpoints)
    assert not stale, f"mapapp/web/policy.py names endpoints that no longer exist: {stale}; remove them"


def test_every_write_needs_a_staff_role(app):
    bad = []
    for rule in _rules(app):
        policy = POLICY.get(rule.endpoint)
        if policy is None:
            continue
        if policy.write and (policy.anonymous or "viewer" in policy.roles):
            bad.append(f"{rule.endpoint}: marked write but open to {policy.minimum}")
        if WRITE_METHODS & rule.methods and not policy.write and not policy.anonymous \
                and rule.endpoint != "api_patrols.patrol_candidates":
            bad.append(f"{rule.endpoint}: answers {sorted(WRITE_METHODS & rule.methods)} but is not "
                       "marked write=True; mark it, or add it beside patrol_candidates as a read-only POST")
        if policy.public and policy.write:
            bad.append(f"{rule.endpoint}: public read mode may not serve a write")
    assert not bad, "\n".join(bad)


def _expectations(policy: Policy) -> dict[str | None, bool]:
    """For anonymous (None) and each role: True when the policy lets it through."""
    return {None: policy.anonymous, **{role: policy.allows(role) for role in ROLE_ORDER}}


def test_each_route_answers_as_its_policy_says(app, role_clients):
    wrong: list[str] = []
    checked = 0
    # logging out ends the clients' sessions, so it goes last
    for rule in sorted(_rules(app), key=lambda r: r.endpoint == "auth.logout"):
        policy = POLICY.get(rule.endpoint)
        assert policy is not None, f"{rule.endpoint} has no policy (see test_every_route_has_a_policy)"
        url = _url(app, rule)
        for method in _methods(rule):
            for who, allowed in _expectations(policy).items():
                resp = role_clients[who].open(method, url)
                checked += 1
                label = f"{method} {url} ({rule.endpoint}, policy {policy.minimum}) as {who or 'anonymous'}"
                if "CSRF" in resp.get_data(as_text=True) and who is not None:
                    wrong.append(f"{label}: the test client's CSRF token was refused")
                elif resp.status_code >= 500:
                    wrong.append(f"{label}: {resp.status_code} server error")
                elif allowed and _refused(resp, policy):
                    wrong.append(f"{label}: refused with {resp.status_code} but the policy allows it; "
                                 "fix the view's decorator or the policy entry")
                elif not allowed and not _refused(resp, policy):
                    wrong.append(f"{label}: answered {resp.status_code}, expected 401/403 or the login "
                                 "redirect; the route lets in a role its policy does not")
    assert not wrong, "\n".join(wrong)
    assert checked >= 6 * len(POLICY)


def test_unlisted_endpoint_is_refused_to_everyone(app, city):
    """Fail closed: a route added without a policy entry answers 403 even to admin."""
    @app.route("/api/unlisted-for-test")
    def unlisted():
        return {"ok": True}

    for who in (None, "viewer", "admin"):
        c = app.test_client()
        if who:
            assert login(c, who).status_code == 302
        resp = c.get("/api/unlisted-for-test")
        assert resp.status_code == 403 and "policy.py" in resp.json["message"], who


def test_public_read_mode_serves_only_aggregated_layers(public_app, city):
    c = public_app.test_client()
    assert c.get("/api/grids").status_code == 200
    assert c.get("/api/kpi").status_code == 200
    for url in ("/api/incidents", "/api/incidents/1", "/api/incidents/latest",
                "/open311/v2/requests.json", "/tiles/incidents/version"):
        assert c.get(url).status_code == 401, url
    assert c.post("/api/incidents", json={}).status_code == 401
