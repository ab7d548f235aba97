"""Configuration classes, read from environment variables (and `.env`).

`create_app()` picks one by `APP_ENV` (`development`, the default, or `production`); tests pass
`TestingConfig` values or a dict. Every name in the public contract is read here and nowhere else.
"""

from __future__ import annotations

import os

from dotenv import load_dotenv

# `.env` in the working directory, unless HIKISUPPORT_DOTENV=0 (the test suite sets it, so a
# developer's settings never reach a test).
DOTENV_LOADED = os.environ.get("HIKISUPPORT_DOTENV", "1") != "0" and load_dotenv()


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


class Config:
    ENV_NAME = "development"
    # SQLALCHEMY_DATABASE_URI of None means "the SQLite file in the instance folder";
    # create_app fills it in because only the app knows where its instance folder is.
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or None
    # Unset on a development machine: create_app keeps a random key in instance/secret_key.
    SECRET_KEY = os.environ.get("SECRET_KEY") or "unset"
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_USE_SSL = _bool("MAIL_USE_SSL")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "noreply@hikisupport.invalid")
    # Flask-Mail sets no socket timeout; a relay that accepts and never answers would hang the
    # sender for ever.
    MAIL_TIMEOUT = _int("MAIL_TIMEOUT", 10)
    MAIL_MAX_ATTEMPTS = _int("MAIL_MAX_ATTEMPTS", 8)
    # The link to the form mailed at step 1: good for this long (from when it was asked for, or
    # from when registration opens), for every member of a family.
    APPLY_LINK_MAX_AGE = _int("APPLY_LINK_MAX_AGE", 86_400)
    # Per address, counted in the database (every worker agrees): application links for one
    # event, and mails of any kind that a resident's own actions cause, per hour.
    APPLY_MAILS_PER_HOUR = _int("APPLY_MAILS_PER_HOUR", 3)
    RESIDENT_MAILS_PER_HOUR = _int("RESIDENT_MAILS_PER_HOUR", 10)
    # The mail worker (`flask mail send --loop`): seconds between polls of the outbox.
    MAIL_SEND_INTERVAL = float(os.environ.get("MAIL_SEND_INTERVAL") or 1)

    # Per client (Flask-Limiter): the public forms (step 1 and step 2). Generous enough for a
    # ward hall's shared Wi-Fi. RATELIMIT_ENABLED=0 turns them off (a load test from one host).
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or "memory://"
    RATELIMIT_PUBLIC_FORMS = os.environ.get("RATELIMIT_PUBLIC_FORMS") or "30/minute"
    # Request bodies: 1 MB for staff pages and the API, 64 kB for the resident pages.
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 1024 * 1024)
    RESIDENT_MAX_CONTENT_LENGTH = _int("RESIDENT_MAX_CONTENT_LENGTH", 64 * 1024)

    # Sign-in: each (address, client) pair waits after a few failures (staff.services); the
    # account itself locks only after this many failures from all clients together.
    LOGIN_LOCK_FAILURES = _int("LOGIN_LOCK_FAILURES", 50)
    LOGIN_LOCK_MINUTES = _int("LOGIN_LOCK_MINUTES", 60)
    # Check-in: a tablet may undo a check-in this long after the server received it; an upload
    # this long after its scan is flagged late; a pairing code works for this many minutes.
    CHECKIN_UNDO_SECONDS = _int("CHECKIN_UNDO_SECONDS", 90)
    CHECKIN_LATE_AFTER_SECONDS = _int("CHECKIN_LATE_AFTER_SECONDS", 300)
    CHECKIN_PAIRING_MINUTES = _int("CHECKIN_PAIRING_MINUTES", 10)

    # How many reverse proxies in front set X-Forwarded-For/-Proto (0: none, trust nothing).
    TRUSTED_PROXIES = _int("TRUSTED_PROXIES", 0)

    # How long a request waits for the database's write lock before answering 503 (Retry-After):
    # well under gunicorn's worker timeout (30 s, hikisupport/core/gunicorn_conf.py), or a long
    # lock would get every worker killed and residents a reset connection instead of a message.
    SQLITE_BUSY_TIMEOUT_MS = _int("SQLITE_BUSY_TIMEOUT_MS", 10_000)
    POSTGRES_LOCK_TIMEOUT_MS = _int("POSTGRES_LOCK_TIMEOUT_MS", 10_000)
    # Seconds a client is told to wait (Retry-After) when the lock could not be had.
    BUSY_RETRY_AFTER = _int("BUSY_RETRY_AFTER", 5)

    # Looking up certificates at /v/<code>, per client (see RATELIMIT_* above).
    VERIFY_RATE_LIMIT = os.environ.get("VERIFY_RATE_LIMIT") or "30 per minute"
    # Pairing a tablet with its one-time code, per client: a code cannot be guessed by trying.
    PAIR_RATE_LIMIT = os.environ.get("PAIR_RATE_LIMIT") or "10 per minute"

    # The TrueType font embedded in certificates (IPAex明朝; Debian: fonts-ipaexfont).
    CERTIFICATE_FONT = os.environ.get("CERTIFICATE_FONT") or (
        "/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}

    # The blank sign-up form pages (step 1, step 2) rendered once per event and admission state
    # and completed per request (core/pagecache.py). 0: render every page afresh.
    PAGE_CACHE = _bool("PAGE_CACHE", True)
    # Seconds each process holds the municipality's settings (municipality/services.py); saving
    # them drops the process's copy at once, other processes see the change within this time.
    MUNICIPALITY_CACHE_SECONDS = _int("MUNICIPALITY_CACHE_SECONDS", 5)

    # A form's token expires (a page left open on a shared PC); an expired one gets a page that
    # says so and keeps what was typed on the application form.
    WTF_CSRF_TIME_LIMIT = _int("WTF_CSRF_TIME_LIMIT", 3600)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PREFERRED_URL_SCHEME = "http"
    HSTS = False


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    # `make run` turns it on: every mail the service would send, readable at /dev/mailbox from
    # this machine only, so the resident journey works without an SMTP server. Refused in
    # production.
    DEV_MAILBOX = _bool("DEV_MAILBOX")


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret"  # noqa: S105 - fixed on purpose for reproducible tests
    BASE_URL = "http://testserver.invalid"
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 9  # discard port: nothing listens, a test never mails the world by accident
    MAIL_TIMEOUT = 5
    MAIL_DEFAULT_SENDER = "杉並区ひきこもりサポーター事務局 <noreply@hikisupport.test>"
    # Tests sign up many times from one address; the limit tests turn it on.
    RATELIMIT_ENABLED = False
    # Tests change the settings directly in the database: never held between requests.
    MUNICIPALITY_CACHE_SECONDS = 0


class ProductionConfig(Config):
    ENV_NAME = "production"
    # Cookies only over HTTPS. SESSION_COOKIE_SECURE=0 is for a plain-HTTP benchmark on localhost.
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    PREFERRED_URL_SCHEME = "https"
    HSTS = True

    @classmethod
    def check(cls) -> None:
        if not os.environ.get("SECRET_KEY"):
            raise RuntimeError("SECRET_KEY must be set in production (APP_ENV=production).")
        if _bool("DEV_MAILBOX"):
            raise RuntimeError(
                "DEV_MAILBOX shows every mail to whoever opens it: never in production."
            )


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
