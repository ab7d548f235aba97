"""Rules for the suite itself: it never hangs, never writes into the checkout, and a
developer's environment (`.env`, shell variables) cannot change what it tests."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import config
from hikisupport import PROJECT_ROOT, create_app

TESTS = Path(__file__).resolve().parent


def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def _name(call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def test_every_wait_in_the_tests_has_a_timeout():
    """A thread join, a barrier, a pool map or a future's result without a timeout would hang
    the whole run when a server stops answering."""
    unbounded = []
    for path in sorted(TESTS.rglob("*.py")) + sorted((PROJECT_ROOT / "bench").glob("*.py")):
        for call in _calls(ast.parse(path.read_text(), str(path))):
            name, keywords = _name(call), {k.arg for k in call.keywords}
            if (
                (name == "join" and not call.args and not keywords)
                or (name == "Barrier" and "timeout" not in keywords)
                or (name == "map" and "timeout" not in keywords and _is_pool(call))
                or (name == "result" and not call.args and not keywords)
            ):
                unbounded.append(f"{path.relative_to(PROJECT_ROOT)}:{call.lineno} {name}()")
    assert unbounded == []


def _is_pool(call) -> bool:
    target = call.func.value if isinstance(call.func, ast.Attribute) else None
    return isinstance(target, ast.Name) and target.id in {"pool", "executor"}


def test_apps_made_by_tests_keep_their_files_outside_the_checkout():
    """An app without TESTING writes its secret key to the instance folder: under tests that
    folder is a temporary one, never the checkout's instance/."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    instance = Path(app.instance_path).resolve()
    assert not instance.is_relative_to(PROJECT_ROOT)
    assert (instance / "secret_key").exists()


def test_a_dotenv_file_is_not_read_under_tests(tmp_path):
    """config.py reads `.env` from the working directory; the suite turns that off, and clears
    the contract's variables, so a developer's settings never reach a test."""
    assert config.DOTENV_LOADED is False
    assert "DATABASE_URL" not in os.environ and "SECRET_KEY" not in os.environ
    (tmp_path / ".env").write_text("DATABASE_URL=postgresql://leaked/db\nSECRET_KEY=leaked\n")
    probe = "import config; print(config.Config.SQLALCHEMY_DATABASE_URI, config.DOTENV_LOADED)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    read = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert read.stdout.split() == ["None", "False"], read.stderr  # the suite's switch holds
    env.pop("HIKISUPPORT_DOTENV")
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert loaded.stdout.split() == ["postgresql://leaked/db", "True"], loaded.stderr
