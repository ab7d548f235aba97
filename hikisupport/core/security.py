"""Security headers on every response.

The CSP allows no inline script and nothing from another host: the service must run inside a
closed municipal network, and personal tokens travel in URLs (hence Referrer-Policy).
"""

from __future__ import annotations

from flask import Flask, request

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# Only the tablet check-in pages may use the camera (for QR scanning).
CAMERA_PATH_PREFIX = "/checkin"


def permissions_policy(path: str) -> str:
    camera = "camera=(self)" if path.startswith(CAMERA_PATH_PREFIX) else "camera=()"
    return ", ".join(
        [camera, "microphone=()", "geolocation=()", "payment=()", "usb=()", "interest-cohort=()"]
    )


def register(app: Flask) -> None:
    @app.after_request
    def set_security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", permissions_policy(request.path))
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("HSTS"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.path.startswith(("/r/", "/staff", "/api/")):
            # Personal pages, rosters, API answers: never kept by a shared or back-button cache
            # (an office PC is shared), never indexed.
            headers["Cache-Control"] = "no-store"
            headers["X-Robots-Tag"] = "noindex, nofollow"
        return response
