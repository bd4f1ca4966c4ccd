"""Flask extensions, created unbound and initialised in create_app()."""
from flask import current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_login.signals import user_accessed
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSASession
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData

# Deterministic constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}



class Session(FlaskSASession):
    """Flask-SQLAlchemy's session, except that an explicit `bind` wins: tests bind the session
    to a connection inside an outer transaction and roll it back after each test."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and self.bind is not None:
            return self.bind
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


class CookieLoginManager(LoginManager):
    """Flask-Login's manager, except that a request without cookies is anonymous at once:
    users are loaded only from the session and remember-me cookies, and the session check's
    hash of address and browser, with the cookie parsing, cost a tenth of a kept calendar."""

    def _load_user(self):
        if "HTTP_COOKIE" in request.environ:
            return super()._load_user()
        user_accessed.send(current_app._get_current_object())
        return self._update_request_context_with_user()


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION),
                session_options={"class_": Session})
migrate = Migrate()
login_manager = CookieLoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
