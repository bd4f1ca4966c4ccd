import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from booking.extensions import db
from booking.instruments.search_index import include_object


def test_models_and_migrations_agree(app):
    """The migrated schema matches the models: no pending autogenerate diff."""
    context = MigrationContext.configure(db.session.connection(), opts={
        "compare_type": True, "include_object": include_object})
    diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_aware_utc_roundtrip(app, make):
    from datetime import UTC, datetime, timedelta, timezone

    from booking.core.audit import AuditEvent

    shanghai = timezone(timedelta(hours=8))
    event = AuditEvent(action="test", created_at=datetime(2026, 3, 1, 9, 30, tzinfo=shanghai))
    db.session.add(event)
    db.session.commit()
    db.session.expire_all()
    loaded = db.session.get(AuditEvent, event.id)
    assert loaded.created_at.utcoffset() == timedelta(0)
    assert loaded.created_at == datetime(2026, 3, 1, 1, 30, tzinfo=UTC)


# --- 0008: samples of staff-operated bookings ----------------------------------------------------
PARTIAL_INDEXES = {"uq_invoice_lines_usage_session": "kind = 'usage'",
                   "uq_invoice_lines_booking_penalty": "kind IN ('no_show', 'late_cancel')",
                   "uq_invoice_lines_booking_samples": "kind = 'samples'"}


def _schema_guards(connection) -> dict:
    """The partial unique indexes of invoice_lines (name: definition) and the no-overlap guard
    of bookings (SQLite triggers, PostgreSQL exclusion constraint)."""
    from sqlalchemy import text

    if connection.dialect.name == "sqlite":
        indexes = dict(connection.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = 'invoice_lines' AND name LIKE 'uq_%'")).all())
        guards = set(connection.scalars(text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'bookings' "
            "AND name LIKE 'bookings_no_overlap_%'")))
    else:
        indexes = dict(connection.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'invoice_lines' "
            "AND indexname LIKE 'uq_%'")).all())
        guards = set(connection.scalars(text(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'bookings'::regclass "
            "AND contype = 'x'")))
    return {"indexes": indexes, "guards": guards}


def _where(definition: str) -> str:
    """The WHERE clause of an index definition, without PostgreSQL's casts and brackets."""
    where = definition.split("WHERE", 1)[1]
    for noise in ("::text", "::character varying", "ARRAY", "[", "]", "(", ")", " "):
        where = where.replace(noise, "")
    return where.replace("=ANY", "IN").replace("'", "")


def test_invoice_lines_keep_their_partial_indexes_and_bookings_their_guard(app):
    found = _schema_guards(db.session.connection())
    assert set(found["indexes"]) == set(PARTIAL_INDEXES)
    for name, where in PARTIAL_INDEXES.items():
        assert "UNIQUE" in found["indexes"][name]
        assert _where(found["indexes"][name]) == _where(f"WHERE {where}"), name
    assert found["guards"] in ({"bookings_no_overlap_insert", "bookings_no_overlap_update"},
                               {"ex_bookings_no_overlap"})


def test_the_database_checks_line_kinds_and_sample_counts(make):
    import pytest
    from sqlalchemy.exc import IntegrityError

    from booking.billing.models import InvoiceLine
    from booking.bookings.models import Booking
    from booking.core.db import utc

    instrument = make.instrument()
    user = make.user()
    booking = make.placed_booking(instrument, user, utc(2026, 3, 2, 1), mode="staff_operated",
                                  sample_count=2, state="completed")
    invoice = make.issued_invoice(instrument, user.organisation, 10_000, utc(2026, 3, 3))
    line = {"invoice_id": invoice.id, "description": "x", "minutes": 0, "quantity": 1,
            "unit_price_fen": 0, "amount_fen": 0, "booking_id": booking.id}
    table = InvoiceLine.__table__
    for kind in ("samples", "no_show", "usage"):  # one of each kind per booking is fine
        db.session.execute(table.insert().values(**line, kind=kind))
    for values, constraint in (({**line, "kind": "bogus"}, "ck_invoice_lines_kind"),
                               ({**line, "kind": "samples"},  # SQLite names the column
                                r"uq_invoice_lines_booking_samples|invoice_lines\.booking_id")):
        savepoint = db.session.begin_nested()
        with pytest.raises(IntegrityError, match=constraint):
            db.session.execute(table.insert().values(**values))
        savepoint.rollback()
    for count in (-1, 1001):
        savepoint = db.session.begin_nested()
        with pytest.raises(IntegrityError, match="ck_bookings_sample_count"):
            db.session.execute(Booking.__table__.update().where(Booking.id == booking.id)
                               .values(sample_count=count))
        savepoint.rollback()


def _without_later_columns(table, *later):
    """The table as an older revision had it: without the columns later revisions added."""
    import sqlalchemy as sa

    return sa.Table(table.name, sa.MetaData(),
                    *(column._copy() for column in table.c if column.name not in later))


def test_0008_upgrades_and_downgrades_a_filled_database(database_url, tmp_path):
    """From 0007 with rows in every table it touches, to 0008 and back: no row lost, the
    partial indexes and the no-overlap triggers still there (SQLite recreates invoice_lines)."""
    import pytest
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from booking import create_app
    from booking.accounts.models import Organisation, User
    from booking.billing.models import Invoice, InvoiceLine
    from booking.bookings.models import Booking
    from booking.core.db import utc
    from booking.instruments.models import Instrument
    from booking.metering.models import UsageSession
    from config import TestingConfig

    if not database_url.startswith("sqlite"):
        pytest.skip("a second database: the PostgreSQL run migrates its own database through 0008")

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'migrate.sqlite'}"
        UPLOAD_DIR = str(tmp_path)

    other = create_app(Config)
    as_of_0007 = _without_later_columns
    old_bookings = as_of_0007(Booking.__table__, "sample_count", "series_id", "billed_separately",
                              "cancelled_by_id")
    old_organisations = as_of_0007(Organisation.__table__, "legal_person", "active",
                                     "deactivated_at")
    old_instruments = as_of_0007(Instrument.__table__, "check_in_early_minutes",
                                   "asset_number", "national_class", "lab_en",
                                   "description_en", "capabilities_en", "location_en")
    old_users = as_of_0007(User.__table__, "notice_preferences", "session_epoch")
    at = utc(2026, 3, 2, 1)
    with other.app_context():
        upgrade(revision="0007_booking_span")
        with db.engine.begin() as connection:
            def add(table, **values):
                return connection.execute(table.insert().values(**values)).inserted_primary_key[0]

            org = add(old_organisations, kind="university", name_zh="测试大学", name_en="U",
                      city="大连", region_code="2102", credit_code="91210200MA0000001X")
            user = add(old_users, email="u@example.cn", password_hash="x", name="U",
                       organisation_id=org)
            instrument = add(old_instruments, organisation_id=org, name_zh="仪器", lab="L",
                             name_en="I", model="M", manufacturer="H", category="analytical",
                             original_value_fen=1, location="101", info_updated_at=at)
            bookings = [add(old_bookings, instrument_id=instrument, user_id=user,
                            organisation_id=org, start_at=at.replace(hour=h),
                            end_at=at.replace(hour=h + 1), state=state)
                        for h, state in ((1, "completed"), (3, "no_show"))]
            old_sessions = as_of_0007(UsageSession.__table__, "customer_org_id")
            session = add(old_sessions, instrument_id=instrument, user_id=user,
                          booking_id=bookings[0], started_at=at, ended_at=at.replace(hour=2),
                          source="kiosk")
            invoice = add(Invoice.__table__, provider_id=org, customer_org_id=org, number="N-1",
                          state="issued", customer_class="internal", subtotal_fen=150,
                          amount_due_fen=150)
            for kind, booking, usage in (("usage", bookings[0], session),
                                         ("no_show", bookings[1], None)):
                add(InvoiceLine.__table__, invoice_id=invoice, kind=kind, description=kind,
                    amount_fen=75, booking_id=booking, usage_session_id=usage)

        def rows(connection):
            return (connection.execute(sa.text("SELECT id, state FROM bookings ORDER BY id")).all(),
                    connection.execute(sa.text("SELECT id, kind, booking_id, usage_session_id, "
                                               "amount_fen FROM invoice_lines ORDER BY id")).all())

        with db.engine.connect() as connection:
            before = rows(connection)
        upgrade()
        with db.engine.connect() as connection:
            assert rows(connection) == before
            guards = _schema_guards(connection)
            assert set(guards["indexes"]) == set(PARTIAL_INDEXES)
            for name, where in PARTIAL_INDEXES.items():
                assert guards["indexes"][name].endswith(f"WHERE {where}")
            assert guards["guards"] == {"bookings_no_overlap_insert", "bookings_no_overlap_update"}
            assert connection.scalar(sa.text("SELECT sum(sample_count) FROM bookings")) == 0
            assert connection.scalar(sa.text("PRAGMA foreign_key_check")) is None
        downgrade(revision="0007_booking_span")
        with db.engine.connect() as connection:
            assert rows(connection) == before
            guards = _schema_guards(connection)
            assert set(guards["indexes"]) == set(PARTIAL_INDEXES) - {
                "uq_invoice_lines_booking_samples"}
            assert len(guards["guards"]) == 2
            assert "sample_count" not in {c["name"] for c in sa.inspect(connection)
                                          .get_columns("bookings")}
        db.engine.dispose()


def _inserter(connection):
    """add(table, **values) -> the new row's id, on `connection`."""
    def add(table, **values):
        return connection.execute(table.insert().values(**values).returning(table.c.id)).scalar()
    return add


def _university_and_company(add) -> tuple[int, int]:
    from booking.accounts.models import Organisation

    return tuple(add(Organisation.__table__, kind=kind, name_zh=name, name_en=name, city="大连",
                     region_code="2102", credit_code=code)
                 for kind, name, code in (("university", "大学", "91210200MA0000001X"),
                                          ("enterprise", "公司", "91210200MA0000002X")))


# --- 0009: calendar_version and its triggers ----------------------------------------------------
def _scratch_database(database_url: str, tmp_path):
    """A second, empty database of the same kind: (url, drop)."""
    import sqlalchemy as sa

    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'scratch.sqlite'}", lambda: None
    name = f"scratch_{abs(hash(str(tmp_path))) % 10**8}"
    server = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")

    def run(statement):
        with server.connect() as connection:
            connection.exec_driver_sql(statement)

    run(f"DROP DATABASE IF EXISTS {name}")
    run(f"CREATE DATABASE {name}")

    def drop():
        run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        server.dispose()
    return database_url.rsplit("/", 1)[0] + f"/{name}", drop


def test_0009_downgrades_and_upgrades_again(database_url, tmp_path):
    """Down to 0008 the column and every trigger go; up again they bump as before."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from booking import create_app
    from config import TestingConfig

    url, drop = _scratch_database(database_url, tmp_path)

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = url
        UPLOAD_DIR = str(tmp_path)

    def triggers(connection) -> set[str]:
        if connection.dialect.name == "sqlite":
            return set(connection.scalars(sa.text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                "AND name LIKE 'calendar_bump%'")))
        return set(connection.scalars(sa.text(
            "SELECT tgname || ' ON ' || tgrelid::regclass FROM pg_trigger "
            "WHERE tgname LIKE 'calendar_bump%'")))

    try:
        with create_app(Config).app_context():
            upgrade()
            with db.engine.connect() as connection:
                installed = triggers(connection)
            downgrade(revision="0008_samples")
            with db.engine.connect() as connection:
                assert triggers(connection) == set()
                assert "calendar_version" not in {
                    c["name"] for c in sa.inspect(connection).get_columns("instruments")}
            upgrade()
            with db.engine.connect() as connection:
                assert triggers(connection) == installed and len(installed) >= 7
            db.engine.dispose()
    finally:
        drop()


def test_0022_fills_the_sessions_customer_and_keeps_every_row(database_url, tmp_path):
    """A session's customer becomes its booking's paying organisation, else (walk-up) its
    user's; the invoice lines still point at the rows, down and up again (SQLite rebuilds the
    table)."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from booking import create_app
    from booking.accounts.models import User
    from booking.billing.models import Invoice, InvoiceLine
    from booking.bookings.models import Booking
    from booking.core.db import utc
    from booking.instruments.models import Instrument
    from config import TestingConfig

    url, drop = _scratch_database(database_url, tmp_path)

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = url
        UPLOAD_DIR = str(tmp_path)

    def columns(connection) -> set[str]:
        return {c["name"] for c in sa.inspect(connection).get_columns("usage_sessions")}

    def rows(connection):
        return connection.execute(sa.text(
            "SELECT s.id, s.booking_id, s.corrects_id, l.id FROM usage_sessions AS s "
            "LEFT JOIN invoice_lines AS l ON l.usage_session_id = s.id ORDER BY s.id")).all()

    at = utc(2026, 3, 2, 1)
    try:
        with create_app(Config).app_context():
            upgrade(revision="0021_outbox_claims")
            with db.engine.begin() as connection:
                add = _inserter(connection)
                university, company = _university_and_company(add)
                user = add(_without_later_columns(User.__table__, "session_epoch"),
                           email="u@example.cn", password_hash="x", name="U",
                           organisation_id=university)
                instrument = add(_without_later_columns(Instrument.__table__, "lab_en",
                                                        "description_en", "capabilities_en", "location_en"),
                                 organisation_id=university, name_zh="仪器", lab="L", name_en="I", model="M",
                                 manufacturer="H", category="analytical",
                                 original_value_fen=1, location="101", info_updated_at=at)
                booking = add(_without_later_columns(Booking.__table__, "cancelled_by_id"),
                              instrument_id=instrument, user_id=user,
                              organisation_id=company, start_at=at, end_at=at.replace(hour=2),
                              state="completed")
                sessions = sa.table("usage_sessions", *(sa.column(name) for name in (
                    "id", "instrument_id", "booking_id", "user_id", "started_at", "ended_at",
                    "source", "corrects_id", "void", "overrun", "note", "created_at")))
                common = {"instrument_id": instrument, "user_id": user, "source": "kiosk",
                          "void": False, "overrun": False, "note": "", "created_at": at}
                booked = add(sessions, booking_id=booking, started_at=at,
                             ended_at=at.replace(hour=2), **common)
                add(sessions, booking_id=booking, started_at=at, ended_at=at.replace(hour=3),
                    corrects_id=booked, **common)
                add(sessions, started_at=at.replace(hour=4), ended_at=at.replace(hour=5),
                    **common)
                invoice = add(Invoice.__table__, provider_id=university,
                              customer_org_id=company, number="N-1", state="issued",
                              customer_class="enterprise", subtotal_fen=1, amount_due_fen=1)
                add(InvoiceLine.__table__, invoice_id=invoice, kind="usage", description="x",
                    amount_fen=1, usage_session_id=booked)
            with db.engine.connect() as connection:
                before = rows(connection)
            upgrade()
            with db.engine.connect() as connection:
                assert rows(connection) == before
                assert connection.execute(sa.text(
                    "SELECT customer_org_id FROM usage_sessions ORDER BY id")).scalars().all() \
                    == [company, company, university]
                if connection.dialect.name == "sqlite":
                    assert connection.execute(sa.text("PRAGMA foreign_key_check")).all() == []
            downgrade(revision="0021_outbox_claims")
            with db.engine.connect() as connection:
                assert "customer_org_id" not in columns(connection)
                assert rows(connection) == before
            upgrade()
            with db.engine.connect() as connection:
                assert "customer_org_id" in columns(connection) and rows(connection) == before
            db.engine.dispose()
    finally:
        drop()


def test_0029_turns_category_names_into_codes_and_keeps_the_tightest_limit(database_url,
                                                                            tmp_path):
    """Free-text categories that name one become its code (limits and PI approval); text
    naming none stays; of two limits on one target the tighter stays, and a third cannot be
    added."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from booking import create_app
    from booking.accounts.models import User
    from booking.groups.models import Project, ProjectLimit, ResearchGroup
    from config import TestingConfig

    url, drop = _scratch_database(database_url, tmp_path)

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = url
        UPLOAD_DIR = str(tmp_path)

    try:
        with create_app(Config).app_context():
            upgrade(revision="0028_instrument_location_en")
            with db.engine.begin() as connection:
                add = _inserter(connection)
                org, _company = _university_and_company(add)
                pi = add(User.__table__, email="pi@example.cn", password_hash="x", name="PI",
                         organisation_id=org)
                group = add(ResearchGroup.__table__, organisation_id=org, name="G", pi_id=pi,
                            approval_mode="categories",
                            approval_categories=["分析仪器", "Lasers", "laser", "电镜"])
                project = add(Project.__table__, group_id=group, number="P", title="T",
                              valid_from=sa.func.current_date(),
                              valid_until=sa.func.current_date(), budget_fen=100)
                for category, fen in (("分析仪器", 500), ("analytical", 300),
                                      ("ANALYTICAL INSTRUMENTS", 400), ("电镜", 100)):
                    add(ProjectLimit.__table__, project_id=project, category=category,
                        limit_fen=fen)
            upgrade()
            with db.engine.begin() as connection:
                assert connection.execute(sa.select(
                    ProjectLimit.category, ProjectLimit.limit_fen).order_by(
                    ProjectLimit.category)).all() == [("analytical", 300), ("电镜", 100)]
                assert connection.scalar(sa.select(ResearchGroup.approval_categories)) == [
                    "analytical", "laser", "电镜"]
            with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as connection:
                connection.execute(ProjectLimit.__table__.insert().values(
                    project_id=project, category="analytical", limit_fen=1))
            db.engine.dispose()
    finally:
        drop()


def test_0035_deducts_the_credit_notes_waiting_on_open_invoices(database_url, tmp_path):
    """Credit notes still to refund on invoices still open are deducted from them, in order,
    up to what is left (the rest stays to refund); notes on paid invoices stay as they are;
    down again, the deductions go and what they settled is open again."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from booking import create_app
    from booking.accounts.models import User
    from booking.billing.models import Invoice, Payment
    from booking.groups.models import Project, ResearchGroup
    from config import TestingConfig

    url, drop = _scratch_database(database_url, tmp_path)

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = url
        UPLOAD_DIR = str(tmp_path)

    def documents(connection):
        return dict(connection.execute(sa.select(Invoice.number, Invoice.state)).all())

    def deductions(connection):
        return connection.execute(sa.select(Invoice.number, Payment.amount_fen, Payment.reference)
                                  .join(Invoice, Invoice.id == Payment.invoice_id)
                                  .where(Payment.method == "credit_note")
                                  .order_by(Payment.id)).all()

    try:
        with create_app(Config).app_context():
            upgrade(revision="0034_pi_calendar_bump")
            with db.engine.begin() as connection:
                add = _inserter(connection)
                university, company = _university_and_company(add)

                def document(number, state, fen, credits=None, **more):
                    return add(Invoice.__table__, provider_id=university, customer_org_id=company,
                               number=number, state=state, customer_class="enterprise",
                               subtotal_fen=fen, amount_due_fen=fen, credits_id=credits,
                               kind="credit_note" if credits else "invoice", **more)

                open_ = document("A", "issued", 1_000)
                add(Payment.__table__, invoice_id=open_, method="bank_transfer", amount_fen=300)
                document("N1", "issued", 500, open_)
                document("N2", "issued", 400, open_)
                paid = document("B", "paid", 700)
                add(Payment.__table__, invoice_id=paid, method="bank_transfer", amount_fen=700)
                document("N3", "issued", 100, paid)
                # charged to a project at issue, its note given back to the project at once
                pi = add(User.__table__, email="pi@example.cn", password_hash="x", name="PI",
                         organisation_id=university)
                group = add(ResearchGroup.__table__, organisation_id=university, name="G",
                            pi_id=pi)
                project = add(Project.__table__, group_id=group, number="P", title="T",
                              valid_from=sa.func.current_date(),
                              valid_until=sa.func.current_date(), budget_fen=1_000)
                charged = document("C", "issued", 600, project_id=project)
                document("N4", "paid", 200, charged, project_id=project)
            upgrade()
            with db.engine.connect() as connection:
                assert deductions(connection) == [("A", 500, "N1"), ("N1", 500, "A"),
                                                  ("A", 200, "N2"), ("N2", 200, "A"),
                                                  ("C", 200, "N4"), ("N4", 200, "C")]
                assert documents(connection) == {"A": "paid", "N1": "paid", "N2": "issued",
                                                 "B": "paid", "N3": "issued", "C": "issued",
                                                 "N4": "paid"}
            downgrade(revision="0034_pi_calendar_bump")
            with db.engine.connect() as connection:
                assert deductions(connection) == []
                assert documents(connection) == {"A": "issued", "N1": "issued", "N2": "issued",
                                                 "B": "paid", "N3": "issued", "C": "issued",
                                                 "N4": "paid"}
            with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as connection:
                connection.execute(Payment.__table__.insert().values(
                    invoice_id=paid, method="credit_note", amount_fen=1))
            upgrade()
            db.engine.dispose()
    finally:
        drop()
