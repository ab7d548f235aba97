"""The batch form of the check-in API (a tablet's offline queue): each item answered exactly as
the single check-in answers it, the completion rule run once for the batch and certifying each
person once, a refusal of the rule confined to its item, overlapping batches from many tablets
at once (live server, both databases), and the batch's cost not growing with its size in SQL
statements."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
import requests
import sqlalchemy as sa
from fixtures.checkin import bearer, new_uuid, now_iso
from fixtures.supporters import certifications

from hikisupport.core.errors import DomainError
from hikisupport.core.extensions import db
from hikisupport.models import Attendance, AuditLog, OutboxMessage, Person
from hikisupport.supporters import completion


def rows_of(event) -> list[Attendance]:
    db.session.rollback()  # see what the server committed
    sessions = [s.id for s in event.sessions]
    return list(
        db.session.scalars(
            sa.select(Attendance)
            .where(Attendance.session_id.in_(sessions))
            .order_by(Attendance.registration_id, Attendance.session_id)
        )
    )


def batch(client, token: str, items: list[dict]):
    return client.post("/api/v1/checkins/batch", json={"checkins": items}, headers=bearer(token))


# ---------------------------------------------------------------------------------------------
# Every kind of item, answered as the single check-in answers it


class Hall:
    """A course held today (two sessions) with six confirmed people, one of them cancelled
    since, and its own tablet. Two halls are built alike: one takes the queue one check-in
    at a time, the other as one batch."""

    def __init__(self, title, make_today_event, make_device, enrol, foreign_ticket):
        from hikisupport.registration.services import cancel

        self.event = make_today_event(sessions=2, capacity=10, title=title)
        self.people = [enrol(self.event) for _ in range(6)]
        cancel(self.people[5])
        db.session.commit()
        self.device_name = f"受付 {title}"
        _, self.token = make_device(self.event, name=self.device_name)
        self.foreign_ticket = foreign_ticket

    def ticket(self, who) -> str:
        if who == "unknown":
            return "ZZZZZZZZZZ"
        if who == "foreign":
            return self.foreign_ticket
        return self.people[who].ticket

    def body(self, who, uid: str, session: int = 0, scanned_at: str | None = None) -> dict:
        session_id = self.event.sessions[session].id if session >= 0 else 2**31 - 1
        return {
            "id": uid,
            "ticket": self.ticket(who),
            "session_id": session_id,
            "scanned_at": scanned_at or now_iso(),
            "method": "qr",
        }

    def single(self, client, body: dict):
        return client.post("/api/v1/checkins", json=body, headers=bearer(self.token))

    def normalised(self, answer: dict, http_status: int, sent: dict) -> tuple:
        """An answer with this hall's own tickets, ids and times replaced by what they are."""
        if "error" in answer:
            return (http_status, answer["error"])
        own = answer["id"] == sent["id"]  # this item's UUID, or the first check-in's
        ticket = answer["ticket"]
        who = next(i for i, p in enumerate(self.people) if p.ticket == ticket)
        session = [s.id for s in self.event.sessions].index(answer["session_id"])
        (row,) = [
            r
            for r in rows_of(self.event)
            if r.registration_id == self.people[who].id and r.session_id == answer["session_id"]
        ]
        recorded = datetime.fromisoformat(answer["checked_in_at"]) == row.checked_in_at
        return (
            http_status,
            answer["status"],
            who,
            session,
            answer["method"],
            answer["device"]["name"] == self.device_name,
            answer["late"],
            answer["undone_at"] is None,
            own,
            answer["id"] == row.client_uuid,
            recorded,
        )

    def state(self) -> list[tuple]:
        ids = [p.id for p in self.people]
        sessions = [s.id for s in self.event.sessions]
        return [
            (ids.index(r.registration_id), sessions.index(r.session_id), r.undone_at is None)
            for r in rows_of(self.event)
        ]


def test_a_batch_answers_every_item_as_single_check_ins_would(
    client, make_today_event, make_device, enrol, make_event
):
    foreign = enrol(make_event(title="別の講座"))
    halls = [
        Hall(title, make_today_event, make_device, enrol, foreign.ticket)
        for title in ("一つずつ", "まとめて")
    ]
    # Before the queue: person 0 checked in (UUID kept), person 1 checked in and undone.
    uuids = {}
    for hall in halls:
        uuids[hall] = {label: new_uuid() for label in ("kept", "reused", "same", "twice")}
        assert hall.single(client, hall.body(0, uuids[hall]["kept"])).status_code == 201
        undone = new_uuid()
        assert hall.single(client, hall.body(1, undone)).status_code == 201
        assert (
            client.delete(f"/api/v1/checkins/{undone}", headers=bearer(hall.token)).status_code
            == 200
        )
    # Each item's UUID by label (each hall has its own UUIDs; None: a new one).
    queue = [
        # (who, UUID label, session)
        (2, "reused", 0),  # a first check-in
        (0, None, 0),  # someone already in: the first time and device
        (0, "kept", 0),  # the check-in made before, sent again: the same answer
        (1, None, 0),  # undone before, in again: the same row anew
        (3, "same", 0),  # a first check-in ...
        (3, "same", 0),  # ... and the same item again (a retried queue)
        (4, None, 0),  # a first check-in ...
        (4, None, 0),  # ... and a second scan of the same person in the same queue
        ("unknown", None, 0),  # no such ticket: 404
        (5, None, 0),  # a cancelled registration: 409
        ("foreign", None, 0),  # a ticket of another event: 409
        (3, "reused", 0),  # a UUID used above for someone else: 409
        (2, "twice", 1),  # the same person at the second session: a row of its own
        (0, None, -1),  # a session that does not exist: 404
        (2, "twice", 1),  # the second-session check-in again
        (4, "kept", 1),  # the UUID of the check-in made before, for someone new: 409
        ("unknown", "kept", 0),  # the same UUID with an unknown ticket: 409 (the UUID decides)
    ]
    answers = {}
    for hall in halls:
        bodies = [
            hall.body(who, uuids[hall][label] if label else new_uuid(), session)
            for who, label, session in queue
        ]
        if hall is halls[0]:
            responses = [hall.single(client, body) for body in bodies]
            answers[hall] = [
                hall.normalised(r.json, r.status_code, b)
                for r, b in zip(responses, bodies, strict=True)
            ]
        else:
            response = batch(client, hall.token, bodies)
            assert response.status_code == 200, response.json
            results = response.json["results"]
            # A refusal in a batch names its item (the single form answers that item alone).
            assert all(
                r["id"] == b["id"] for r, b in zip(results, bodies, strict=True) if "error" in r
            )
            answers[hall] = [
                hall.normalised(r, r["http_status"], b)
                for r, b in zip(results, bodies, strict=True)
            ]
    one_by_one, together = answers[halls[0]], answers[halls[1]]
    assert together == one_by_one
    # What the single check-ins answered, so that the comparison cannot pass on nothing:
    assert [a[:2] for a in one_by_one] == [
        (201, "checked_in"),
        (200, "already_checked_in"),
        (201, "checked_in"),
        (201, "checked_in"),
        (201, "checked_in"),
        (201, "checked_in"),
        (201, "checked_in"),
        (200, "already_checked_in"),
        (404, "unknown_ticket"),
        (409, "cancelled"),
        (409, "other_event"),
        (409, "uuid_conflict"),
        (201, "checked_in"),
        (404, "unknown_session"),
        (201, "checked_in"),
        (409, "uuid_conflict"),
        (409, "uuid_conflict"),
    ]
    # Each answer names the check-in that counts, with its time; a refusal names the item.
    assert all(a[-1] and a[-2] for a in one_by_one if len(a) > 2)
    assert halls[1].state() == halls[0].state()
    assert halls[1].state() == [
        (0, 0, True),
        (1, 0, True),
        (2, 0, True),
        (2, 1, True),
        (3, 0, True),
        (4, 0, True),
    ]


# ---------------------------------------------------------------------------------------------
# The completion rule, once for the batch


def test_a_batch_completing_a_course_certifies_each_person_once_numbered_without_gaps(
    client, make_today_event, make_device, enrol, app
):
    from hikisupport.supporters.persons import merge

    event = make_today_event(sessions=2, capacity=10, kind="course")
    assert event.certifies
    people = [enrol(event) for _ in range(5)]
    # People 3 and 4 are one person entered twice (merged): their attendance counts together.
    merge(
        db.session.get(Person, people[4].person_id),
        db.session.get(Person, people[3].person_id),
        "同じ方",
    )
    db.session.commit()
    _, token = make_device(event)
    first, second = event.sessions
    earlier = batch(
        client,
        token,
        [
            {
                "id": new_uuid(),
                "ticket": people[0].ticket,
                "session_id": first.id,
                "scanned_at": now_iso(),
            }
        ],
    )
    assert earlier.status_code == 200 and len(certifications()) == 0

    def item(who, session):
        return {
            "id": new_uuid(),
            "ticket": people[who].ticket,
            "session_id": session.id,
            "scanned_at": now_iso(),
        }

    items = [
        item(0, second),  # completes with the check-in of the earlier batch
        item(1, first),
        item(1, second),  # completes within this batch
        item(2, second),  # half: not certified
        item(3, first),
        item(4, second),  # the merged record's attendance completes person 3's course
    ]
    response = batch(client, token, items)
    assert [r["http_status"] for r in response.json["results"]] == [201] * len(items)
    certified = certifications(event_id=event.id)
    assert sorted(c.counted_person_id for c in certified) == sorted(
        [people[0].person_id, people[1].person_id, people[3].person_id]
    )
    # Numbered in the batch's order, without gaps; each on its two attendances.
    by_person = {c.counted_person_id: c for c in certified}
    in_order = [by_person[people[w].person_id] for w in (0, 1, 3)]
    assert [int(c.number.split("-")[1]) for c in in_order] == [1, 2, 3]
    members = {people[w].person_id: {people[w].person_id} for w in (0, 1)}
    members[people[3].person_id] = {people[3].person_id, people[4].person_id}
    for c in certified:
        assert len(c.attendances) == 2
        on = {a.attendance.registration.person_id for a in c.attendances}
        assert on == members[c.counted_person_id]
    # One mail each, to that person's address, and one audit entry each with its number.
    mails = db.session.scalars(sa.select(OutboxMessage).filter_by(kind="certified")).all()
    assert sorted((m.recipient, m.about_id) for m in mails) == sorted(
        (people[w].email, by_person[people[w].person_id].id) for w in (0, 1, 3)
    )
    issued = db.session.scalars(sa.select(AuditLog).filter_by(action="certification.issue")).all()
    assert sorted((e.object_id, e.detail["number"]) for e in issued) == sorted(
        (c.id, c.number) for c in certified
    )
    # The batch sent again (a queue retried after a lost answer) certifies no one twice.
    again = batch(client, token, items)
    assert [r["http_status"] for r in again.json["results"]] == [201] * len(items)
    assert len(certifications(event_id=event.id)) == 3


def test_a_refusal_of_the_completion_rule_refuses_that_item_alone(
    client, make_today_event, make_device, enrol
):
    event = make_today_event(sessions=1, capacity=10)
    people = [enrol(event) for _ in range(3)]
    _, token = make_device(event)
    session = event.sessions[0]

    def refuse_the_second(registration, _session):
        if registration.id == people[1].id:
            raise DomainError("認定の処理に失敗しました。", code="completion_failed")

    items = [
        {"id": new_uuid(), "ticket": p.ticket, "session_id": session.id, "scanned_at": now_iso()}
        for p in people
    ]
    with completion.use_rule(refuse_the_second):
        response = batch(client, token, items)
    results = response.json["results"]
    assert [r["http_status"] for r in results] == [201, 409, 201]
    assert results[1]["error"] == "completion_failed"
    assert [r.registration_id for r in rows_of(event)] == [people[0].id, people[2].id]


# ---------------------------------------------------------------------------------------------
# Cost


@pytest.mark.parametrize("sessions", [2, 1], ids=["first-session", "each-certifies"])
def test_a_batch_of_first_check_ins_reads_and_writes_once_for_all_of_them(
    client, make_today_event, make_device, enrol, app, sessions
):
    """25 check-ins in one request cost about as many SQL statements as 2: the batch is read and
    written as a whole, not check-in by check-in — at a first session, where nobody completes,
    and at a one-session course, where each check-in certifies its person (the certifications,
    their basis, audit entries and mails one insert each, on SQLite too)."""
    event = make_today_event(sessions=sessions, capacity=30, kind="course")
    people = [enrol(event) for _ in range(27)]
    _, token = make_device(event)
    session = event.sessions[0]
    counted = []

    def count(*_):
        counted.append(1)

    def statements(group) -> int:
        items = [
            {
                "id": new_uuid(),
                "ticket": p.ticket,
                "session_id": session.id,
                "scanned_at": now_iso(),
            }
            for p in group
        ]
        counted.clear()
        response = batch(client, token, items)
        assert [r["http_status"] for r in response.json["results"]] == [201] * len(items)
        return len(counted)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        two, twenty_five = statements(people[:2]), statements(people[2:])
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(rows_of(event)) == 27
    assert twenty_five <= two + 2, (two, twenty_five)
    certified = certifications(event_id=event.id)
    if sessions == 1:
        assert sorted(c.serial for c in certified) == list(range(1, 28))
        assert all(len(c.attendances) == 1 for c in certified)
    else:
        assert certified == []


# ---------------------------------------------------------------------------------------------
# Many tablets at once

TABLETS = 8


def test_overlapping_batches_from_many_tablets_record_each_person_once(
    live_server, make_today_event, make_device, enrol
):
    """Eight tablets that were all offline send their queues at once, each holding the same
    twelve people in its own order: one row per person, exactly one 201 per person over all the
    answers, every other answer already_checked_in with that row's time; no error; each person
    certified once (a one-session course), the numbers without gaps."""
    event = make_today_event(sessions=1, capacity=20, kind="course")
    people = [enrol(event) for _ in range(12)]
    tokens = [make_device(event, name=f"受付{n + 1}")[1] for n in range(TABLETS)]
    session_id = event.sessions[0].id
    tickets = [p.ticket for p in people]
    start = threading.Barrier(TABLETS, timeout=60)

    def tablet(n: int):
        order = list(tickets)
        random.Random(n).shuffle(order)
        items = [
            {
                "id": new_uuid(),
                "ticket": ticket,
                "session_id": session_id,
                "scanned_at": now_iso(),
            }
            for ticket in order
        ]
        with requests.Session() as http:
            http.get(f"{live_server}/healthz", timeout=30)  # connect before the barrier
            start.wait()
            response = http.post(
                f"{live_server}/api/v1/checkins/batch",
                json={"checkins": items},
                headers=bearer(tokens[n]),
                timeout=120,
            )
        assert response.status_code == 200, response.text
        return response.json()["results"]

    with ThreadPoolExecutor(max_workers=TABLETS) as pool:
        answers = [r for results in pool.map(tablet, range(TABLETS), timeout=300) for r in results]
    rows = rows_of(event)
    assert sorted(r.registration_id for r in rows) == sorted(p.id for p in people)
    times = {p.ticket: r.checked_in_at for p in people for r in rows if r.registration_id == p.id}
    for person in people:
        theirs = [a for a in answers if a.get("ticket") == person.ticket]
        assert len(theirs) == TABLETS
        assert sorted(a["http_status"] for a in theirs) == [200] * (TABLETS - 1) + [201]
        assert {datetime.fromisoformat(a["checked_in_at"]) for a in theirs} == {
            times[person.ticket]
        }
    assert len(answers) == TABLETS * len(people)
    # A one-session course: each first check-in certified its person, once, numbered 1…12.
    certified = certifications(event_id=event.id)
    assert sorted(c.person_id for c in certified) == sorted(p.person_id for p in people)
    assert sorted(c.serial for c in certified) == list(range(1, len(people) + 1))
