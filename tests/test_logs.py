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
