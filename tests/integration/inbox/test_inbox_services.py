"""Every notice lands in its user's inbox; e-mail only for the kinds the user wants."""
from datetime import timedelta

from flask_babel import gettext as _
from freezegun import freeze_time
from sqlalchemy import func, select

from booking.accounts import notifications as account_notices
from booking.core.audit import AuditEvent
from booking.core.clock import now_utc
from booking.core.notifications import OutboxMessage, notify, queue_message
from booking.extensions import db
from booking.inbox import services
from booking.inbox.models import InboxNotice
from booking.instruments import services as instrument_services
from tests.moments import MONDAY_23_NOV_8AM


def inbox_of(user) -> list[InboxNotice]:
    return list(db.session.scalars(select(InboxNotice).where(InboxNotice.user_id == user.id)
                                   .order_by(InboxNotice.id)))


def mails_to(user) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == user.email).order_by(OutboxMessage.id)))


def hello(user, kind="booking.approved", link=""):
    notify(user, kind, lambda: (_("Booking confirmed"), f"body for {user.name}"), link=link)


def test_a_notice_lands_in_the_inbox_and_is_e_mailed_in_the_users_language(make):
    english = make.user(locale="en")
    chinese = make.user()
    with freeze_time(MONDAY_23_NOV_8AM):
        hello(english, link="/bookings/mine")
        hello(chinese)
    [notice] = inbox_of(english)
    assert (notice.kind, notice.subject, notice.body, notice.link) == (
        "booking.approved", "Booking confirmed", f"body for {english.name}", "/bookings/mine")
    assert notice.created_at == MONDAY_23_NOV_8AM and notice.is_unread
    assert [m.subject for m in mails_to(english)] == ["Booking confirmed"]
    assert inbox_of(chinese)[0].subject == mails_to(chinese)[0].subject == "预约已确认"


def test_a_subject_longer_than_its_column_is_cut_not_refused(make):
    """"Request to join %(group)s" with a 200-character group name: PostgreSQL refused the
    inbox's and the outbox's row (value too long), and the join request failed with it."""
    user = make.user(locale="en")
    long_name = "组" * 200
    notify(user, "group.join_requested", lambda: (f"Request to join {long_name}", "body"))
    queue_message(user.email, "x" * 300, "body", "account.direct")
    [notice] = inbox_of(user)
    assert len(notice.subject) == 200 and notice.subject.endswith("组…")
    assert [len(m.subject) for m in mails_to(user)] == [200, 200]


def test_a_kind_switched_off_is_kept_but_not_e_mailed(make):
    user = make.user()
    services.save_preferences(user, emailed=["decisions"], reminders=[])  # all but decisions off
    hello(user, "booking.approved")
    hello(user, "invoice.issued")
    hello(user, "voucher.decided")
    assert [n.kind for n in inbox_of(user)] == ["booking.approved", "invoice.issued",
                                               "voucher.decided"]
    assert [m.kind for m in mails_to(user)] == ["booking.approved"]


def test_a_password_reset_link_is_e_mailed_only(make):
    user = make.user()
    services.save_preferences(user, emailed=[], reminders=[])
    account_notices.notify_password_reset(user, "secret-token")
    assert inbox_of(user) == []
    assert "secret-token" in mails_to(user)[0].body


def test_unread_count_and_marking_read_concern_one_user_only(make):
    reader, other = make.user(), make.user()
    for _n in range(3):
        hello(reader)
    hello(other)
    assert services.unread_count(reader.id) == 3
    first = inbox_of(reader)[0]
    services.mark_read(first)
    assert services.unread_count(reader.id) == 2 and not first.is_unread
    assert services.mark_all_read(reader.id) == 2
    assert services.unread_count(reader.id) == 0 and services.unread_count(other.id) == 1


def test_a_notice_is_found_only_for_its_user(make):
    owner, other = make.user(), make.user()
    hello(owner)
    notice = inbox_of(owner)[0]
    assert services.notice_for(owner, notice.id) is notice
    assert services.notice_for(other, notice.id) is None
    assert services.notice_for(owner, notice.id + 1000) is None


def test_newest_first_and_unread_only(make):
    user = make.user()
    for n in range(3):
        notify(user, "booking.approved", lambda n=n: (f"s{n}", "b"))
    services.mark_read(inbox_of(user)[2])
    newest_first = db.session.scalars(services.notices_of(user.id)).all()
    assert [n.subject for n in newest_first] == ["s2", "s1", "s0"]
    assert [n.subject for n in db.session.scalars(services.notices_of(user.id, True))] == \
        ["s1", "s0"]


def test_saving_preferences_keeps_unseen_switches_and_is_audited(make):
    student = make.user(role="student")
    student.notice_preferences = {"email_off": ["work"], "reminders": ["24h"]}
    services.save_preferences(student, emailed=["decisions"], reminders=["1h"])
    stored = services.preferences_of(student)
    assert "work" in stored.email_off  # not shown to a student: left as it was
    assert "decisions" not in stored.email_off and "billing" in stored.email_off
    assert stored.reminders == {"1h"}
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "notices.preferences"))
    assert event.actor_id == student.id and event.data["after"]["reminders"] == ["1h"]
    db.session.expire_all()  # the JSON column was written, not only changed in memory
    assert services.preferences_of(student) == stored


def test_stale_instrument_reminders_stay_daily_with_e_mail_off(make):
    """The once-a-day check asks the inbox: with the e-mails off there is no outbox row, and
    the job must not put a new notice in the inbox at every run."""
    instrument = make.instrument(info_updated_at=now_utc() - timedelta(days=200))
    manager = make.user(role="lab_manager", organisation=instrument.organisation)
    services.save_preferences(manager, emailed=[], reminders=[])
    assert instrument_services.queue_stale_reminders("http://x/lab") == 1
    assert instrument_services.queue_stale_reminders("http://x/lab") == 0
    assert len(inbox_of(manager)) == 1 and mails_to(manager) == []


def test_the_badge_count_reads_the_partial_index(make):
    """One COUNT over a user's unread notices, answered from the small partial index."""
    user = make.user()
    hello(user)
    connection = db.session.connection()
    statement = select(func.count()).select_from(InboxNotice).where(
        InboxNotice.user_id == user.id, InboxNotice.read_at.is_(None))
    sql = str(statement.compile(connection, compile_kwargs={"literal_binds": True}))
    if connection.dialect.name == "sqlite":
        plan = " ".join(row[-1] for row in connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + sql))
        assert "ix_inbox_notices_unread" in plan
    assert services.unread_count(user.id) == 1
