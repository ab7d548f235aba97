"""Where a sign-up's server time goes: every request of the verified sign-up, in-process.

Runs step 1 (GET the page, POST the address), step 2 (GET the form by its link, POST it) and
the personal page N times through the Flask test client on a fresh database (a SQLite file, or
with --db postgresql a new database on BENCH_POSTGRES_URL's server; or --database-url), and
prints the CPU time per request of each kind (time.process_time, so a
busy machine inflates it less than wall time) and cProfile's top functions for step 2's POST.

    python bench/profile_signup.py [-n 300] [--db sqlite|postgresql | --database-url URL] [--top 25]
        [--profile "step 2 GET"] [--sort tottime]

The trivial page (GET /healthz, no database) is timed alongside, as the floor every request
pays (Flask, the hooks, the security headers).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HIKISUPPORT_DOTENV", "0")

from rush import CSRF, free_port, fresh_database, step_2_form  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument(
        "--db",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="a fresh database of this kind (PostgreSQL: made on BENCH_POSTGRES_URL's server)",
    )
    parser.add_argument("--database-url", help="this database instead (it must be empty)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--no-profile", action="store_true", help="CPU times only (no cProfile)")
    parser.add_argument(
        "--profile",
        default="step 2 POST",
        metavar="KIND",
        help="which request to profile: 'step 1 GET', 'step 1 POST', 'step 2 GET', "
        "'step 2 POST' (default), 'personal page', 'trivial page'",
    )
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key (tottime …)")
    parser.add_argument(
        "--mail", action="store_true", help="then send the queued mails to an SMTP sink, timed"
    )
    parser.add_argument(
        "--profile-mail",
        metavar="KIND",
        help="with --mail: cProfile the sending of this kind of mail (apply, confirmed …)",
    )
    args = parser.parse_args()
    sink = start_sink() if args.mail else None

    from flask_migrate import upgrade

    from hikisupport import create_app
    from hikisupport.core.database import utcnow
    from hikisupport.core.extensions import db
    from hikisupport.models import Event, OutboxMessage, Session
    from hikisupport.staff.services import get_or_create_organization

    tmp = tempfile.mkdtemp()
    url = args.database_url or fresh_database(args.db, Path(tmp), "hikisupport_profile_signup")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "profile-" + "x" * 40,
            "RATELIMIT_ENABLED": False,
            "APPLY_MAILS_PER_HOUR": 10**6,
            **({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": sink.port} if sink else {}),
        }
    )
    with app.app_context():
        upgrade(directory=str(ROOT / "hikisupport/migrations"))
        now = utcnow()
        start = now + timedelta(days=30)
        event = Event(
            organization=get_or_create_organization("杉並区", kind="ward"),
            kind="course",
            title="プロファイル用の講座",
            capacity=args.n // 5,
            waitlist=True,
            registration_opens_at=now - timedelta(days=1),
            registration_closes_at=start,
            sessions=[
                Session(
                    number=1, starts_at=start, ends_at=start + timedelta(hours=2), venue="区役所"
                )
            ],
        )
        db.session.add(event)
        db.session.commit()
        event_id = event.id

    cpu: dict[str, float] = {}
    profile = cProfile.Profile()
    args_profile = None if args.no_profile else args.profile

    def timed(kind, call, *args, **kwargs):
        profiled = kind == args_profile
        t0 = time.process_time()
        if profiled:
            profile.enable()
        response = call(*args, **kwargs)
        if profiled:
            profile.disable()
        cpu[kind] = cpu.get(kind, 0.0) + time.process_time() - t0
        return response

    link_re = re.compile(r"https?://[^/\s]+(/events/\d+/apply/[A-Za-z0-9_.-]+)")
    for i in range(args.n):
        client = app.test_client()
        address = f"p{i}@example.jp"
        page = timed("step 1 GET", client.get, f"/events/{event_id}/register")
        token = CSRF.search(page.get_data(as_text=True)).group(1)
        data = {"email": address, "csrf_token": token}
        timed("step 1 POST", client.post, f"/events/{event_id}/register", data=data)
        with app.app_context():
            from hikisupport.mail.outbox import body_of

            body = body_of(
                db.session.scalar(
                    db.select(OutboxMessage)
                    .filter_by(recipient=address)
                    .order_by(OutboxMessage.id.desc())
                )
            )[0]
        path = link_re.search(body).group(1)
        page = timed("step 2 GET", client.get, path)
        token = CSRF.search(page.get_data(as_text=True)).group(1)
        data = step_2_form(token, i)
        answer = timed("step 2 POST", client.post, path, data=data)
        assert answer.status_code == 303, answer.status_code
        timed("personal page", client.get, answer.headers["Location"])
        timed("trivial page", client.get, "/healthz")

    print(f"{args.n} sign-ups on {url.split(':', 1)[0]}; server CPU per request:")
    trivial = cpu.pop("trivial page")
    for kind, seconds in cpu.items():
        print(f"  {kind:14s} {seconds * 1000 / args.n:6.2f} ms")
    print(f"  {'sign-up total':14s} {sum(cpu.values()) * 1000 / args.n:6.2f} ms")
    print(f"  {'trivial page':14s} {trivial * 1000 / args.n:6.2f} ms  (GET /healthz)")
    if sink:
        send_timed(app, args.profile_mail, args.top)
        sink.stop()
    if not args.no_profile:
        print(f"\n{args.profile} (times inflated by cProfile), top {args.top} by {args.sort}:")
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)


def start_sink():
    """An SMTP server that accepts everything (its own thread: not in the sender's CPU time)."""
    from aiosmtpd.controller import Controller

    class Accept:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    controller = Controller(Accept(), hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller


def send_timed(app, profiled_kind=None, top=25):
    """What the mail worker spends per mail of each kind (this thread's CPU: building the
    message, its attachments, SMTP, the outbox's transactions); cProfile's top functions for
    `profiled_kind` (its time then inflated by the profiler)."""
    import sqlalchemy as sa

    from hikisupport.core.extensions import db
    from hikisupport.mail.outbox import deliver_due
    from hikisupport.models import OutboxMessage

    with app.app_context():
        kinds: dict[str, list[int]] = {}
        for message_id, kind in db.session.execute(
            sa.select(OutboxMessage.id, OutboxMessage.kind).order_by(OutboxMessage.id)
        ):
            kinds.setdefault(kind, []).append(message_id)
        db.session.remove()
    print("mail worker, CPU per mail sent (to a local SMTP sink):")
    for kind, ids in kinds.items():
        profile = cProfile.Profile() if kind == profiled_kind else None
        with app.app_context():
            t0 = time.thread_time()
            if profile:
                profile.enable()
            report = deliver_due(only=ids, limit=len(ids))
            if profile:
                profile.disable()
            spent = time.thread_time() - t0
        print(f"  {kind:14s} {spent * 1000 / max(report.sent, 1):6.2f} ms  ({report.sent} sent)")
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(top)


if __name__ == "__main__":
    main()
