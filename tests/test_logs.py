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
