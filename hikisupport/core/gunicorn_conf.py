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
# One worker per core and one more, not gunicorn's usual 2 × cores + 1: a request here is
# CPU work (templates, SQLAlchemy), the database and the mail workers share the same cores,
# and every extra process only lengthens the queue for the CPU and the write lock. On the
# 2-core benchmark machine, 3 workers against 5: 20 tablets checking in at full speed, server
# p99 35 ms against 59 ms (PostgreSQL) and 63 ms against 187 ms (SQLite); the sign-up rush's
# throughput the same or better (README, "Benchmark").
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
timeout = 30
graceful_timeout = 30
