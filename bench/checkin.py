"""Check-in at the door: 20 tablets posting check-ins at once, against gunicorn.

For each database (SQLite file, PostgreSQL) this

1. makes a fresh database and migrates it with `flask db upgrade`;
2. creates a course held today with three sessions and N confirmed people (and a one-session
   course with the same people), and 20 devices
   (each with its token, as `flask device create` makes them);
3. starts gunicorn on it (sync workers, as in production);
4. **single**: each device posts its share of the people to session 1, one check-in per request
   (`POST /api/v1/checkins`), and one in ten again with a new UUID (a second scan: 200);
5. **batch**: each device posts its share to session 2 as batches (`POST /api/v1/checkins/batch`,
   an offline queue being sent);
6. **paced**: each device scans its share into session 3 at a door's rate, one person every
   `--pace` seconds (open loop; latency from each scan's scheduled time); session 3 completes
   the course, so each of these check-ins also certifies its person;
7. **batch_certifying**: the same people are also registered for a one-session course held
   today; each device posts its share there as batches, so every check-in of a batch
   certifies its person (the last session's offline queue);
8. checks the database: exactly one attendance per person and session, each person certified
   once per course with distinct numbers, no error answered.

Latency is measured at the client per request (p50 / p99, ms) and in the server (gunicorn's
own time per request, from its access log: without the wait in the listen queue); throughput is
check-ins per second over the whole phase. Run by hand; not part of the test suite:

    python bench/checkin.py [--db sqlite|postgresql|both] [--people 1000] [--devices 20]
                            [--batch 25] [--workers N] [--pace 1.0] [--client asyncio|threads]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from rush import (  # noqa: E402
    default_workers,
    environment,
    free_port,
    fresh_database,
    gunicorn,
    http_request,
    summarise,
)

BENCH_DB = "hikisupport_bench_checkin"


def prepare(database_url: str, env: dict, people: int, devices: int) -> dict:
    import subprocess

    flask = [sys.executable, "-m", "flask", "--app", "hikisupport"]
    subprocess.run([*flask, "db", "upgrade"], env=env, check=True, capture_output=True, cwd=ROOT)
    os.environ.update({k: env[k] for k in ("APP_ENV", "SECRET_KEY")})
    from hikisupport import create_app
    from hikisupport.checkin import services
    from hikisupport.core.extensions import db
    from hikisupport.models import (
        Attendance,
        CertificationSource,
        Event,
        Person,
        Registration,
        Session,
    )
    from hikisupport.registration.tickets import new_personal_token, new_ticket_code
    from hikisupport.staff.services import get_or_create_organization
    from hikisupport.supporters.services import ToIssue, issue_many

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        now = datetime.now(UTC)
        organization = get_or_create_organization("杉並区", kind="ward")

        def course(title: str, starts_at: datetime, sessions: int = 1) -> Event:
            """A certifying course open to all the people, its sessions at `starts_at`."""
            return Event(
                organization=organization,
                kind="course",
                title=f"ひきこもりサポーター養成講座（{title}・受付ベンチマーク）",
                capacity=people,
                waitlist=True,
                certifies=True,
                registration_opens_at=starts_at - timedelta(days=30),
                registration_closes_at=min(starts_at, now),
                sessions=[
                    Session(
                        number=n,
                        starts_at=starts_at,
                        ends_at=starts_at + timedelta(hours=2),
                        venue="杉並区役所",
                    )
                    for n in range(1, sessions + 1)
                ],
            )

        event = course("3回", now - timedelta(minutes=10), sessions=3)
        # The same people on a one-session course held today too: each check-in there
        # completes it and certifies its person (the batch-certifying phase).
        one_day = course("1日", now - timedelta(minutes=10))
        # A database in use has a history: the same people took a one-session course three
        # months ago, attended and were certified. Its rows give the planner statistics of
        # tables that are not empty (PostgreSQL's autovacuum keeps them; ANALYZE below).
        past = course("前期", now - timedelta(days=90))
        db.session.add_all([event, one_day, past])
        db.session.flush()
        tickets = set()
        while len(tickets) < 3 * people:
            tickets.add(new_ticket_code())
        tickets = sorted(tickets)
        history = []
        for i in range(people):
            person = Person(email=f"bench{i}@example.jp", created_at=now)
            courses = (
                (event, tickets[i]),
                (one_day, tickets[people + i]),
                (past, tickets[2 * people + i]),
            )
            for course, ticket in courses:
                registration = Registration(
                    event=course,
                    person=person,
                    status="confirmed",
                    token=new_personal_token(),
                    ticket=ticket,
                    family_name="杉並",
                    given_name=f"花子{i}",
                    family_name_kana="スギナミ",
                    given_name_kana="ハナコ",
                    phone="0333122111",
                    residency="live",
                    age_group="50s",
                    source="web",
                    consented_at=now,
                    confirmed_at=now,
                )
                db.session.add(registration)
            history.append(
                Attendance(
                    registration=registration,
                    session_id=past.sessions[0].id,
                    checked_in_at=past.sessions[0].starts_at,
                    method="paper",
                )
            )
        db.session.add_all(history)
        db.session.flush()
        issue_many(
            [
                ToIssue(a.registration, a.checked_in_at, [a], a.registration.person_id)
                for a in history
            ],
            source=CertificationSource.ATTENDANCE,
            mail=False,
        )
        tokens = []
        for n in range(devices):
            device = services.create_device(f"受付{n + 1}", [event, one_day])
            tokens.append(services.issue_token(device))
        db.session.commit()
        sessions = [s.id for s in event.sessions]
        one_day_session = one_day.sessions[0].id
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        db.engine.dispose()
    return {
        "tickets": tickets[:people],
        "one_day_tickets": tickets[people : 2 * people],
        "tokens": tokens,
        "sessions": sessions,
        "one_day_session": one_day_session,
    }


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def phase(
    url: str,
    world: dict,
    session_id: int,
    batch: int,
    pace: float = 0.0,
    client: str = "asyncio",
    tickets: list[str] | None = None,
) -> dict:
    """Every device checks its share of the people in; returns latencies and throughput.

    pace = 0: as fast as the server answers (closed loop: throughput; latency is queueing).
    pace > 0: each device scans one person every `pace` seconds, on a schedule (open loop, as
    at a door); latency runs from each scan's scheduled time, so waiting for the server counts.

    client: the 20 tablets as one asyncio loop (default; light on the two cores the server
    shares with it, as the tablets are other machines at a real door) or as 20 threads of
    `requests` (the client of the runs before 2026-12-07)."""
    devices = len(world["tokens"])
    tickets = tickets or world["tickets"]
    shares = [tickets[n::devices] for n in range(devices)]
    latencies, statuses, lock = [], {}, threading.Lock()
    checkins = 0

    def plan(n: int) -> list[list[str]]:
        mine = shares[n]
        if batch <= 1:
            return [[t] for t in mine] + [[t] for t in mine[::10]]  # 1 in 10 scanned twice
        return [mine[i : i + batch] for i in range(0, len(mine), batch)]

    def items(chunk: list[str]) -> list[dict]:
        return [
            {
                "id": str(uuid.uuid4()),
                "ticket": t,
                "session_id": session_id,
                "scanned_at": now_iso(),
                "method": secrets.choice(["qr", "name"]),
            }
            for t in chunk
        ]

    def record(elapsed: float, sent: int, codes: list[int]) -> None:
        nonlocal checkins
        with lock:
            latencies.append(elapsed)
            checkins += sent
            for code in codes:
                statuses[code] = statuses.get(code, 0) + 1

    def batch_codes(status: int, body, count: int) -> list[int]:
        if status != 200:
            return [status] * count
        return [r["http_status"] for r in body["results"]]

    def tablet(n: int, start: threading.Barrier):
        headers = {"Authorization": f"Bearer {world['tokens'][n]}"}
        with requests.Session() as http:
            http.get(url + "/healthz", timeout=30)
            start.wait()
            began = time.perf_counter() + (pace * n / devices)  # devices out of step
            for k, chunk in enumerate(plan(n)):
                due = began + k * pace
                if pace:
                    time.sleep(max(0.0, due - time.perf_counter()))
                sent = items(chunk)
                t0 = time.perf_counter()
                if batch <= 1:
                    response = http.post(
                        url + "/api/v1/checkins", json=sent[0], headers=headers, timeout=60
                    )
                    codes = [response.status_code]
                else:
                    response = http.post(
                        url + "/api/v1/checkins/batch",
                        json={"checkins": sent},
                        headers=headers,
                        timeout=60,
                    )
                    body = response.json() if response.status_code == 200 else None
                    codes = batch_codes(response.status_code, body, len(sent))
                record(time.perf_counter() - (due if pace else t0), len(sent), codes)

    async def tablet_async(n: int, start: asyncio.Event):
        target = urlsplit(url)
        host, port = target.hostname, target.port
        headers = {
            "Authorization": f"Bearer {world['tokens'][n]}",
            "Content-Type": "application/json",
        }
        await http_request(host, port, "GET", "/healthz")
        await start.wait()
        began = time.perf_counter() + (pace * n / devices)
        for k, chunk in enumerate(plan(n)):
            due = began + k * pace
            if pace:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            sent = items(chunk)
            t0 = time.perf_counter()
            if batch <= 1:
                payload = json.dumps(sent[0]).encode()
                status, _, _ = await http_request(
                    host, port, "POST", "/api/v1/checkins", headers, payload
                )
                codes = [status]
            else:
                payload = json.dumps({"checkins": sent}).encode()
                status, _, raw = await http_request(
                    host, port, "POST", "/api/v1/checkins/batch", headers, payload
                )
                body = json.loads(raw) if status == 200 else None
                codes = batch_codes(status, body, len(sent))
            record(time.perf_counter() - (due if pace else t0), len(sent), codes)

    async def all_tablets() -> float:
        start = asyncio.Event()
        tasks = [asyncio.create_task(tablet_async(n, start)) for n in range(devices)]
        await asyncio.sleep(0.5)  # every tablet has said hello (GET /healthz)
        began = time.perf_counter()
        start.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=900)
        return began

    if client == "asyncio":
        started = asyncio.run(all_tablets())
    else:
        barrier = threading.Barrier(devices, timeout=60)
        started = time.perf_counter()
        with ThreadPoolExecutor(devices) as pool:
            for future in [pool.submit(tablet, n, barrier) for n in range(devices)]:
                future.result(timeout=900)
    seconds = time.perf_counter() - started
    return {
        "client": client,
        "requests": len(latencies),
        "checkins": checkins,
        "seconds": round(seconds, 2),
        "checkins_per_second": round(checkins / seconds, 1),
        "requests_per_second": round(len(latencies) / seconds, 1),
        "statuses": statuses,
        **{k: round(v, 1) for k, v in summarise(latencies).items() if k != "n"},
    }


def server_times(access_log: Path, path: str) -> dict:
    """The server's own time per request (inside the worker) since the last call, from
    gunicorn's access log; the log is emptied for the next phase."""
    seconds = []
    for line in access_log.read_text().splitlines():
        url, _, micros = line.rpartition(" ")
        if url == path:
            seconds.append(int(micros) / 1e6)
    access_log.write_text("")
    return {k: round(v, 1) for k, v in summarise(seconds).items()}


def check_database(database_url: str, sessions: list[int]) -> dict:
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        counts = {
            s: conn.execute(
                sa.text("SELECT count(*) FROM attendances WHERE session_id = :s"), {"s": s}
            ).scalar()
            for s in sessions
        }
        duplicates = conn.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT registration_id, session_id FROM attendances "
                "GROUP BY registration_id, session_id HAVING count(*) > 1) d"
            )
        ).scalar()
        # [certifications, distinct (fiscal year, number)]: each person certified once per
        # course (the past course, the three-session course at its last session, the one-day
        # course), numbered without a duplicate.
        certifications = list(
            conn.execute(
                sa.text(
                    "SELECT count(*), count(DISTINCT fiscal_year * 100000 + serial) "
                    "FROM certifications"
                )
            ).one()
        )
    engine.dispose()
    return {
        "rows_per_session": list(counts.values()),
        "duplicate_pairs": duplicates,
        "certifications": certifications,
    }


def run(kind: str, args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        database_url = fresh_database(kind, Path(tmp), BENCH_DB)
        # No mail worker: the certification mails of the last session wait in the outbox.
        env = {**environment(database_url, port, free_port()), "RATELIMIT_ENABLED": "0"}
        world = prepare(database_url, env, args.people, args.devices)
        access_log = Path(tmp) / "access.log"
        workers = args.workers or default_workers(database_url, os.cpu_count() or 1)
        server = gunicorn(env, port, workers, access_log)
        server.url = f"http://127.0.0.1:{port}"
        try:
            client = args.client
            single = phase(server.url, world, world["sessions"][0], 1, client=client)
            single["server"] = server_times(access_log, "/api/v1/checkins")
            batch = phase(server.url, world, world["sessions"][1], args.batch, client=client)
            batch["server"] = server_times(access_log, "/api/v1/checkins/batch")
            paced = phase(server.url, world, world["sessions"][2], 1, args.pace, client)
            paced["server"] = server_times(access_log, "/api/v1/checkins")
            certifying = phase(
                server.url,
                world,
                world["one_day_session"],
                args.batch,
                client=client,
                tickets=world["one_day_tickets"],
            )
            certifying["server"] = server_times(access_log, "/api/v1/checkins/batch")
        finally:
            server.stop()
        result = {
            "database": kind,
            "workers": workers,
            "single": single,
            "batch": batch,
            "paced": paced,
            "batch_certifying": certifying,
        }
        result.update(check_database(database_url, [*world["sessions"], world["one_day_session"]]))
    result["ok"] = (
        result["rows_per_session"] == [args.people] * 4
        and result["duplicate_pairs"] == 0
        and result["certifications"] == [3 * args.people, 3 * args.people]
        and set(single["statuses"]) <= {200, 201}
        and set(batch["statuses"]) <= {201}
        and set(paced["statuses"]) <= {200, 201}
        and set(certifying["statuses"]) <= {201}
    )
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument(
        "--workers",
        type=int,
        help="gunicorn sync workers (default: as in production, "
        "hikisupport.core.gunicorn_conf.default_workers for the database and the cores)",
    )
    parser.add_argument(
        "--pace", type=float, default=1.0, help="seconds between scans per device (paced phase)"
    )
    parser.add_argument(
        "--client",
        choices=["asyncio", "threads"],
        default="asyncio",
        help="the tablets as one asyncio loop (default) or as threads of `requests` (as before "
        "2026-12-07)",
    )
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = [run(kind, args) for kind in kinds]
    print(json.dumps(results, ensure_ascii=False, indent=2))
    print()
    print("| | " + " | ".join(r["database"] for r in results) + " |")
    print("|---|" + "---|" * len(results))
    for mode in ("single", "batch", "paced", "batch_certifying"):
        for key in ("checkins_per_second", "requests_per_second", "p50_ms", "p95_ms", "p99_ms"):
            cells = " | ".join(str(r[mode][key]) for r in results)
            print(f"| {mode} {key} | {cells} |")
        for key in ("p50_ms", "p99_ms"):
            cells = " | ".join(str(r[mode]["server"][key]) for r in results)
            print(f"| {mode} server {key} | {cells} |")
    print("| gunicorn workers | " + " | ".join(str(r["workers"]) for r in results) + " |")
    print("| rows per session | " + " | ".join(str(r["rows_per_session"]) for r in results) + " |")
    print(
        "| certifications, distinct numbers | "
        + " | ".join(str(r["certifications"]) for r in results)
        + " |"
    )
    sys.exit(0 if all(r["ok"] for r in results) else 1)


if __name__ == "__main__":
    main()
