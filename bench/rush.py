"""The sign-up rush: 500 residents, 50 at a time, for 100 seats, through the real form.

For each database (SQLite file, PostgreSQL) this

1. makes a fresh database and migrates it with `flask db upgrade`;
2. creates one course with 100 seats and a waitlist;
3. starts gunicorn on it (worker class and counts printed below);
4. measures the ceiling: the same clients hammering `GET /healthz` (no database), so the ratio
   sign-ups/ceiling can be compared across machines;
5. runs the rush: each sign-up is a new browser session that GETs the form, POSTs it with its
   CSRF token and follows the 303 to the personal page;
6. checks the database: exactly 100 confirmed, waitlist positions 1…400 without gap or repeat.

Run by hand or with `make bench`; not part of the test suite.

    python bench/rush.py [--db sqlite|postgresql|both] [--signups 500] [--clients 50]
"""

from __future__ import annotations

import argparse
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
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BENCH_DB = "hikisupport_bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


# ---------------------------------------------------------------------------------------------
# Databases


def fresh_database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'rush.sqlite3'}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {BENCH_DB}"))
    admin.dispose()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{BENCH_DB}"


def environment(database_url: str, port: int) -> dict:
    return {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": "bench-" + "x" * 40,
        "DATABASE_URL": database_url,
        "BASE_URL": f"http://127.0.0.1:{port}",
        "SESSION_COOKIE_SECURE": "0",  # plain HTTP on localhost
        "PYTHONPATH": str(ROOT),
    }


def prepare(database_url: str, env: dict, seats: int) -> int:
    flask = [sys.executable, "-m", "flask", "--app", "hikisupport"]
    subprocess.run([*flask, "db", "upgrade"], env=env, check=True, capture_output=True, cwd=ROOT)
    os.environ.update({k: env[k] for k in ("APP_ENV", "SECRET_KEY")})
    from hikisupport import create_app
    from hikisupport.core.database import utcnow
    from hikisupport.core.extensions import db
    from hikisupport.models import Event, Session

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        from hikisupport.staff.services import get_or_create_organization

        now = utcnow()
        start = (now + timedelta(days=30)).replace(minute=0, second=0, microsecond=0)
        event = Event(
            organization=get_or_create_organization("杉並区", kind="ward"),
            kind="course",
            title="ひきこもりサポーター養成講座（ベンチマーク）",
            description="負荷試験用",
            capacity=seats,
            waitlist=True,
            certifies=True,
            registration_opens_at=now - timedelta(days=1),
            registration_closes_at=start,
            sessions=[
                Session(
                    number=1,
                    starts_at=start,
                    ends_at=start + timedelta(hours=2),
                    venue="杉並区役所",
                )
            ],
        )
        db.session.add(event)
        db.session.commit()
        event_id = event.id
        db.engine.dispose()
    return event_id


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


# ---------------------------------------------------------------------------------------------
# The server


class Gunicorn:
    def __init__(self, env: dict, port: int, workers: int, worker_class: str, threads: int):
        self.url = f"http://127.0.0.1:{port}"
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            worker_class,
            "--threads",
            str(threads),
            "--backlog",
            "2048",
            "--log-level",
            "warning",
            "hikisupport:create_app()",
        ]
        self.process = subprocess.Popen(command, env=env, cwd=ROOT)
        atexit.register(self.stop)  # never leave a server behind, whatever happens
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=5).ok:
                    return
            except requests.RequestException:  # not listening yet, or workers still booting
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its workers so far (from /proc)."""
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
            self.process.wait(timeout=30)


# ---------------------------------------------------------------------------------------------
# Load


def ceiling(url: str, clients: int, requests_total: int) -> float:
    counter = iter(range(requests_total))
    lock = threading.Lock()

    def worker():
        with requests.Session() as http:
            while True:
                with lock:
                    if next(counter, None) is None:
                        return
                http.get(url + "/healthz", timeout=30).raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(worker) for _ in range(clients)]:
            future.result(timeout=600)
    return requests_total / (time.perf_counter() - started)


def rush(url: str, event_id: int, clients: int, signups: int) -> dict:
    form_url = f"{url}/events/{event_id}/register"
    counter = iter(range(signups))
    lock = threading.Lock()
    whole, posts, errors = [], [], []

    def one(i: int):
        t0 = time.perf_counter()
        with requests.Session() as http:  # a new resident: own cookies, own CSRF token
            page = http.get(form_url, timeout=60)
            token = CSRF.search(page.text).group(1)
            t1 = time.perf_counter()
            response = http.post(
                form_url,
                allow_redirects=False,
                timeout=60,
                data={
                    "csrf_token": token,
                    "family_name": "杉並",
                    "given_name": f"花子{i}",
                    "family_name_kana": "すぎなみ",
                    "given_name_kana": "はなこ",
                    "email": f"rush{i}@example.jp",
                    "phone": "０３ー３３１２ー２１１１",
                    "residency": "live",
                    "age_group": "50s",
                    "consent": "y",
                },
            )
            t2 = time.perf_counter()
            ok = response.status_code == 303 and response.headers["Location"].startswith("/r/")
            if ok:
                ok = http.get(url + response.headers["Location"], timeout=60).status_code == 200
        t3 = time.perf_counter()
        with lock:
            whole.append(t3 - t0)
            posts.append(t2 - t1)
            if not ok:
                errors.append(response.status_code)

    def worker():
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            try:
                one(i)
            except Exception as exc:  # noqa: BLE001 - a failed sign-up is a figure, not a crash
                with lock:
                    errors.append(repr(exc))

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(worker) for _ in range(clients)]:
            future.result(timeout=600)
    elapsed = time.perf_counter() - started
    return {
        "signups_per_second": signups / elapsed,
        "seconds": elapsed,
        "errors": len(errors),
        "error_samples": errors[:5],
        **{f"signup_{k}_ms": v for k, v in summarise(whole).items()},
        **{f"post_{k}_ms": v for k, v in summarise(posts).items()},
    }


def summarise(latencies: list[float]) -> dict:
    ms = [v * 1000 for v in latencies]
    return {
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "mean": statistics.fmean(ms),
    }


# ---------------------------------------------------------------------------------------------


def run(kind: str, args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        database_url = fresh_database(kind, Path(tmp))
        env = environment(database_url, port)
        event_id = prepare(database_url, env, args.seats)
        server = Gunicorn(env, port, args.workers, args.worker_class, args.threads)
        try:
            ceiling_rps = ceiling(server.url, args.clients, args.ceiling_requests)
            server_cpu, client_cpu = server.cpu_seconds(), time.process_time()
            result = rush(server.url, event_id, args.clients, args.signups)
            result["server_cpu_ms_per_signup"] = (
                (server.cpu_seconds() - server_cpu) * 1000 / args.signups
            )
            result["client_cpu_ms_per_signup"] = (
                (time.process_time() - client_cpu) * 1000 / args.signups
            )
        finally:
            server.stop()
        result.update(check_database(database_url, event_id))
    result["ceiling_rps"] = ceiling_rps
    result["ratio_to_ceiling"] = result["signups_per_second"] / ceiling_rps
    result["oversold"] = max(0, result["confirmed"] - args.seats)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--signups", type=int, default=500)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seats", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ceiling-requests", type=int, default=2000)
    args = parser.parse_args()

    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(
        f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; gunicorn "
        f"{args.workers} × {args.worker_class} (threads {args.threads}); "
        f"{args.signups} sign-ups by {args.clients} clients for {args.seats} seats"
    )
    results = {}
    for kind in kinds:
        results[kind] = r = run(kind, args)
        print(f"\n[{kind}]")
        print(
            f"  sign-ups/s        {r['signups_per_second']:8.1f}   "
            f"(ceiling /healthz {r['ceiling_rps']:.0f} req/s, ratio {r['ratio_to_ceiling']:.3f})"
        )
        print(
            f"  sign-up latency   p50 {r['signup_p50_ms']:6.0f} ms"
            f"  p95 {r['signup_p95_ms']:6.0f} ms  p99 {r['signup_p99_ms']:6.0f} ms"
            "   (GET form + POST + follow 303)"
        )
        print(
            f"  POST latency      p50 {r['post_p50_ms']:6.0f} ms  p95 {r['post_p95_ms']:6.0f} ms"
            f"  p99 {r['post_p99_ms']:6.0f} ms"
        )
        print(
            f"  CPU per sign-up   server {r['server_cpu_ms_per_signup']:.1f} ms, "
            f"load-generating client {r['client_cpu_ms_per_signup']:.1f} ms (same machine)"
        )
        print(
            f"  confirmed {r['confirmed']} (oversold {r['oversold']}), waitlisted "
            f"{r['waitlisted']} (positions 1…{r['waitlisted']} gap-free: "
            f"{r['positions_gap_free']}), registrations {r['registrations']}, "
            f"errors {r['errors']} {r['error_samples'] or ''}"
        )
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "rush.json").write_text(json.dumps({"args": vars(args), "results": results}, indent=2))
    failed = any(
        r["errors"]
        or r["oversold"]
        or not r["positions_gap_free"]
        or r["registrations"] != args.signups
        for r in results.values()
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
