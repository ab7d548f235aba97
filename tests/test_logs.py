"""Logs carry no personal tokens or query parameters."""

import logging

import sqlalchemy as sa

from hikisupport.core.extensions import db


def test_error_logs_carry_no_tokens_or_query_parameters(make_event, sign_up, app, caplog):
    assert db.engine.hide_parameters
    event = make_event()
    token = sign_up(event.id).headers["Location"].removeprefix("/r/")
    try:
        db.session.execute(sa.text("SELECT * FROM no_such_table WHERE token = :t"), {"t": token})
    except sa.exc.DatabaseError:
        with caplog.at_level(logging.ERROR):
            app.logger.exception("Exception on /r/%s [GET]", token)
    db.session.rollback()
    assert caplog.records
    for record in caplog.records:
        text = logging.Formatter().format(record)
        assert token not in text


def test_a_served_request_logs_no_personal_link(make_event, sign_up, live_server, caplog):
    """The access log line the server itself writes for /r/<token> has the token redacted."""
    import requests

    event = make_event()
    location = sign_up(event.id).headers["Location"]
    token = location.removeprefix("/r/")
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        for path in (location, location + "/calendar.ics", location + "?x=1"):
            assert requests.get(live_server + path, timeout=30).status_code == 200
    lines = [logging.Formatter().format(r) for r in caplog.records if r.name == "werkzeug"]
    assert len([line for line in lines if "/r/[redacted]" in line]) == 3, lines
    assert not [line for line in lines if token in line]


def test_an_unhandled_error_on_a_personal_page_logs_no_token(app, make_event, sign_up, caplog):
    """A real exception inside a served personal page: the traceback is logged, redacted."""
    event = make_event()
    location = sign_up(event.id).headers["Location"]
    token = location.removeprefix("/r/")

    def explode():
        raise RuntimeError(f"boom while rendering /r/{token}")

    app.jinja_env.globals["explode"] = explode
    app.jinja_env.globals["ticket_svg_data_uri"] = None
    from hikisupport.registration import views

    original = views.render_template
    views.render_template = lambda *a, **k: explode()
    try:
        with caplog.at_level(logging.ERROR):
            response = app.test_client().get(location)
    finally:
        views.render_template = original
    assert response.status_code == 500
    logged = [logging.Formatter().format(r) for r in caplog.records]
    assert any("boom while rendering /r/[redacted]" in text for text in logged), logged
    assert not any(token in text for text in logged)


def test_application_links_and_encoded_personal_links_are_redacted(
    app, make_event, sign_up, live_server, caplog
):
    """Issue 9 item 23: /events/<id>/apply/<token> is a credential too, and a personal link
    sent percent-encoded is still one."""
    import requests

    from hikisupport.core.logs import redact
    from hikisupport.registration.links import make_token

    event = make_event()
    token = sign_up(event.id).headers["Location"].removeprefix("/r/")
    with app.test_request_context():
        apply_token = make_token(event.id, "hanako@example.jp")
    encoded = "".join(f"%{ord(c):02X}" for c in token)
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        for path in (f"/events/{event.id}/apply/{apply_token}", f"/r/{encoded}"):
            requests.get(live_server + path, timeout=30)
    lines = [logging.Formatter().format(r) for r in caplog.records if r.name == "werkzeug"]
    assert len(lines) >= 2
    for line in lines:
        assert apply_token not in line and token not in line and encoded not in line
    assert redact(f"GET /events/{event.id}/apply/{apply_token}") == (
        f"GET /events/{event.id}/apply/[redacted]"
    )
