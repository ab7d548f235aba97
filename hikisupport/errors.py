"""Error pages in Japanese; a 500 rolls the session back so nothing half-done is kept."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from hikisupport.extensions import db

MESSAGES = {
    400: ("リクエストが正しくありません", "入力内容を確認して、もう一度お試しください。"),
    403: ("この操作は許可されていません", "権限がないか、ログインが必要です。"),
    404: (
        "ページが見つかりません",
        "URLが正しいか確認してください。申し込み確認用のリンクは、"
        "お送りしたメールに記載されています。",
    ),
    405: ("この方法ではアクセスできません", "ページを開き直してください。"),
    409: ("処理できませんでした", "状態が変わった可能性があります。ページを開き直してください。"),
    413: ("送信された内容が大きすぎます", "入力内容を短くして、もう一度お試しください。"),
    429: ("アクセスが集中しています", "しばらく待ってから、もう一度お試しください。"),
    500: (
        "システムエラーが発生しました",
        "申し訳ありません。時間をおいて、もう一度お試しください。",
    ),
}


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def render_error(status: int, title: str | None = None, detail: str | None = None):
    default_title, default_detail = MESSAGES.get(status, MESSAGES[400])
    title, detail = title or default_title, detail or default_detail
    if _wants_json():
        # A stable code from the status's name: not_found, forbidden, method_not_allowed …
        code = HTTP_STATUS_CODES.get(status, "error").lower().replace(" ", "_")
        return {"error": code, "message": f"{title}。{detail}"}, status
    return render_template("errors/error.html", status=status, title=title, detail=detail), status


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(
            400,
            "送信を受け付けられませんでした",
            "ページを開いてから時間がたったか、Cookieが無効になっています。"
            "ページを開き直して、もう一度送信してください。",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        db.session.rollback()
        return render_error(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error")
        return render_error(500)
