"""core.reads.attach_loaded: a row read or written with Core becomes the ORM object a query would
have given, without SQL; the hot paths (token check, booking create) rely on it."""
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from booking.accounts import services
from booking.accounts.models import Organisation, User
from booking.core.reads import attach_loaded
from booking.extensions import db
from tests.sql import statements


def test_a_row_becomes_a_loaded_persistent_object(make):
    organisation = make.organisation(name_zh="鞍山钢铁研究院")
    row = db.session.connection().execute(
        select(*Organisation.__table__.c).where(Organisation.id == organisation.id)).one()
    db.session.expunge(organisation)  # the session no longer holds it
    with statements() as seen:
        attached = attach_loaded(db.session, Organisation, row)
        assert attached is not organisation and attached.name_zh == "鞍山钢铁研究院"
    assert seen == []
    state = inspect(attached)
    assert state.persistent and not db.session.new and not db.session.dirty
    attached.name_zh = "鞍钢研究院"  # tracked like any loaded object
    assert attached in db.session.dirty


def test_an_object_the_session_holds_is_returned_as_it_is(make):
    organisation = make.organisation(name_zh="大连化物所")
    row = db.session.connection().execute(
        select(*Organisation.__table__.c).where(Organisation.id == organisation.id)).one()
    organisation.name_zh = "changed, not flushed"
    assert attach_loaded(db.session, Organisation, row) is organisation
    assert organisation.name_zh == "changed, not flushed"


def test_values_must_match_the_table_columns(make):
    organisation = make.organisation()
    db.session.expunge(organisation)
    with pytest.raises(ValueError):
        attach_loaded(db.session, Organisation, (organisation.id, "too few"))


def test_the_token_check_loads_the_user_and_organisation_in_one_statement(make):
    user = make.user()
    _token, raw = services.create_api_token(user, "ci")
    user_id, organisation_id = user.id, user.organisation_id
    db.session.flush()
    db.session.expunge_all()
    with statements(selects=True) as seen:
        found = services.user_for_api_token(raw)
        assert (found.id, found.organisation.id) == (user_id, organisation_id)
        assert found.organisation.verified in (True, False)
    assert len(seen) == 1
    assert isinstance(found, User) and inspect(found).persistent


FIRST_ORM_USE = """
from booking import create_app
from booking.accounts.models import Organisation
from booking.core.reads import attach_loaded
from booking.extensions import db
from config import TestingConfig

class Config(TestingConfig):
    SQLALCHEMY_DATABASE_URI = "sqlite://"

with create_app(Config).app_context():
    values = [None] * len(Organisation.__table__.c)
    values[list(Organisation.__table__.c.keys()).index("id")] = 7
    print(attach_loaded(db.session, Organisation, values).id)
"""


def test_it_works_as_a_fresh_worker_s_first_use_of_the_orm():
    """A gunicorn worker's first API request attaches before any query or constructor has
    set up the mappers' attributes (it once failed there with a 500 on every request)."""
    done = subprocess.run(  # noqa: S603 - this file's own code, in a fresh interpreter
        [sys.executable, "-c", FIRST_ORM_USE], capture_output=True, text=True,
        cwd=Path(__file__).resolve().parents[3], check=False, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "7"), done.stderr[-2000:]
