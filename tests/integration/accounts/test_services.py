from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from booking.accounts import services
from booking.accounts.models import Organisation, User
from booking.accounts.rules import make_credit_code
from booking.core.audit import AuditEvent
from booking.core.notifications import OutboxMessage
from booking.extensions import db


def _outbox(kind):
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)).all()


def test_duplicate_email_is_refused_and_nothing_written(make):
    user = make.user()
    before = db.session.query(User).count()
    with pytest.raises(services.AccountError):
        services.create_user(email=user.email.upper(), password="x" * 12, name="dup",
                             organisation=user.organisation)
    assert db.session.query(User).count() == before


def test_register_enterprise_creates_unverified_org_that_cannot_book(make, app):
    with app.test_request_context():
        user = services.register_enterprise(
            email="ceo@newco.cn", password="correct-horse-42", name="新公司",
            organisation_fields={"name_zh": "新公司", "credit_code":
                                 make_credit_code("91210200MA1234567"), "city": "大连",
                                 "region_code": "2102"})
    assert user.organisation.kind == "enterprise" and not user.organisation.verified
    assert not user.can_book and user.booking_blockers() == ["email_unconfirmed",
                                                             "organisation_unverified"]
    staff = make.user(role="bureau_staff")
    with app.test_request_context():
        services.verify_organisation(user.organisation, staff)
        assert not user.can_book  # the address is not confirmed yet
        assert services.confirm_email(_confirmation_token("ceo@newco.cn")) == user
    assert user.can_book
    assert _outbox("organisation.verified")[0].recipient == "ceo@newco.cn"


def test_joining_member_waits_for_manager_who_is_notified(make, app):
    org = make.organisation()
    manager = make.user(role="lab_manager", organisation=org)
    with app.test_request_context():
        user = services.register_member(email="new@dlut.cn", password="correct-horse-42",
                                        name="新人", organisation=org, as_student=True)
    assert user.has_role("student") and not user.can_book
    assert [m.recipient for m in _outbox("member.pending")] == [manager.email]
    services.confirm_member(user, manager)
    with app.test_request_context():
        services.confirm_email(_confirmation_token("new@dlut.cn"))
    assert user.can_book


def _confirmation_token(email: str) -> str:
    """The token of the link in the confirmation e-mail sent to `email`."""
    body = next(m.body for m in _outbox("account.confirm_email") if m.recipient == email)
    return body.split("/confirm-email/")[1].split()[0]


def test_the_confirmation_link_works_for_its_address_only_and_for_a_week(make, app):
    org = make.organisation()
    with app.test_request_context(), freeze_time("2026-05-01 10:00:00"):
        user = services.register_member(email="late@dlut.cn", password="correct-horse-42",
                                        name="迟到", organisation=org)
        token = _confirmation_token("late@dlut.cn")
        assert user.email_confirmed_at is None
        assert services.confirm_email(token + "x") is None  # forged
    with app.test_request_context(), freeze_time("2026-05-09 10:00:00"):
        assert services.confirm_email(token) is None  # more than 7 days later
        services.send_email_confirmation(user)  # asked again: a new link
        fresh = [m.body for m in _outbox("account.confirm_email")][-1]
        fresh = fresh.split("/confirm-email/")[1].split()[0]
        user.email = "changed@dlut.cn"
        assert services.confirm_email(fresh) is None  # the link was for the old address
        user.email = "late@dlut.cn"
        assert services.confirm_email(fresh) == user and user.email_confirmed


def test_password_reset_token_works_once_and_expires(make, app):
    user = make.user()
    with app.test_request_context():
        with freeze_time("2026-05-01 10:00:00"):
            services.request_password_reset(user.email)
        body = _outbox("password.reset")[0].body
        token = body.split("/reset-password/")[1].split()[0]
        with freeze_time("2026-05-01 11:00:00"):
            assert services.user_for_reset_token(token) == user
            services.change_password(user, "another-secret-9", via="reset")
            assert services.user_for_reset_token(token) is None  # used: hash changed
        with freeze_time("2026-05-01 10:00:00"):
            services.request_password_reset(user.email)
        token2 = _outbox("password.reset")[-1].body.split("/reset-password/")[1].split()[0]
        with freeze_time("2026-05-01 12:30:00"):
            assert services.user_for_reset_token(token2) is None  # older than 2 hours


def test_an_invitation_link_lasts_a_week_and_a_tampered_one_nothing(make, app):
    user = make.user()
    with app.test_request_context():
        with freeze_time("2026-05-01 10:00:00"):
            invitation = services.password_reset_token(user, invitation=True)
            reset = services.password_reset_token(user)
        with freeze_time("2026-05-07 09:00:00"):  # six days later: the invitation still opens
            assert services.user_for_reset_token(invitation) == user
            assert services.user_for_reset_token(reset) is None
            # a character of the signature changed (not the last one: its low bits are padding,
            # and "…xw" and "…xx" decode alike, which made this test fail once in a while)
            changed = "A" if invitation[-5] != "A" else "B"
            assert services.user_for_reset_token(
                invitation[:-5] + changed + invitation[-4:]) is None
        with freeze_time("2026-05-08 10:00:01"):
            assert services.user_for_reset_token(invitation) is None


def test_reset_for_unknown_email_queues_nothing(app):
    with app.test_request_context():
        services.request_password_reset("nobody@example.cn")
    assert _outbox("password.reset") == []


def test_api_tokens_are_hashed_and_can_be_revoked_or_expire(make):
    user = make.user()
    token, raw = services.create_api_token(user, "ci", valid_days=30)
    assert raw not in token.token_hash and token.hint == raw[:10]
    assert services.user_for_api_token(raw) == user
    with freeze_time(token.created_at + timedelta(days=31)):
        assert services.user_for_api_token(raw) is None
    services.revoke_api_token(token, user)
    assert services.user_for_api_token(raw) is None
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "ApiToken")).all()
    assert actions == ["api_token.created", "api_token.revoked"]


def test_demo_seed_is_idempotent(app):
    from booking.accounts.demo import ACCOUNTS, seed_accounts

    seed_accounts()
    counts = (db.session.query(User).count(), db.session.query(Organisation).count())
    seed_accounts()
    assert (db.session.query(User).count(), db.session.query(Organisation).count()) == counts
    for email in ACCOUNTS:
        assert services.get_user_by_email(email) is not None
    sme = services.get_user_by_email("sme@demo.cn").organisation
    assert sme.sme_certified and sme.verified and sme.region_code == "2102"
    assert not services.get_user_by_email("bigco@demo.cn").organisation.sme_certified
