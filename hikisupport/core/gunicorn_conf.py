"""gunicorn settings for hikisupport: `gunicorn -c python:hikisupport.core.gunicorn_conf
'hikisupport:create_app()'` (command-line options override them).

Timeouts are set together: a worker that does not answer within `timeout` seconds is killed,
and every request on it gets a reset connection. A request waiting for the database's write
lock therefore gives up first — after SQLITE_BUSY_TIMEOUT_MS (SQLite, default 10 s) or
POSTGRES_LOCK_TIMEOUT_MS (PostgreSQL, default 10 s) — and answers 503 with Retry-After and a
Japanese message, well before the worker would be killed. Keep `timeout` at least three times
the lock timeouts (tests/test_busy.py checks the defaults).
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")  # behind the TLS reverse proxy


def default_workers(database_url: str | None, cores: int) -> int:
    """Sync workers for this database on this many cores.

    Fewer than gunicorn's usual 2 × cores + 1: a request here is CPU work (templates,
    SQLAlchemy), the database and the mail workers share the same cores, and every extra
    process lengthens the queue for the CPU and the locks. On SQLite (one writer at a time) one
    per core, at least two: a third worker only adds a waiter for the write lock. On PostgreSQL
    (row locks) one per core and one more, to use the time a worker waits for its round trips.
    Measured on 2 cores (README, "Benchmark"), 20 tablets checking in at full speed, server
    p99: SQLite 24 ms with 2 workers, 63–73 ms with 3, 209 ms with 5; PostgreSQL 22 ms with 2,
    34 ms with 3, 59 ms with 5 — but PostgreSQL's sign-up rush ran 5–10 % more sign-ups a second
    with 3 than with 2, and both meet the check-in goal (p99 < 50 ms).
    """
    if not database_url or database_url.startswith("sqlite"):
        return max(2, cores)
    return cores + 1


workers = int(
    os.environ.get(
        "GUNICORN_WORKERS",
        default_workers(os.environ.get("DATABASE_URL"), multiprocessing.cpu_count()),
    )
)
timeout = 30
graceful_timeout = 30
