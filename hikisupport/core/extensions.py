"""Unbound extension objects, imported by every area without import cycles."""

from flask import globals as flask_globals
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from hikisupport.core.database import Base
from hikisupport.core.smtp import Mail


def _session_scope() -> int:
    """One database session per request, else per app context (CLI, tests).

    Flask-SQLAlchemy scopes sessions to the app context; a request that runs inside an app
    context someone else pushed (a test, a CLI command) would then share that session and its
    open transaction. Scoping to the request keeps every request's transaction its own.
    """
    ctx = flask_globals._cv_request.get(None) or flask_globals._cv_app.get(None)
    return id(ctx)


db = SQLAlchemy(model_class=Base, session_options={"scopefunc": _session_scope})
migrate = Migrate()
csrf = CSRFProtect()
mail = Mail()
login_manager = LoginManager()
