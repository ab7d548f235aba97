"""`GET /healthz`: the process is up (for load balancers and as the benchmark's ceiling)."""

from flask import Blueprint

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Answers without touching the database."""
    return {"status": "ok"}
