"""The opening-morning rush through the verified sign-up, under gunicorn with the mail worker.

For each database (a SQLite file; a fresh PostgreSQL database) this

1. makes and migrates the database (`flask db upgrade`) and creates the courses;
2. starts an SMTP sink (aiosmtpd, in this process), gunicorn in production mode
   (RATELIMIT_ENABLED=0: every client is 127.0.0.1) and the mail worker
   (`flask mail send --loop --interval 1`), both pointed at the sink;
3. phase A — 300 people ask for their link at once (step 1: GET the page, POST the address,
   40 clients); the mail's arrival at the sink is timed from each request's start, and the
   link is read from the message's text part;
4. the trivial page: the same 40 clients on `GET /healthz` (no database), the ceiling;
5. phase B — the 300 open their link and send the form at once (GET the form, POST it, follow
   the 303 to the personal page; 40 clients), 60 seats; the database is checked: 60 confirmed
   (0 oversold), waitlist 1…240 without gap, 0 errors; throughput ÷ the ceiling;
6. phase C — residents arriving at a steady rate (open loop: 100 a second on SQLite, 60 on
   PostgreSQL, for --c-seconds), each opening the form by its link and sending it; latency is
   counted from each one's *scheduled* arrival, so waiting in a queue counts. C's links are
   signed here with the server's key (the mail round trip is phase A's subject); C's residents
   are one asyncio loop (`--c-client threads`: `requests` on threads, as A and B).

Run by hand or with `make bench`; not part of the test suite.

    python bench/rush.py [--db sqlite|postgresql|both] [--people 300] [--clients 40]
                         [--seats 60] [--c-seconds 10] [--c-rate-sqlite 100] [--c-rate-pg 60]
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import requests
import sqlalchemy as sa
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hikisupport.core.gunicorn_conf import default_workers  # noqa: E402

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
APPLY_LINK = re.compile(r"https?://[^/\s]+(/events/\d+/apply/[A-Za-z0-9_.-]+)")
POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BENCH_DB = os.environ.get("BENCH_DB", "hikisupport_bench")
SECRET_KEY = "bench-" + "x" * 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summarise(seconds: list[float]) -> dict:
    ms = [v * 1000 for v in seconds]
    return {
        "n": len(ms),
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else float("nan"),
        "mean_ms": statistics.fmean(ms) if ms else float("nan"),
    }


# ---------------------------------------------------------------------------------------------
# The SMTP sink: when each address's mail arrived, and the link it holds


class Sink:
    """Reads the link from the mails to the addresses it watches (phase A's); every other mail
    (the confirmations of B and C) is only counted — parsing 100 mails a second would take the
    CPU this benchmark measures the server by."""

    def __init__(self):
        self.lock = threading.Lock()
        self.arrived: dict[str, float] = {}
        self.links: dict[str, str] = {}
        self.watch: set[str] = set()
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        now = time.perf_counter()
        if self.watch.isdisjoint(envelope.rcpt_tos):
            with self.lock:
                self.count += 1
            return "250 OK"
        message = message_from_bytes(envelope.content, policy=policy.default)
        text = message.get_body(("plain",)).get_content()
        match = APPLY_LINK.search(text)
        with self.lock:
            self.count += 1
            for address in envelope.rcpt_tos:
                if match and address not in self.links:
                    self.arrived[address] = now
                    self.links[address] = match.group(1)
        return "250 OK"


# ---------------------------------------------------------------------------------------------
# Databases, processes


def fresh_database(kind: str, workdir: Path, name: str = BENCH_DB) -> str:
    """An empty database of `kind`: a SQLite file in `workdir`, or PostgreSQL database `name`
    made anew on the server of BENCH_POSTGRES_URL."""
    if kind == "sqlite":
        return f"sqlite:///{workdir / f'{name}.sqlite3'}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def environment(database_url: str, port: int, smtp_port: int) -> dict:
    return {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": database_url,
        "BASE_URL": f"http://127.0.0.1:{port}",
        "SESSION_COOKIE_SECURE": "0",  # plain HTTP on localhost
        "RATELIMIT_ENABLED": "0",  # every client is 127.0.0.1; the per-address caps stay
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "MAIL_DEFAULT_SENDER": "noreply@bench.example.jp",
        "PYTHONPATH": str(ROOT),
        "HIKISUPPORT_DOTENV": "0",
    }


def prepare(database_url: str, env: dict, seats: int) -> tuple[int, int]:
    """Migrate; two courses (phase B's with `seats`, phase C's with room for everyone)."""
    flask = [sys.executable, "-m", "flask", "--app", "hikisupport"]
    subprocess.run([*flask, "db", "upgrade"], env=env, check=True, capture_output=True, cwd=ROOT)
    os.environ.update({k: env[k] for k in ("APP_ENV", "SECRET_KEY", "HIKISUPPORT_DOTENV")})
    from hikisupport import create_app
    from hikisupport.core.database import utcnow
    from hikisupport.core.extensions import db
    from hikisupport.models import Event, Session

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    ids = []
    with app.app_context():
        from hikisupport.staff.services import get_or_create_organization

        now = utcnow()
        start = (now + timedelta(days=30)).replace(minute=0, second=0, microsecond=0)
        for title, capacity in (("B", seats), ("C", 100_000)):
            event = Event(
                organization=get_or_create_organization("杉並区", kind="ward"),
                kind="course",
                title=f"ひきこもりサポーター養成講座（ベンチマーク {title}）",
                description="負荷試験用",
                capacity=capacity,
                waitlist=True,
                certifies=True,
                registration_opens_at=now - timedelta(days=1),
                registration_closes_at=start,
                contact_phone="03-3312-2111",
                sessions=[
                    Session(
                        number=1,
                        starts_at=start,
                        ends_at=start + timedelta(hours=2),
                        venue="区役所",
                    )
                ],
            )
            db.session.add(event)
            db.session.commit()
            ids.append(event.id)
        db.engine.dispose()
    return ids[0], ids[1]


def sign_links(event_id: int, addresses: list[str]) -> list[str]:
    from hikisupport import create_app
    from hikisupport.registration.links import make_token

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": SECRET_KEY})
    with app.test_request_context():
        return [f"/events/{event_id}/apply/{make_token(event_id, a)}" for a in addresses]


def check_database(database_url: str, event_id: int) -> dict:
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT status, waitlist_position FROM registrations WHERE event_id = :e"),
            {"e": event_id},
        ).all()
    engine.dispose()
    positions = sorted(p for s, p in rows if s == "waitlisted")
    return {
        "registrations": len(rows),
        "confirmed": sum(1 for s, _ in rows if s == "confirmed"),
        "waitlisted": len(positions),
        "positions_gap_free": positions == list(range(1, len(positions) + 1)),
    }


class Process:
    """A child process (gunicorn, the mail worker) that is always stopped."""

    def __init__(self, command: list[str], env: dict):
        self.process = subprocess.Popen(command, env=env, cwd=ROOT)
        atexit.register(self.stop)

    def cpu_seconds(self) -> float:
        """User + system CPU of the process and its children so far (from /proc)."""
        total = 0
        pids = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        if children.exists():
            pids += [int(p) for p in children.read_text().split()]
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
            except (FileNotFoundError, IndexError):
                pass
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


def gunicorn(env: dict, port: int, workers: int, access_log: Path | None = None) -> Process:
    """gunicorn in production mode; with `access_log`, each request's time inside the worker
    (microseconds, gunicorn's %(D)s) is written there, one line per request: the server's own
    latency, without the wait in the listen queue."""
    logging = ["--access-logfile", str(access_log), "--access-logformat", "%(U)s %(D)s"]
    server = Process(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--backlog",
            "2048",
            "--log-level",
            "warning",
            "--config",
            "python:hikisupport.core.gunicorn_conf",  # the production settings (timeout)
            *(logging if access_log else []),
            "hikisupport:create_app()",
        ],
        env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/healthz", timeout=5).ok:
                return server
        except requests.RequestException:  # not listening yet, or workers still booting
            time.sleep(0.2)
    server.stop()
    raise RuntimeError("gunicorn did not start")


# ---------------------------------------------------------------------------------------------
# Load


def closed_loop(clients: int, jobs: list, work) -> float:
    """Run `work(job)` for every job on `clients` threads; the elapsed seconds."""
    queue = iter(jobs)
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                job = next(queue, None)
            if job is None:
                return
            work(job)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(worker) for _ in range(clients)]:
            future.result(timeout=900)
    return time.perf_counter() - started


def trivial_page(url: str, clients: int, total: int) -> float:
    sessions = threading.local()

    def get(_):
        if not hasattr(sessions, "http"):
            sessions.http = requests.Session()
        sessions.http.get(url + "/healthz", timeout=30).raise_for_status()

    return total / closed_loop(clients, list(range(total)), get)


def step_1(url: str, event_id: int, address: str, started: dict, errors: list):
    with requests.Session() as http:
        t0 = time.perf_counter()
        page = http.get(f"{url}/events/{event_id}/register", timeout=60)
        token = CSRF.search(page.text).group(1)
        response = http.post(
            f"{url}/events/{event_id}/register",
            data={"csrf_token": token, "email": address},
            allow_redirects=False,
            timeout=60,
        )
        started[address] = t0
        if response.status_code != 303 or not response.headers["Location"].endswith("/sent"):
            errors.append(response.status_code)


def step_2_form(csrf_token: str, i: int) -> dict:
    """What resident i types into the form (a name of their own: one person each)."""
    return {
        "csrf_token": csrf_token,
        "family_name": "杉並",
        "given_name": f"花子{i}",
        "family_name_kana": "すぎなみ",
        "given_name_kana": "はなこ",
        "phone": "０３ー３３１２ー２１１１",
        "residency": "live",
        "age_group": "50s",
        "consent": "y",
    }


def step_2(url: str, path: str, i: int, timings: list, errors: list, follow: bool = True):
    """Open the link (GET the form), POST it, follow the 303 to the personal page."""
    with requests.Session() as http:
        t0 = time.perf_counter()
        page = http.get(url + path, timeout=60)
        match = CSRF.search(page.text)
        if match is None:
            errors.append(f"GET {page.status_code}")
            return
        t1 = time.perf_counter()
        response = http.post(
            url + path,
            allow_redirects=False,
            timeout=60,
            data=step_2_form(match.group(1), i),
        )
        t2 = time.perf_counter()
        ok = response.status_code == 303 and response.headers["Location"].startswith("/r/")
        if ok and follow:
            ok = http.get(url + response.headers["Location"], timeout=60).status_code == 200
        t3 = time.perf_counter()
        timings.append((t0, t1, t2, t3))
        if not ok:
            errors.append(response.status_code)


def phase_a(url, event_id, people, clients, sink) -> tuple[dict, dict]:
    addresses = [f"rush{i}@example.jp" for i in range(people)]
    started, errors = {}, []
    sink.watch.update(addresses)
    elapsed = closed_loop(clients, addresses, lambda a: step_1(url, event_id, a, started, errors))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with sink.lock:
            if len(sink.links) >= people:
                break
        time.sleep(0.05)
    with sink.lock:
        delays = [sink.arrived[a] - started[a] for a in addresses if a in sink.arrived]
        links = {a: sink.links[a] for a in addresses if a in sink.links}
    return {
        "requests_per_second": people / elapsed,
        "errors": len(errors),
        "mailed": len(links),
        "mail_delay": summarise(delays),
    }, links


def phase_b(url, links: dict, clients) -> dict:
    timings, errors = [], []
    jobs = list(enumerate(links.values()))
    elapsed = closed_loop(clients, jobs, lambda j: step_2(url, j[1], j[0], timings, errors))
    return {
        "sign_ups_per_second": len(jobs) / elapsed,
        "seconds": elapsed,
        "errors": len(errors),
        "error_samples": errors[:5],
        "whole": summarise([t3 - t0 for t0, _, _, t3 in timings]),
        "post": summarise([t2 - t1 for _, t1, t2, _ in timings]),
    }


def arrivals(count: int, rate: float, start: float, late: list):
    """The open loop's schedule: (resident, scheduled time, seconds to wait for it) for each
    of `count` residents arriving at `rate` a second from `start`; a resident whose time has
    passed already waits 0 and how late it is goes into `late`."""
    for i in range(count):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay <= 0:
            late.append(-delay)
        yield i, scheduled, max(delay, 0.0)


def phase_c(url, paths: list[str], rate: float) -> dict:
    """Open loop: resident i arrives at start + i / rate, whatever happened before."""
    timings, errors, late = [], [], []
    lock = threading.Lock()
    pool = ThreadPoolExecutor(max_workers=128)
    start = time.perf_counter() + 0.5

    def resident(i: int, scheduled: float):
        local: list = []
        step_2(url, paths[i], i, local, errors, follow=False)
        if local:
            t0, t1, t2, _ = local[0]
            with lock:
                timings.append((scheduled, t0, t1, t2))

    futures = []
    for i, scheduled, wait in arrivals(len(paths), rate, start, late):
        time.sleep(wait)
        futures.append(pool.submit(resident, i, scheduled))
    for future in futures:
        future.result(timeout=300)
    pool.shutdown(wait=True)
    return phase_c_figures("threads", rate, len(paths), timings, errors, late)


def phase_c_figures(
    client: str, rate: float, residents: int, timings: list, errors: list, late: list
) -> dict:
    """Phase C's figures from (scheduled, t0, t1, t2) per resident, the errors and how late
    the generator was."""
    return {
        "rate": rate,
        "client": client,
        "residents": residents,
        "errors": len(errors),
        "error_samples": errors[:5],
        # From the scheduled arrival to the POST's answer: GET the form + POST it.
        "from_arrival": summarise([t2 - s for s, _, _, t2 in timings]),
        "post": summarise([t2 - t1 for _, _, t1, t2 in timings]),
        "generator_late_p95_ms": percentile([v * 1000 for v in late], 95) if late else 0.0,
    }


# The light client for phase C. `requests` on 128 threads costs about 2.5 ms of CPU a request
# here, on the same two cores as the server: at 100 residents a second that is a quarter of
# the machine taken from the server being measured. One asyncio loop speaking HTTP/1.1 over a
# socket per request (as gunicorn's sync workers close each connection) costs a fraction of
# that; the server sees the same requests (the form, its cookie, the POST with the CSRF token).


async def http_request(
    host: str, port: int, method: str, path: str, headers: dict | None = None, body: bytes = b""
) -> tuple[int, dict, bytes]:
    """One request on a new connection; (status, headers lower-cased — Set-Cookie as a list —,
    body)."""
    reader, writer = await asyncio.open_connection(host, port)
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
    for name, value in (headers or {}).items():
        head += f"{name}: {value}\r\n"
    if body:
        head += f"Content-Length: {len(body)}\r\n"
    writer.write(head.encode("latin-1") + b"\r\n" + body)
    try:
        raw = await reader.read(-1)  # until the server closes the connection
    finally:
        writer.close()
    header_block, _, payload = raw.partition(b"\r\n\r\n")
    status_line, *lines = header_block.decode("latin-1").split("\r\n")
    headers: dict = {"set-cookie": []}
    for line in lines:
        name, _, value = line.partition(":")
        if name.lower() == "set-cookie":
            headers["set-cookie"].append(value.strip())
        else:
            headers[name.lower()] = value.strip()
    return int(status_line.split()[1]), headers, payload


async def step_2_light(url: str, path: str, i: int) -> tuple[float, float, float, str | None]:
    """Step 2 as `step_2(follow=False)` does it, on the light client: (t0, t1, t2, error)."""
    target = urlsplit(url)
    host, port = target.hostname, target.port
    t0 = time.perf_counter()
    status, headers, page = await http_request(host, port, "GET", path)
    match = CSRF.search(page.decode("utf-8", "replace"))
    if status != 200 or match is None:
        return t0, t0, time.perf_counter(), f"GET {status}"
    cookie = "; ".join(c.split(";", 1)[0] for c in headers["set-cookie"])
    body = urlencode(step_2_form(match.group(1), i)).encode()
    t1 = time.perf_counter()
    form = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    status, headers, _ = await http_request(host, port, "POST", path, form, body)
    t2 = time.perf_counter()
    ok = status == 303 and headers.get("location", "").startswith("/r/")
    return t0, t1, t2, None if ok else status


async def phase_c_light_loop(url: str, paths: list[str], rate: float):
    timings, errors, late = [], [], []
    start = time.perf_counter() + 0.5

    async def resident(i: int, scheduled: float):
        try:
            t0, t1, t2, error = await step_2_light(url, paths[i], i)
        except OSError as exc:  # refused or reset: counted, not fatal to the run
            errors.append(repr(exc))
            return
        if error is not None:
            errors.append(error)
        else:
            timings.append((scheduled, t0, t1, t2))

    tasks = []
    for i, scheduled, wait in arrivals(len(paths), rate, start, late):
        await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(resident(i, scheduled)))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=300)
    return timings, errors, late


def phase_c_light(url, paths: list[str], rate: float) -> dict:
    """Phase C on the light client: the same residents, schedule and figures as `phase_c`."""
    timings, errors, late = asyncio.run(phase_c_light_loop(url, paths, rate))
    return phase_c_figures("asyncio", rate, len(paths), timings, errors, late)


# ---------------------------------------------------------------------------------------------


def mail_worker(env: dict, interval: float, nice: int, *lane: str) -> Process:
    """`flask mail send --loop` (of one lane, if given), at that nice value."""
    return Process(
        [
            *(["nice", "-n", str(nice)] if nice else []),
            sys.executable,
            "-m",
            "flask",
            "--app",
            "hikisupport",
            "mail",
            "send",
            "--loop",
            "--interval",
            str(interval),
            *lane,
        ],
        env,
    )


def phase_c_at(
    url: str, database_url: str, event_id: int, rate: float, seconds: float, name: str, client: str
):
    """Phase C at `rate` for `seconds`, new residents named `name`…, on the `client`
    ('asyncio' or 'threads'); with the registrations it made (counted in the database)."""
    addresses = [f"{name}{i}@example.jp" for i in range(int(rate * seconds))]
    before = check_database(database_url, event_id)["registrations"]
    c = (phase_c_light if client == "asyncio" else phase_c)(
        url, sign_links(event_id, addresses), rate
    )
    c["registrations"] = check_database(database_url, event_id)["registrations"] - before
    return c


def sweep_c(url: str, database_url: str, event_id: int, args, kind: str) -> list[dict]:
    """Phase C at each rate of --c-rates in turn (new residents each time): where the p95
    from arrival crosses the goal."""
    results = []
    for n, rate in enumerate(args.c_rates):
        if n:
            time.sleep(args.c_pause)  # let the mail workers catch up before the next rate
        count = int(rate * args.c_seconds)
        c = phase_c_at(
            url, database_url, event_id, rate, args.c_seconds, f"sweep{n}-{rate:g}-", args.c_client
        )
        results.append(c)
        print(
            f"  [{kind}] C at {rate:g}/s × {args.c_seconds} s ({c['client']} client): "
            f"from arrival p50 "
            f"{c['from_arrival']['p50_ms']:.0f} ms, p95 {c['from_arrival']['p95_ms']:.0f} ms, "
            f"p99 {c['from_arrival']['p99_ms']:.0f} ms; errors {c['errors']}; registrations "
            f"{c['registrations']}/{count}; generator late p95 "
            f"{c['generator_late_p95_ms']:.1f} ms",
            flush=True,
        )
    return results


def run(kind: str, args) -> dict:
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        sink = Sink()
        smtp_port = free_port()
        controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        database_url = fresh_database(kind, Path(tmp))
        env = environment(database_url, port, smtp_port)
        b_event, c_event = prepare(database_url, env, args.seats)
        result["workers"] = args.workers or default_workers(database_url, os.cpu_count() or 1)
        print(f"  [{kind}] gunicorn {result['workers']} sync workers", flush=True)
        server = gunicorn(env, port, result["workers"])
        if args.lanes:
            # Two workers: the links people wait for at their screen, and every other mail.
            workers = [
                mail_worker(env, args.mail_interval, args.mail_nice, "--kind", "apply"),
                mail_worker(env, args.mail_interval, args.rest_nice, "--except-kind", "apply"),
            ]
        else:
            workers = [mail_worker(env, args.mail_interval, args.mail_nice)]
        url = server_url = f"http://127.0.0.1:{port}"
        try:
            if args.c_only:
                result["C_sweep"] = sweep_c(url, database_url, c_event, args, kind)
                return result
            cpu0 = server.cpu_seconds()
            result["A"], links = phase_a(url, b_event, args.people, args.clients, sink)
            result["A"]["server_cpu_ms_per_request"] = (
                (server.cpu_seconds() - cpu0) * 1000 / args.people
            )
            result["trivial_page_rps"] = trivial_page(server_url, args.clients, args.trivial)
            cpu0 = server.cpu_seconds()
            result["B"] = phase_b(url, links, args.clients)
            result["B"]["server_cpu_ms_per_sign_up"] = (
                (server.cpu_seconds() - cpu0) * 1000 / max(len(links), 1)
            )
            result["B"].update(check_database(database_url, b_event))
            result["B"]["oversold"] = max(0, result["B"]["confirmed"] - args.seats)
            result["B"]["ratio_to_trivial"] = (
                result["B"]["sign_ups_per_second"] / result["trivial_page_rps"]
            )
            # The same measured per request: a sign-up is three (GET form, POST, personal page).
            result["B"]["requests_per_second"] = 3 * result["B"]["sign_ups_per_second"]
            result["B"]["request_ratio_to_trivial"] = (
                result["B"]["requests_per_second"] / result["trivial_page_rps"]
            )
            rate = args.c_rate_sqlite if kind == "sqlite" else args.c_rate_pg
            result["C"] = phase_c_at(
                url, database_url, c_event, rate, args.c_seconds, "steady", args.c_client
            )
        finally:
            for worker in workers:
                worker.stop()
            server.stop()
            controller.stop()
    return result


def report(kind: str, r: dict, args) -> None:
    a, b, c = r["A"], r["B"], r["C"]
    print(f"\n[{kind}]")
    print(
        f"  A  step 1: {args.people} by {args.clients} clients, {a['requests_per_second']:.1f}/s, "
        f"errors {a['errors']}; mailed {a['mailed']}/{args.people}; mail delay from the request "
        f"p50 {a['mail_delay']['p50_ms']:.0f} ms, p95 {a['mail_delay']['p95_ms']:.0f} ms, "
        f"max {a['mail_delay']['max_ms']:.0f} ms  (goal p95 ≤ 5000 ms)"
    )
    print(
        f"  B  step 2: {b['sign_ups_per_second']:.1f} sign-ups/s (GET form + POST + personal "
        f"page), trivial page {r['trivial_page_rps']:.0f} req/s, ratio "
        f"{b['ratio_to_trivial']:.3f}; per request {b['requests_per_second']:.0f} req/s, ratio "
        f"{b['request_ratio_to_trivial']:.3f} (goal ≥ 0.25); POST p50 {b['post']['p50_ms']:.0f} ms "
        f"p95 {b['post']['p95_ms']:.0f} ms; server CPU {b['server_cpu_ms_per_sign_up']:.1f} ms "
        f"per sign-up"
    )
    print(
        f"     confirmed {b['confirmed']} (oversold {b['oversold']}), waitlisted "
        f"{b['waitlisted']} gap-free {b['positions_gap_free']}, registrations "
        f"{b['registrations']}, errors {b['errors']} {b['error_samples'] or ''}"
    )
    print(
        f"  C  open loop {c['rate']:.0f}/s × {args.c_seconds} s ({c['client']} client): "
        f"from arrival p50 "
        f"{c['from_arrival']['p50_ms']:.0f} ms, p95 {c['from_arrival']['p95_ms']:.0f} ms, "
        f"p99 {c['from_arrival']['p99_ms']:.0f} ms (goal p95 < 100 ms); POST p95 "
        f"{c['post']['p95_ms']:.0f} ms; errors {c['errors']}; registrations "
        f"{c['registrations']}/{c['residents']}; generator late p95 "
        f"{c['generator_late_p95_ms']:.1f} ms"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--seats", type=int, default=60)
    parser.add_argument(
        "--workers",
        type=int,
        help="gunicorn sync workers (default: as in production, "
        "hikisupport.core.gunicorn_conf.default_workers for the database and the cores)",
    )
    parser.add_argument("--mail-interval", type=float, default=1.0)
    parser.add_argument(
        "--mail-nice",
        type=int,
        default=0,
        help="run the mail worker at this nice value (-10, as root: the production "
        "recommendation; 0: the same priority as the web workers)",
    )
    parser.add_argument(
        "--lanes",
        action="store_true",
        help="two mail workers, as the production section recommends: the link mails "
        "(--kind apply) at --mail-nice, every other mail (--except-kind apply) at --rest-nice",
    )
    parser.add_argument(
        "--rest-nice",
        type=int,
        default=10,
        help="with --lanes: the nice value of the worker for every mail but the links "
        "(default 10, below the web workers, as the production section recommends)",
    )
    parser.add_argument("--trivial", type=int, default=2000, help="requests to /healthz")
    parser.add_argument("--c-seconds", type=float, default=10)
    parser.add_argument("--c-rate-sqlite", type=float, default=100)
    parser.add_argument("--c-rate-pg", type=float, default=60)
    parser.add_argument(
        "--c-client",
        choices=["asyncio", "threads"],
        default="asyncio",
        help="phase C's client: one asyncio loop (default; light on the shared CPU) or "
        "`requests` on 128 threads (as A and B, and as C before 2026-12-07)",
    )
    parser.add_argument(
        "--c-only",
        action="store_true",
        help="only phase C, at each rate of --c-rates in turn (where the latency goal is met)",
    )
    parser.add_argument(
        "--c-rates",
        type=lambda text: [float(r) for r in text.split(",")],
        default=[20, 40, 60, 80, 100],
        help="with --c-only: comma-separated arrival rates (per second)",
    )
    parser.add_argument(
        "--c-pause", type=float, default=20, help="with --c-only: seconds between the rates"
    )
    args = parser.parse_args()

    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(
        f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; gunicorn sync workers "
        f"(per database, below) + "
        f"{'two mail workers (links, the rest)' if args.lanes else 'the mail worker'} "
        f"(--interval {args.mail_interval}); "
        f"{args.people} people, {args.seats} seats, {args.clients} clients"
    )
    results = {}
    for kind in kinds:
        results[kind] = run(kind, args)
        if not args.c_only:
            report(kind, results[kind], args)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    name = "rush-c-sweep.json" if args.c_only else "rush.json"
    (out / name).write_text(json.dumps({"args": vars(args), "results": results}, indent=2))
    if args.c_only:
        sys.exit(
            1
            if any(
                c["errors"] or c["registrations"] != c["residents"]
                for r in results.values()
                for c in r["C_sweep"]
            )
            else 0
        )
    failed = any(
        r["A"]["errors"]
        or r["A"]["mailed"] != args.people
        or r["B"]["errors"]
        or r["B"]["oversold"]
        or not r["B"]["positions_gap_free"]
        or r["B"]["registrations"] != args.people
        or r["C"]["errors"]
        for r in results.values()
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
