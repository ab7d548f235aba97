"""The supporter report under load: how long the JSON report and the policy page take with
100,000 persons, 1,000,000 attendance rows and 30,000 certifications over six fiscal years, on
SQLite and PostgreSQL — and how the time grows from 10k to 100k to 1M attendance rows.

For each database and size this

1. makes a fresh database (a SQLite file; a new PostgreSQL database on the local server) with
   the models' schema (the same indexes as `flask db upgrade`);
2. fills it with bulk ``INSERT … SELECT`` statements from a number series (generate_series on
   PostgreSQL, a recursive CTE on SQLite) — no Python loop over rows:
   persons = rows/10, registrations = rows/3 (each attends its event's 3 sessions), events =
   rows/1000 (one in three a 講演会), certifications = 3 % of rows, over FY2025…FY2030;
3. times, in-process through the Flask test client signed in as the policy role,
   ``GET /api/v1/reports/supporters`` and ``GET /reports/supporters`` (warm-up, then repeats:
   median and p95), and `count_supporters()` / `lecture_attendance()` alone (the latter read
   from the kept ``lecture_participations``, and counted from every attendance row as a report
   for a past day is);
4. prints a table and writes the figures as JSON.

Run by hand (not part of the test suite):

    .venv/bin/python bench/report.py [--db sqlite|postgresql|both] [--sizes 10000,100000,1000000]
                                     [--repeat 10] [--json bench/report-results.json]

PostgreSQL: ``BENCH_POSTGRES_URL`` (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres)
is the maintenance database used to create and drop ``hikisupport_bench_report``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HIKISUPPORT_DOTENV", "0")

POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BENCH_DB = "hikisupport_bench_report"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


# ---------------------------------------------------------------------------------------------
# Bulk data, in SQL


def series(dialect: str, n: int) -> tuple[str, str]:
    """(prefix, FROM clause) yielding g = 1…n."""
    if dialect == "postgresql":
        return "", f"FROM generate_series(1, {n}) AS s(g)"
    return (
        f"WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {n}) ",
        "FROM s",
    )


def at(dialect: str, base: str, days: str, hours: int = 0) -> str:
    """A UTC timestamp `days` (an SQL expression) after the date `base` (JST midnight)."""
    if dialect == "postgresql":
        return (
            f"(timestamptz '{base} 00:00+09' + ({days}) * interval '1 day' "
            f"+ interval '{hours} hours')"
        )
    return f"datetime('{base}', '-9 hours', '+' || ({days}) || ' days', '+{hours} hours')"


def with_required_columns(d: str, statement: str) -> str:
    """``statement`` with every NOT NULL column it leaves out (and the schema gives no server
    default) set to a neutral value: the schema grows, the benchmark keeps filling it."""
    from hikisupport.core.extensions import db

    now = "now()" if d == "postgresql" else "datetime('now')"
    match = re.search(r"INSERT INTO (\w+) \(([^)]*)\) SELECT ", statement)
    table, listed = match.group(1), {c.strip() for c in match.group(2).split(",")}
    extra_names, extra_values = [], []
    for column in db.metadata.tables[table].columns:
        if column.name in listed or column.nullable or column.server_default is not None:
            continue
        try:
            kind = column.type.python_type
        except NotImplementedError:
            kind = str
        value = {bool: "false", int: "0", float: "0"}.get(kind)
        if value is None:
            value = now if "date" in kind.__name__ else ("'[]'" if kind in (list, dict) else "''")
        extra_names.append(column.name)
        extra_values.append(value)
    if not extra_names:
        return statement
    head, _, tail = statement.partition(") SELECT ")
    select, _, source = tail.rpartition(" FROM ")
    names, values = ", ".join(extra_names), ", ".join(extra_values)
    return f"{head}, {names}) SELECT {select}, {values} FROM {source}"


def fill(conn, rows: int) -> dict:
    d = conn.dialect.name
    persons, registrations, events = rows // 10, rows // 3, max(rows // 1000, 3)
    per_event = registrations // events
    registrations = per_event * events
    certifications = rows * 3 // 100
    now = "now()" if d == "postgresql" else "datetime('now')"
    false = "false"
    statements = []

    pre, src = series(d, persons)
    statements.append(
        f"{pre}INSERT INTO persons (id, email, name_key, created_at) "
        f"SELECT g, 'p' || g || '@bench.invalid', 'ベンチ' || g, {now} {src}"
    )
    pre, src = series(d, events)
    start = at(d, "2025-04-01", "(g * 37) % 2190", 1)
    statements.append(
        f"{pre}INSERT INTO events (id, organization_id, kind, title, description, audience, fee, "
        "capacity, waitlist, admission, certifies, eligible_residencies, registration_opens_at, "
        "registration_closes_at, status, reminder_text, created_at, updated_at) "
        "SELECT g, 1, CASE WHEN g % 3 = 0 THEN 'lecture' ELSE 'course' END, "
        "'講座 ' || g, '', '', '無料', 400, false, 'first_come', "
        "CASE WHEN g % 3 = 0 THEN false ELSE true END, '[\"live\"]', "
        f"{start}, {start}, 'published', '', {now}, {now} {src}"
    )
    pre, src = series(d, events * 3)
    event = "((g - 1) / 3 + 1)"
    number = "((g - 1) % 3 + 1)"
    starts = at(d, "2025-04-01", f"({event} * 37) % 2190 + 7 * ({number} - 1)", 1)
    ends = at(d, "2025-04-01", f"({event} * 37) % 2190 + 7 * ({number} - 1)", 3)
    statements.append(
        f"{pre}INSERT INTO sessions (id, event_id, number, starts_at, ends_at, venue, access) "
        f"SELECT g, {event}, {number}, {starts}, {ends}, '会場', '' {src}"
    )
    pre, src = series(d, registrations)
    statements.append(
        f"{pre}INSERT INTO registrations (id, event_id, person_id, status, token, ticket, "
        "family_name, given_name, family_name_kana, given_name_kana, phone, residency, "
        "age_group, needs_childcare, needs_sign_language, needs_captioning, needs_wheelchair, "
        "needs_other, childcare_ages, needs, source, cancel_reason, created_at, updated_at) "
        f"SELECT g, (g - 1) / {per_event} + 1, (g - 1) % {persons} + 1, 'confirmed', "
        "'t' || g, 'K' || g, '杉並', '花子', 'スギナミ', 'ハナコ', '0333122111', "
        "CASE g % 4 WHEN 0 THEN 'work' ELSE 'live' END, "
        "CASE g % 6 WHEN 0 THEN '30s' WHEN 1 THEN '40s' WHEN 2 THEN '50s' WHEN 3 THEN '60s' "
        "WHEN 4 THEN '70s' ELSE '20s' END, "
        f"{false}, {false}, {false}, {false}, {false}, '', '', 'web', '', {now}, {now} {src}"
    )
    pre, src = series(d, registrations * 3)
    registration = "((g - 1) / 3 + 1)"
    statements.append(
        f"{pre}INSERT INTO attendances (id, registration_id, session_id, checked_in_at, method) "
        f"SELECT g, {registration}, (({registration} - 1) / {per_event}) * 3 + (g - 1) % 3 + 1, "
        f"{now}, 'qr' {src}"
    )
    pre, src = series(d, certifications)
    i = "(g - 1)"
    course = (
        f"(CASE WHEN ({i} % {events} + 1) % 3 = 0 THEN {i} % {events} ELSE {i} % {events} + 1 END)"
    )
    fy = f"(2025 + {i} % 6)"
    completed = (
        f"(timestamptz '2025-04-01 10:00+09' + ({i} % 6) * interval '1 year' "
        f"+ ({i} * 13 % 360) * interval '1 day')"
        if d == "postgresql"
        else f"datetime('2025-04-01 01:00', '+' || ({i} % 6) || ' years', "
        f"'+' || ({i} * 13 % 360) || ' days')"
    )
    statements.append(
        f"{pre}INSERT INTO certifications (id, person_id, counted_person_id, event_id, "
        "registration_id, fiscal_year, serial, edition, completed_at, residency, age_group, "
        "family_name, given_name, source, verification_code, reason, certified_by, created_at, "
        "revoked_at, revocation, revoked_by, revoke_reason) "
        f"SELECT g, ({i} * 7) % {persons} + 1, ({i} * 7) % {persons} + 1, {course}, NULL, {fy}, "
        f"{i} / 6 + 1, 1, {completed}, CASE g % 5 WHEN 0 THEN 'work' ELSE 'live' END, '50s', "
        "'杉並', '花子', 'attendance', 'code' || g, '', '', "
        f"{now}, CASE WHEN g % 97 = 0 THEN {now} END, CASE WHEN g % 97 = 0 THEN 'revoked' END, "
        "'', '' " + src
    )
    started = time.perf_counter()
    for statement in statements:
        statement = with_required_columns(d, statement)
        # psycopg reads % as a placeholder in driver SQL: double it there.
        conn.exec_driver_sql(statement.replace("%", "%%") if d == "postgresql" else statement)
    # What the application keeps on every check-in, made once for the bulk-filled attendance.
    from hikisupport.reports.participation import rebuild

    participations = rebuild(conn)
    conn.exec_driver_sql("ANALYZE")
    return {
        "lecture_participations": participations,
        "attendances": registrations * 3,
        "persons": persons,
        "registrations": registrations,
        "events": events,
        "certifications": certifications,
        "fill_seconds": round(time.perf_counter() - started, 1),
    }


# ---------------------------------------------------------------------------------------------
# Timing


def timed(call, repeat: int) -> dict:
    call()  # warm-up (template compilation, plans, caches)
    call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return {
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(percentile(times, 95), 1),
        "min_ms": round(min(times), 1),
    }


def run_one(url: str, rows: int, repeat: int) -> dict:
    from hikisupport import create_app
    from hikisupport.core.extensions import db
    from hikisupport.models import IndicatorTarget, Municipality, Organization, StaffUser
    from hikisupport.reports.services import (
        count_supporters,
        lecture_attendance,
        lecture_attendance_counted,
        today_in_japan,
    )

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.add(Organization(id=1, name="杉並区", kind="ward"))
        db.session.add(Municipality(name="杉並区", code="131156"))
        db.session.add_all(
            [
                IndicatorTarget(fiscal_year=2026, target=120),
                IndicatorTarget(fiscal_year=2030, target=360),
            ]
        )
        policy = StaffUser(email="policy@bench.invalid", role="policy", password_hash="!")
        db.session.add(policy)
        db.session.commit()
        with db.engine.begin() as conn:
            sizes = fill(conn, rows)
        staff_id = policy.get_id()
    # Requests run outside the set-up's app context, each in its own (as a server runs them).
    client = app.test_client()
    client.get("/staff/login")
    with client.session_transaction() as session:
        session["_user_id"] = staff_id
        session["_fresh"] = True

    def get(path):
        def call():
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            return response

        return call

    body = get("/api/v1/reports/supporters")().json
    result = {
        **sizes,
        "total_supporters": body["fiscal_years"][-1]["cumulative"] if body["fiscal_years"] else 0,
        "json": timed(get("/api/v1/reports/supporters"), repeat),
        "html": timed(get("/reports/supporters"), repeat),
    }

    def alone(function):
        def call():
            with app.app_context():
                function()
                db.session.remove()

        return call

    result["count_supporters"] = timed(alone(count_supporters), repeat)
    result["lecture_attendance"] = timed(alone(lecture_attendance), repeat)
    # The same figures counted from every attendance row (what a day in the past costs).
    result["lecture_attendance_counted"] = timed(
        alone(lambda: lecture_attendance_counted(today_in_japan())), repeat
    )
    with app.app_context():
        db.drop_all()
        db.engine.dispose()
    return result


def postgres_url() -> str:
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {BENCH_DB}")
        conn.exec_driver_sql(f"CREATE DATABASE {BENCH_DB}")
    admin.dispose()
    return (
        sa.engine.make_url(POSTGRES_ADMIN_URL)
        .set(database=BENCH_DB)
        .render_as_string(hide_password=False)
    )


def drop_postgres() -> None:
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {BENCH_DB}")
    admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = []
    for backend in backends:
        for rows in sizes:
            if backend == "sqlite":
                folder = tempfile.mkdtemp(prefix="bench-report-")
                url = f"sqlite:///{folder}/bench.sqlite3"
            else:
                url = postgres_url()
            try:
                result = {"backend": backend, **run_one(url, rows, args.repeat)}
            finally:
                if backend == "postgresql":
                    drop_postgres()
            results.append(result)
            print(
                f"{backend:<10} {result['attendances']:>9} attendances {result['persons']:>7} "
                f"persons {result['certifications']:>6} certifications (filled in "
                f"{result['fill_seconds']} s): JSON {result['json']['median_ms']} ms "
                f"(p95 {result['json']['p95_ms']}), page {result['html']['median_ms']} ms "
                f"(p95 {result['html']['p95_ms']}), count_supporters "
                f"{result['count_supporters']['median_ms']} ms, lecture_attendance "
                f"{result['lecture_attendance']['median_ms']} ms (counted from every row "
                f"{result['lecture_attendance_counted']['median_ms']} ms)",
                flush=True,
            )
    report = {"machine": os.uname().nodename, "cpus": os.cpu_count(), "results": results}
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=2))
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
