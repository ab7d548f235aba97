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
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
timeout = 30
graceful_timeout = 30
