"""`GET /healthz`: the process is up (for load balancers and as the benchmark's ceiling)."""

from flask import Blueprint

from hikisupport.core.transaction import no_transaction

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@no_transaction
def healthz():
    """Answers without touching the database."""
    return {"status": "ok"}
