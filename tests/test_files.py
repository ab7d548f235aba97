"""Files with personal data are readable by the service's own user only: the SQLite database
and its -wal and -shm files are created 0600, like the secret key."""

import os
import stat

import pytest
import sqlalchemy as sa

from hikisupport import create_app
from hikisupport.core.extensions import db


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def usual_umask():
    previous = os.umask(0o022)  # what a service usually runs with: files 0644
    yield
    os.umask(previous)


def test_a_new_sqlite_database_and_its_wal_files_are_private(tmp_path, usual_umask):
    path = tmp_path / "hikisupport.sqlite3"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        db.create_all()
        with db.engine.begin() as conn:  # a write: WAL mode makes the -wal and -shm files
            conn.execute(
                sa.text(
                    "INSERT INTO organizations (name, kind, created_at) "
                    "VALUES ('杉並区', 'ward', '2026-12-01 00:00:00')"
                )
            )
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            files = [
                path,
                tmp_path / "hikisupport.sqlite3-wal",
                tmp_path / "hikisupport.sqlite3-shm",
            ]
            assert all(f.exists() for f in files)
            assert {f.name: oct(mode(f)) for f in files} == {f.name: "0o600" for f in files}
        db.engine.dispose()


def test_an_existing_database_readable_by_others_is_tightened(tmp_path, usual_umask):
    path = tmp_path / "old.sqlite3"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        with db.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        db.engine.dispose()
    assert mode(path) == 0o600


def test_the_default_database_in_the_instance_folder_is_private(monkeypatch, usual_umask):
    import config

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(config.Config, "SQLALCHEMY_DATABASE_URI", None)
    app = create_app(config.DevelopmentConfig)
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    with app.app_context():
        with db.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        db.engine.dispose()
    assert mode(path) == 0o600
    assert mode(os.path.join(app.instance_path, "secret_key")) == 0o600
