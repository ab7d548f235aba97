"""The benchmarks fill the real schema with bulk SQL: the schema grows (a NOT NULL column), the
benchmark must still fill it. A small fill on each backend, read back by the report's own
functions."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from hikisupport.core.extensions import db
from hikisupport.models import Municipality, Organization, Person

BENCH = Path(__file__).resolve().parent.parent / "bench"


def load(path: Path):
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(BENCH))  # the scripts import each other as they do when run
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module


@pytest.mark.parametrize("path", sorted(BENCH.glob("*.py")), ids=lambda p: p.name)
def test_every_benchmark_script_loads(path):
    """A helper renamed in one script must not break another one nobody runs in CI."""
    module = load(path)
    assert callable(getattr(module, "main", None)), f"{path.name} has no main()"


def load_report_bench():
    return load(BENCH / "report.py")


def test_the_report_benchmark_fills_the_current_schema(app):
    from hikisupport.reports.services import count_supporters, lecture_attendance

    bench = load_report_bench()
    db.session.add(Organization(id=1, name="杉並区", kind="ward"))
    db.session.add(Municipality(name="杉並区", code="131156"))
    db.session.commit()
    with db.engine.begin() as conn:
        sizes = bench.fill(conn, 10_000)  # its smallest size
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == sizes["persons"]
    assert count_supporters().total > 0
    assert sum(row.attendances for row in lecture_attendance()) > 0
