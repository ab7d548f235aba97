"""Every page passes the Nu HTML Checker (vnu.jar from npm, run with the system's Java)."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fixtures.registration import APPLICATION_FORM
from fixtures.site import DEMO_ADMIN, Site, html_pages
from fixtures.staff import staff_client

from conftest import _fail_or_skip, csrf_from

VNU_JAR = Path(__file__).parent / "tools/node_modules/vnu-jar/build/dist/vnu.jar"


@pytest.fixture(scope="module")
def rendered(site: Site, tmp_path_factory) -> dict[str, Path]:
    """Each page's HTML as the server sends it, plus the form with errors and the 404 page."""
    if not shutil.which("java") or not VNU_JAR.exists():
        _fail_or_skip(
            "needs java and `npm ci --prefix tests/tools` (make test does it)", "REQUIRE_BROWSER"
        )
    out = tmp_path_factory.mktemp("html")
    client = site.app.test_client()
    files = {}
    for i, path in enumerate(html_pages(site)):
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200, path
        files[path] = out / f"page{i}.html"
        files[path].write_bytes(response.data)
    event_id = site.samples["event_id"][0]
    email_url = f"/events/{event_id}/register"
    token = csrf_from(client.get(email_url).get_data(as_text=True))
    errors = client.post(email_url, data={"email": "not-an-address", "csrf_token": token})
    assert errors.status_code == 422
    files["address with errors"] = out / "email_errors.html"
    files["address with errors"].write_bytes(errors.data)
    form_url = site.paths_by_endpoint["registration.apply_form"][0]
    errors = client.post(form_url, data={**APPLICATION_FORM, "phone": "1", "csrf_token": token})
    assert errors.status_code == 422
    files["form with errors"] = out / "errors.html"
    files["form with errors"].write_bytes(errors.data)
    files["404"] = out / "404.html"
    files["404"].write_bytes(client.get("/no/such/page").data)
    admin = staff_client(site.app, *DEMO_ADMIN)
    for i, path in enumerate(html_pages(site, staff=True)):
        response = admin.get(path)
        assert response.status_code == 200, path
        files[path] = out / f"staff{i}.html"
        files[path].write_bytes(response.data)
    login_errors = site.app.test_client()
    token = csrf_from(login_errors.get("/staff/login").get_data(as_text=True))
    failed = login_errors.post(
        "/staff/login", data={"email": "x@example.jp", "password": "x", "csrf_token": token}
    )
    files["login failed"] = out / "login_failed.html"
    files["login failed"].write_bytes(failed.data)
    token = csrf_from(admin.get("/staff/events/new").get_data(as_text=True))
    invalid = admin.post("/staff/events/new", data={"csrf_token": token, "title": ""})
    assert invalid.status_code == 422
    files["event form with errors"] = out / "event_errors.html"
    files["event form with errors"].write_bytes(invalid.data)
    return files


def vnu_errors(files: list[Path]) -> list[dict]:
    """The checker's error messages for these files, in one JVM run."""
    result = subprocess.run(
        [
            "java",
            "-jar",
            str(VNU_JAR),
            "--errors-only",
            "--stdout",
            "--format",
            "json",
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return [m for m in json.loads(result.stdout)["messages"] if m["type"] == "error"]


def test_every_page_is_valid_html(rendered):
    by_file = {p.name: path for path, p in rendered.items()}
    problems = [
        f"{by_file[re.sub(r'^.*/', '', m['url'])]} line {m.get('lastLine')}: {m['message']}"
        for m in vnu_errors(list(rendered.values()))
    ]
    assert problems == []
    assert len(rendered) >= 10


def test_the_checker_itself_reports_an_error(rendered, tmp_path):
    """Guards the guard: a duplicate id must be reported."""
    broken = tmp_path / "broken.html"
    broken.write_text(
        '<!doctype html><html lang="ja"><head><title>x</title></head>'
        '<body><p id="a">1</p><p id="a">2</p></body></html>',
        encoding="utf-8",
    )
    assert any("Duplicate ID" in m["message"] for m in vnu_errors([broken]))
