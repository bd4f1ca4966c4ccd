"""Shared fixtures: one migrated database per run, a rolled-back transaction per test."""
import os

import flask_babel
import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from booking import create_app
from booking.extensions import Session, db
from config import TestingConfig
from tests.factories import Factory

# session fixtures starting the real LDAP, CAS and OpenID Connect servers (campus sign-on)
pytest_plugins = ["tests.servers.fixtures"]


def _test_database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url:
        return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return _worker_database(url, worker) if worker else url


def _worker_database(url: str, worker: str) -> str:
    """Parallel workers (pytest -n) each get a database of their own beside the named one:
    every worker drops and rebuilds the schema as it starts."""
    named = make_url(url)
    name = f"{named.database}_{worker}"
    engine = create_engine(named, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                 {"name": name}):
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return named.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    return _test_database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        UPLOAD_DIR = str(tmp_path_factory.mktemp("uploads"))

    app = create_app(Config)
    with app.app_context():
        _migrate_fresh()
    return app


def _migrate_fresh():
    """Build the schema through the real migrations, as production does."""
    from flask_migrate import upgrade

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade()


@pytest.fixture(autouse=True)
def _db_transaction(request):
    """Each test runs inside a transaction that is rolled back, so tests never see each other.

    Tests marked `committing` (live servers, races) skip this and clean up after themselves.
    """
    if "unit" in request.path.parts:
        yield
        return
    app = request.getfixturevalue("app")
    # kept calendars are valid for committed data only: what a test wrote is rolled back (and
    # SQLite then hands out the same ids and versions again)
    app.extensions["calendar_cache"].clear()
    if "committing" in request.keywords:
        yield
        return
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = db._make_scoped_session({"class_": Session, "bind": connection,
                                               "join_transaction_mode": "create_savepoint"})
        try:
            yield
        finally:
            db.session.remove()
            outer.rollback()
            connection.close()
            db.session = original


class Client(FlaskClient):
    """Tests keep one app context open for the whole test (one DB transaction), so requests
    share its `g`. Production gives each request a fresh `g`: reset what extensions cache."""

    def open(self, *args, **kwargs):
        if has_app_context():
            g.pop("_login_user", None)
            g.pop("unread_notices", None)  # the inbox badge's count, kept for one request
            flask_babel.refresh()
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = Client
    return app.test_client()


@pytest.fixture
def make(app):
    return Factory()


@pytest.fixture
def login(client):
    def _login(user, password=Factory.PASSWORD):
        client.post("/logout")  # logging in while logged in would keep the first user
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return user
    return _login


@pytest.fixture
def api_token(make):
    def _token(user):
        from booking.accounts.services import create_api_token

        _, raw = create_api_token(user, "test")
        db.session.commit()
        return {"Authorization": f"Bearer {raw}"}
    return _token
