"""Security headers on every route, CSRF on every form, no asset from another host."""

import re
from urllib.parse import urlsplit

import pytest
from fixtures.site import DEMO_ADMIN, Site, html_pages
from fixtures.staff import staff_client
from playwright.sync_api import Page

from hikisupport.core.security import CSP

# What a page loads or sends to: src, form actions, <link href>. A plain <a href> to another
# site (the venue's map) loads nothing.
HOST_REFERENCE = re.compile(
    r"""(?:\bsrc|\baction|<link\b[^>]*\bhref)\s*=\s*["']?\s*(?:https?:)?//""", re.I
)
CSS_URL = re.compile(r"""url\(\s*["']?\s*(?:https?:)?//""", re.I)


def assert_security_headers(response, path):
    headers = response.headers
    assert headers["Content-Security-Policy"] == CSP, path
    assert headers["X-Content-Type-Options"] == "nosniff", path
    assert headers["Referrer-Policy"] == "same-origin", path
    assert headers["X-Frame-Options"] == "DENY", path
    assert "camera=()" in headers["Permissions-Policy"], path


def test_csp_allows_no_inline_script_and_no_other_host():
    directives = dict(d.split(" ", 1) for d in CSP.split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in CSP and "http" not in CSP and "*" not in CSP


def every_route_request(site: Site):
    """(method, path) for every rule and method in the URL map, with sample arguments."""
    for rule in site.app.url_map.iter_rules():
        if rule.endpoint == "static":
            yield "GET", "/static/css/app.css"
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for path in site.paths_for(rule):
                yield method, path


def test_every_route_sends_the_security_headers(site: Site):
    client = site.app.test_client()
    seen = 0
    for method, path in every_route_request(site):
        response = client.open(path, method=method, data={})
        response.close()
        assert response.status_code < 500, (method, path)
        assert_security_headers(response, f"{method} {path}")
        seen += 1
    assert_security_headers(client.get("/no/such/page"), "404")
    assert seen >= 15


def test_every_post_route_needs_a_csrf_token(site: Site):
    """Pages: refused before anything else. The API: a session needs the X-CSRFToken header
    (a bearer token needs none, as no other site can send it)."""
    admin = staff_client(site.app, *DEMO_ADMIN)
    posts = [(m, p) for m, p in every_route_request(site) if m == "POST"]
    assert posts
    for _method, path in posts:
        for client in (site.app.test_client(), admin):
            response = client.post(path, data={"anything": "x"})
            if path.startswith("/api/") and client is not admin:
                assert response.status_code == 401, path  # no session, no token: who is it?
                continue
            assert response.status_code == 400, path
            if not path.startswith("/api/"):
                assert "送信を受け付けられませんでした" in response.get_data(as_text=True)
            else:
                assert response.is_json and response.json["message"]


def test_hsts_only_in_production(site: Site, monkeypatch):
    from hikisupport import create_app

    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    import config

    prod = create_app(config.ProductionConfig)
    prod.config["SQLALCHEMY_DATABASE_URI"] = site.app.config["SQLALCHEMY_DATABASE_URI"]
    response = prod.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Strict-Transport-Security" not in site.app.test_client().get("/healthz").headers


def test_no_page_references_another_host_in_its_html(site: Site):
    client = site.app.test_client()
    for path in html_pages(site):
        html = client.get(path).get_data(as_text=True)
        assert not HOST_REFERENCE.search(html), path
    for css in ("/static/css/app.css", "/static/vendor/digital-go-jp-design-tokens/tokens.css"):
        response = client.get(css)
        assert not CSS_URL.search(response.get_data(as_text=True)), css
        response.close()


def test_no_page_loads_anything_from_another_host_in_the_browser(page: Page, site: Site):
    hosts, csp_errors = set(), []
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    page.on(
        "console",
        lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    for path in html_pages(site):
        page.goto(path)
    assert hosts == {urlsplit(site.url).netloc}
    assert csp_errors == []  # nothing on our pages needs what the CSP forbids


@pytest.mark.parametrize(
    "path",
    [
        "/events/0",
        "/events/99999999999",
        "/events/-1",
        "/r/%00%00%00%00%00%00%00%00%00%00%00%00",
        "/r/" + "a" * 5000,
        "/events/1/register/%FF",
        "/r/short",
    ],
)
def test_hostile_urls_are_404_not_500(site: Site, path):
    assert site.app.test_client().get(path).status_code == 404


def test_staff_pages_and_api_answers_are_not_cached(staff_world, login_as, client):
    from test_api import bearer

    admin = login_as(staff_world.admin)
    for path in ("/staff/events/", f"/staff/events/{staff_world.event.id}/registrations"):
        assert admin.get(path).headers["Cache-Control"] == "no-store"
    api = client.get(
        f"/api/v1/events/{staff_world.event.id}/registrations",
        headers=bearer(staff_world.organizer),
    )
    assert api.headers["Cache-Control"] == "no-store"
