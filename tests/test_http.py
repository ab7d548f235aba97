"""What HTTP clients rely on (RFC 9110): every 405 carries `Allow`, every 401 carries
`WWW-Authenticate` — on pages and on the API, whichever code path answered."""

import pytest
from flask import Blueprint, abort

from hikisupport import create_app

APP = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
RULES = [r for r in APP.url_map.iter_rules() if r.endpoint != "static"]


# A value each URL converter accepts (a route's argument is named after its converter).
SAMPLES = {
    "id": "1",
    "token": "A" * 43,
    "apply_token": "A" * 40,
    "uuid": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "": "1",
}


def concrete(rule) -> str:
    import re

    def sample(match):
        return SAMPLES[match.group(1) or ""]

    return re.sub(r"<(?:([a-z_]+):)?[a-z_]+>", sample, rule.rule)


@pytest.mark.only_backend("sqlite")
@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.rule)
def test_every_405_says_which_methods_are_allowed(app, rule):
    path = concrete(rule)
    response = app.test_client().patch(path)  # no route takes PATCH
    assert response.status_code == 405, path
    allowed = {m.strip() for m in response.headers.get("Allow", "").split(",")}
    assert rule.methods <= allowed, (path, response.headers.get("Allow"))
    if path.startswith("/api/"):
        assert response.json["error"] == "method_not_allowed"


@pytest.mark.only_backend("sqlite")
def test_every_401_carries_a_challenge(app):
    """The API's own refusals, and any 401 raised anywhere else (a page, an error handler)."""
    probe = Blueprint("probe401", __name__)

    @probe.get("/staff/probe-401")
    def page_401():
        abort(401)

    @probe.get("/api/v1/probe-401")
    def api_401():
        abort(401)

    page_401.access = api_401.access = True  # outside the role matrix: a probe
    app.register_blueprint(probe)
    client = app.test_client()
    api_rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")]
    seen = 0
    for rule in api_rules:
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(concrete(rule), method=method, json={})
            if response.status_code == 401:
                seen += 1
                assert response.headers["WWW-Authenticate"].startswith("Bearer "), rule.rule
    assert seen >= 3
    page = client.get("/staff/probe-401")
    assert page.status_code == 401 and page.headers["WWW-Authenticate"].startswith("Session ")
    api = client.get("/api/v1/probe-401")
    assert api.status_code == 401 and api.headers["WWW-Authenticate"].startswith("Bearer ")
