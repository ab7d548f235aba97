"""Where a check-in's server time goes: the check-in API in-process, on SQLite or PostgreSQL.

Prepares the world of `bench/checkin.py` (a course of three sessions held today, N confirmed
people, one device), then checks everyone in at session 1, 2 and 3 through the Flask test
client with the device's token. The third check-in completes the course, so it also certifies
the person (numbers and records the certification, queues its mail). Prints the CPU time
(time.process_time) and the number of SQL statements per check-in of each kind, the wall time
per request (the database's share included: on PostgreSQL its round trips and its server's
work), and cProfile's top functions for the completing one (``--profile`` another).

With ``--batch N`` the check-ins go N at a time through the batch API (an offline queue being
sent), and the figures are per batch request as well as per check-in.

    python bench/profile_checkin.py [-n 200] [--db sqlite|postgresql] [--batch 1] [--top 30]
                                    [--no-profile] [--dump FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HIKISUPPORT_DOTENV", "0")

from checkin import prepare  # noqa: E402
from rush import environment, free_port, fresh_database  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--batch", type=int, default=1, help="check-ins per request (batch API)")
    parser.add_argument("--no-profile", action="store_true", help="CPU times only (no cProfile)")
    parser.add_argument(
        "--show-sql", action="store_true", help="print the statements of each kind's first check-in"
    )
    parser.add_argument(
        "--profile", type=int, choices=[1, 2, 3], default=3, help="the session to profile"
    )
    parser.add_argument("--dump", metavar="FILE", help="also write the profile to FILE (pstats)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        database_url = fresh_database(args.db, Path(tmp), "hikisupport_profile_checkin")
        env = {**environment(database_url, free_port(), free_port()), "RATELIMIT_ENABLED": "0"}
        world = prepare(database_url, env, args.n, 1)

        import sqlalchemy as sa

        from hikisupport import create_app
        from hikisupport.core.extensions import db

        app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": False})
        client = app.test_client()
        headers = {"Authorization": f"Bearer {world['tokens'][0]}"}
        statements = 0

        shown: list[str] | None = None

        def count(conn, cursor, statement, *_):
            nonlocal statements
            statements += 1
            if shown is not None:
                shown.append(" ".join(statement.split())[:160])

        with app.app_context():
            sa.event.listen(db.engine, "before_cursor_execute", count)
        profile = cProfile.Profile()
        kinds = ["session 1", "session 2", "session 3 (completes, certifies)"]
        cpu = dict.fromkeys(kinds, 0.0)
        wall = dict.fromkeys(kinds, 0.0)
        counted = dict.fromkeys(kinds, 0)
        for kind, session_id in zip(kinds, world["sessions"], strict=True):
            profiled = kind == kinds[args.profile - 1] and not args.no_profile
            tickets = world["tickets"]
            for i in range(0, len(tickets), args.batch):
                chunk = tickets[i : i + args.batch]
                shown = [] if args.show_sql and i == 0 else None
                items = [
                    {
                        "id": str(uuid.uuid4()),
                        "ticket": ticket,
                        "session_id": session_id,
                        "scanned_at": datetime.now(UTC).isoformat(),
                        "method": "qr",
                    }
                    for ticket in chunk
                ]
                before, t0, w0 = statements, time.process_time(), time.perf_counter()
                if profiled:
                    profile.enable()
                if args.batch > 1:
                    response = client.post(
                        "/api/v1/checkins/batch", json={"checkins": items}, headers=headers
                    )
                else:
                    response = client.post("/api/v1/checkins", json=items[0], headers=headers)
                if profiled:
                    profile.disable()
                cpu[kind] += time.process_time() - t0
                wall[kind] += time.perf_counter() - w0
                counted[kind] += statements - before
                assert response.status_code in (200, 201), response.get_data(as_text=True)
                if args.batch > 1:
                    answered = [r["http_status"] for r in response.get_json()["results"]]
                    assert answered == [201] * len(chunk), response.get_data(as_text=True)
                if shown is not None:
                    print(f"{kind}:", *shown, sep="\n    ")
                    shown = None
        print(
            f"{args.n} people on {args.db}, {args.batch} per request; "
            "server CPU and SQL statements per check-in (and per request; its wall time):"
        )
        requests = -(-args.n // args.batch)
        for kind in kinds:
            print(
                f"  {kind:34s} {cpu[kind] * 1000 / args.n:6.2f} ms  {counted[kind] / args.n:5.1f}"
                f"  ({cpu[kind] * 1000 / requests:7.2f} ms  {counted[kind] / requests:6.1f};"
                f" wall {wall[kind] * 1000 / requests:7.2f} ms)"
            )
        with app.app_context():
            db.engine.dispose()
        if not args.no_profile:
            print(
                f"\n{kinds[args.profile - 1]} (times inflated by cProfile), "
                f"top {args.top} by cumulative time:"
            )
            pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)
            if args.dump:
                profile.dump_stats(args.dump)


if __name__ == "__main__":
    main()
