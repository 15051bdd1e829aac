"""Authorization matrix: every rule in `app.url_map` x {anonymous, learner, staff, manager of a department,
admin, admin's API token}.

The expectations live in one table, tests/web/access_rules.py (`RULES`: endpoint -> level, or
{method: level}). Adding a route? Add its endpoint to `RULES` with the level that says who may open it
("public", "login", "staff", "admin", "api-login", "api-staff", "api-admin", ...; see the module
docstring there). An endpoint without an entry fails `test_every_endpoint_has_an_access_rule`.

Refused roles must get: anonymous browser -> 302 to the login page; anonymous API / JSON -> 401;
a logged-in role without the right -> 403. Allowed roles must not be refused: not 401/403, not
redirected to the login page, not a CSRF failure, not a 500 (404/405/400/422 are fine: the ids and
bodies are dummies). Each method the rule allows is tried; POSTs from browser sessions carry the
CSRF token, token requests carry none.
"""

from __future__ import annotations

import pytest

from tests.web.access_rules import (
    DUMMY_OVERRIDES,
    DUMMY_VALUES,
    ENDS_SESSION,
    LEVELS,
    RULES,
    level_for,
)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CSRF_FAILURE = "The form expired or came from another site"


def _methods(rule) -> list[str]:
    return [m for m in METHODS if m in rule.methods]


def _build_url(app, rule) -> str:
    values = {}
    for name, converter in rule._converters.items():
        kind = type(converter).__name__
        if (rule.endpoint, name) in DUMMY_OVERRIDES:
            values[name] = DUMMY_OVERRIDES[(rule.endpoint, name)]
        elif kind == "AnyConverter":
            values[name] = next(iter(converter.items)) if hasattr(converter, "items") else \
                converter.regex.split("|")[0].strip("(?:)")
        else:
            assert kind in DUMMY_VALUES, f"add a dummy value for {kind} in access_rules.DUMMY_VALUES"
            values[name] = DUMMY_VALUES[kind]
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def test_every_endpoint_has_an_access_rule(app):
    missing = sorted({r.endpoint for r in app.url_map.iter_rules()} - set(RULES))
    assert not missing, (
        f"These endpoints have no access rule: {missing}. Add each to RULES in "
        "tests/web/access_rules.py with the level saying who may open it (see its docstring)."
    )
    unknown_levels = {e: v for e, v in RULES.items()
                      for lvl in (v.values() if isinstance(v, dict) else [v]) if lvl not in LEVELS}
    assert not unknown_levels, f"unknown levels in access_rules.RULES: {unknown_levels}"
    for rule in app.url_map.iter_rules():
        entry = RULES[rule.endpoint]
        if isinstance(entry, dict):
            untested = [m for m in _methods(rule) if m not in entry]
            assert not untested, f"{rule.endpoint}: add a level for {untested} in access_rules.RULES"


@pytest.fixture
def role_clients(app, login_as, make_user, admin, admin_token, anon_client):
    clients = {"anonymous": anon_client, "admin": login_as(admin),
               "learner": login_as(make_user("learner")), "staff": login_as(make_user("staff")),
               "manager": login_as(_manager_of_a(make_user, admin))}

    def fresh(role):
        if role == "anonymous":
            return clients["anonymous"]
        # A user of its own: logout ends every session of that user, so not the shared admin's.
        return login_as(_manager_of_a(make_user, admin) if role == "manager" else make_user(role))

    return clients, admin_token, fresh


def _manager_of_a(make_user, admin):
    """A manager of department "A" (with one learner in it), as the "manager" column."""
    from app.extensions import db
    from app.services.accounts import departments

    manager = make_user("manager", department="A")
    make_user("learner", department="A")
    departments.set_managers(departments.by_name("A"), [*departments.by_name("A").managers, manager],
                             actor=admin)
    db.session.commit()
    return manager


def _request(client, method: str, url: str, *, token: str | None = None):
    headers = {}
    kwargs = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    elif method != "GET":
        headers["X-CSRFToken"] = client.csrf_token
    if method != "GET":
        if url.startswith("/api/"):
            kwargs["json"] = {}
        else:
            kwargs["data"] = {} if token else {"csrf_token": client.csrf_token}
    response = client.open(url, method=method, headers=headers, **kwargs)
    if response.mimetype != "text/event-stream":  # a live stream never ends: closing it is enough
        response.get_data()  # drain streamed bodies (CSV exports) inside this request's context
    response.close()
    return response


def _verdict(response, expected) -> str | None:
    """None when the response matches the expectation, else what went wrong."""
    status = response.status_code
    location = response.headers.get("Location", "")
    # login_required always sends the page asked for as ?next=; a plain /login redirect (logout) is fine.
    to_login = status in (301, 302, 303) and "/login?next=" in location
    if status >= 500 and status != 503:  # 503: /healthz with no worker is an answer, not a crash
        return f"server error {status}"
    if expected == "ok":
        if status in (401, 403) or to_login:
            return f"refused ({status} {location})"
        if status == 400 and CSRF_FAILURE in response.get_data(as_text=True):
            return "CSRF failure although the token was sent"
        return None
    if expected == "login":
        return None if to_login else f"expected a redirect to the login page, got {status} {location}"
    return None if status == expected else f"expected {expected}, got {status} {location}"


def test_authorization_matrix(app, role_clients):
    clients, token, fresh = role_clients
    # The token client is a separate, cookie-less client: the Authorization header is its only credential.
    token_client = app.test_client()
    token_client.csrf_token = ""
    failures = []
    checked = 0
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        url = _build_url(app, rule)
        for method in _methods(rule):
            expectations = LEVELS[level_for(rule.endpoint, method)]
            for role, expected in expectations.items():
                if role == "token":
                    response = _request(token_client, method, url, token=token)
                else:
                    client = fresh(role) if rule.endpoint in ENDS_SESSION else clients[role]
                    response = _request(client, method, url)
                checked += 1
                problem = _verdict(response, expected)
                if problem:
                    failures.append(f"{method} {url} [{rule.endpoint}] as {role}: {problem}")
    assert checked > 50
    assert not failures, "authorization mismatches:\n" + "\n".join(failures)


def test_logout_ends_the_session(login_as, learner):
    client = login_as(learner)
    assert client.get("/profile").status_code == 200
    response = client.post("/logout", data={"csrf_token": client.csrf_token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    after = client.get("/profile")
    assert after.status_code == 302 and "/login" in after.headers["Location"]


def test_logout_needs_post_and_csrf(login_as, learner):
    client = login_as(learner)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token: a cross-site logout is refused
    assert client.get("/profile").status_code == 200


def test_anonymous_json_clients_get_401_problem(client):
    response = client.get("/admin/users", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 401
