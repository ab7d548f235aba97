"""The tablet pages under /checkin: the check-in page, pairing, and the service worker.

The check-in page holds no data: it is the same for everyone (so the service worker can keep
it for offline use), and everything it shows comes from the API with the device token that
pairing put in the page's storage.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from flask import Blueprint, current_app, render_template, request

from hikisupport.checkin import services
from hikisupport.checkin.forms import PairForm
from hikisupport.core.errors import answer_refusals_with
from hikisupport.core.limits import per_client
from hikisupport.core.transaction import no_transaction
from hikisupport.models import AgeGroup, Residency
from hikisupport.staff.access import public

bp = Blueprint("checkin", __name__, url_prefix="/checkin")

# What the service worker keeps for offline use (besides the page itself).
OFFLINE_ASSETS = (
    "favicon.svg",
    "vendor/digital-go-jp-design-tokens/tokens.css",
    "css/app.css",
    "css/checkin.css",
    "js/app.js",
    "js/checkin/app.js",
    "js/checkin/api.js",
    "js/checkin/store.js",
    "js/checkin/scanner.js",
    "js/checkin/feedback.js",
    "js/checkin/text.js",
    "vendor/idb/index.js",
    "vendor/jsqr/jsQR.js",
)
NO_STORE = {"Cache-Control": "no-store"}


@bp.get("/")
@public
def page():
    """The check-in page for a paired tablet (QR, ticket code, name search, walk-ins)."""
    return render_template(
        "checkin/index.html",
        residencies=Residency.labels(),
        age_groups=AgeGroup.labels(),
    )


@bp.route("/pair", methods=["GET", "POST"])
@public
@per_client("PAIR_RATE_LIMIT", methods=("POST",))
def pair():
    """Pair this tablet with a device: the one-time code from the staff page (or its QR)."""
    form = PairForm()

    def page(refusal=None):
        return render_template("checkin/pair.html", form=form, refusal=refusal)

    if request.method == "GET":
        return page(), 200, NO_STORE
    if not form.validate():
        return page(), 422, NO_STORE
    answer_refusals_with(form, page)
    device, token = services.pair(form.code.data)
    return render_template("checkin/paired.html", device=device, token=token), 200, NO_STORE


@bp.get("/sw.js")
@public
@no_transaction
def service_worker():
    """The service worker, with the version of the files it keeps (a change means a new one)."""
    script, version = _service_worker()
    return (
        script,
        200,
        {
            "Content-Type": "text/javascript; charset=utf-8",
            "Cache-Control": "no-cache",
            "Service-Worker-Allowed": "/checkin/",
        },
    )


@functools.cache
def _service_worker_cached(static_folder: str, mtimes: tuple) -> tuple[str, str]:
    static = Path(static_folder)
    digest = hashlib.sha256()
    for name in OFFLINE_ASSETS:
        digest.update((static / name).read_bytes())
    template = Path(current_app.template_folder) / "checkin/index.html"
    digest.update(template.read_bytes())
    version = digest.hexdigest()[:16]
    source = (static / "js/checkin/sw.js").read_text(encoding="utf-8")
    assets = ", ".join(f'"/static/{name}"' for name in OFFLINE_ASSETS)
    return source.replace("__VERSION__", version).replace('"__ASSETS__"', assets), version


def _service_worker() -> tuple[str, str]:
    static = Path(current_app.static_folder)
    files = [static / n for n in (*OFFLINE_ASSETS, "js/checkin/sw.js")]
    files.append(Path(current_app.template_folder) / "checkin/index.html")
    mtimes = tuple(f.stat().st_mtime_ns for f in files)
    return _service_worker_cached(str(static), mtimes)
