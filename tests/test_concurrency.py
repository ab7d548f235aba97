"""Capacity under simultaneous sign-ups: a live threaded server, real sockets, real CSRF, each
resident through their own mailed link (step 2)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from conftest import CSRF_INPUT
from hikisupport.core.extensions import db
from hikisupport.models import OutboxMessage, Person, Registration
from hikisupport.registration.links import make_token

CLIENTS = 200
SEATS = 50


@pytest.fixture
def app_overrides():
    """200 POSTs at once on one threaded test server queue at SQLite's write lock for several
    seconds (gunicorn's few workers never hold that many at once); this test is about capacity,
    so it waits as long as gunicorn would. The busy timeout itself: tests/test_busy.py."""
    return {"SQLITE_BUSY_TIMEOUT_MS": 30_000}


def link_for(app, event_id: int, email: str) -> str:
    with app.test_request_context():
        return f"/events/{event_id}/apply/{make_token(event_id, email)}"


def form(i: int, **fields) -> dict:
    return {
        "family_name": "杉並",
        "given_name": f"太郎{i}",
        "family_name_kana": "スギナミ",
        "given_name_kana": "タロウ",
        "phone": "0333122111",
        "residency": "live",
        "age_group": "40s",
        "consent": "y",
        **fields,
    }


def test_200_simultaneous_step_2_submissions_for_50_seats(app, live_server, make_event):
    event = make_event(capacity=SEATS, waitlist=True)
    links = [link_for(app, event.id, f"resident{i}@example.jp") for i in range(CLIENTS)]
    start = threading.Barrier(CLIENTS, timeout=60)

    def resident(i: int):
        with requests.Session() as http:
            url = live_server + links[i]
            page = http.get(url, timeout=60)
            token = CSRF_INPUT.search(page.text).group(1)
            start.wait()  # every POST leaves at the same moment
            response = http.post(
                url, data={"csrf_token": token, **form(i)}, allow_redirects=False, timeout=120
            )
            return response.status_code, response.headers.get("Location", "")

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        answers = list(pool.map(resident, range(CLIENTS), timeout=300))

    assert [status for status, _ in answers] == [303] * CLIENTS
    assert all(location.startswith("/r/") for _, location in answers)

    db.session.rollback()  # end this thread's snapshot; see what the server committed
    rows = db.session.execute(
        sa.select(Registration.status, Registration.waitlist_position).where(
            Registration.event_id == event.id
        )
    ).all()
    assert len(rows) == CLIENTS  # no sign-up lost
    confirmed = [r for r in rows if r.status == "confirmed"]
    positions = sorted(r.waitlist_position for r in rows if r.status == "waitlisted")
    assert len(confirmed) == SEATS  # never oversold
    assert positions == list(range(1, CLIENTS - SEATS + 1))  # 1…150, no gap, no repeat
    mails = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
    assert mails == CLIENTS  # one mail per sign-up, written with it


def test_same_address_and_name_for_six_events_and_twice_for_one_at_once(
    app, live_server, make_event
):
    """Each sign-up locks only its own event; the person row must still be created once, and
    the same person sending the same form twice at once gets one registration."""
    events = [make_event(title=f"講座{i}") for i in range(6)]
    targets = [e.id for e in events] + [events[0].id]
    db.session.commit()
    barrier = threading.Barrier(len(targets), timeout=60)
    answers = []

    def sign(event_id):
        with requests.Session() as http:
            url = live_server + link_for(app, event_id, "same@example.jp")
            token = CSRF_INPUT.search(http.get(url, timeout=30).text).group(1)
            barrier.wait()
            response = http.post(
                url,
                allow_redirects=False,
                timeout=60,
                data={"csrf_token": token, **form(0, given_name="花子", given_name_kana="ハナコ")},
            )
            answers.append((event_id, response.status_code, response.headers.get("Location")))

    threads = [threading.Thread(target=sign, args=(i,)) for i in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert [status for _, status, _ in answers] == [303] * len(targets)
    twice = {location for event_id, _, location in answers if event_id == events[0].id}
    assert len(twice) == 1  # both reached the one registration's page
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == len(events)
