"""Each PI's monthly digest of their projects' money (reported: the PI, who answers for the
budget, heard nothing when their projects were charged or credited; only the member did)."""
from datetime import UTC, datetime

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from booking.billing.project_digests import send_month_digests
from booking.core.clock import parse_period
from booking.core.notifications import OutboxMessage
from booking.extensions import db
from booking.groups import services
from booking.groups.models import ProjectDigest
from tests.factories.groups import create_group, create_project

NOVEMBER = parse_period("2026-11", "month")


@pytest.fixture
def pi(make):
    return make.user(role="member", name="王导师")


def _move(project, kind, amount_fen, at, invoice_id):
    with freeze_time(at):
        if kind == "charge":
            services.charge(project.id, invoice_id=invoice_id, amount_fen=amount_fen,
                            booking_ids=[], instrument_id=None, category="", description="XPS")
        else:
            services.credit(project.id, invoice_id=invoice_id, amount_fen=amount_fen,
                            description="credit note", charged_invoice_id=1)
    db.session.commit()


def _digests(pi):
    return db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "project.month_digest",
        OutboxMessage.recipient == pi.email)).all()


def test_the_pi_hears_once_what_each_project_was_charged_and_credited(make, pi):
    student = make.user(role="student", organisation=pi.organisation)
    nano = create_project(create_group(pi, members=[student]), budget_fen=100_000,
                          number="NSFC-1")
    other_group = create_group(pi, name="催化课题组")
    catalysis = create_project(other_group, budget_fen=1_000_000, number="NSFC-2")
    quiet = create_project(other_group, number="NSFC-3")  # nothing moved: not listed
    _move(nano, "charge", 60_000, datetime(2026, 11, 3, 2, tzinfo=UTC), 1)
    _move(nano, "charge", 25_000, datetime(2026, 11, 20, 2, tzinfo=UTC), 2)
    _move(nano, "credit", 5_000, datetime(2026, 11, 21, 2, tzinfo=UTC), 3)
    _move(catalysis, "charge", 40_000, datetime(2026, 11, 30, 16, tzinfo=UTC), 4)  # 1 Dec 00:00, China
    _move(catalysis, "charge", 10_000, datetime(2026, 10, 31, 16, tzinfo=UTC), 5)  # 1 Nov 00:00, China
    services.hold(quiet, booking_id=9, fee_fen=1_000, instrument_id=1, category="",
                  description="hold")
    db.session.commit()
    with freeze_time("2026-12-02 01:00:00"):
        assert send_month_digests(NOVEMBER) == 1
        db.session.commit()
        assert send_month_digests(NOVEMBER) == 0  # again: no one twice
    [mail] = _digests(pi)
    assert mail.subject == "项目经费月报（2026-11）"
    lines = mail.body.splitlines()
    nano_line = next(line for line in lines if "NSFC-1" in line)
    assert "本月计费 ¥850.00（2 张账单），退回 ¥50.00" in nano_line
    assert "预算 ¥1,000.00，累计已用 ¥800.00" in nano_line and "剩余 ¥200.00" in nano_line
    assert "预算已使用或冻结 80%" in nano_line  # at the warning line
    catalysis_line = next(line for line in lines if "NSFC-2" in line)
    assert "本月计费 ¥100.00（1 张账单），退回 ¥0.00" in catalysis_line  # 1 Nov counts, 1 Dec not
    assert "预算已使用" not in catalysis_line
    assert "NSFC-3" not in mail.body
    assert f"/projects/{nano.id}" in mail.body  # each project's page
    assert db.session.scalar(select(ProjectDigest.projects)) == 2


def test_a_month_without_charges_or_credits_tells_no_one(make, pi):
    project = create_project(create_group(pi), number="NSFC-9")
    services.hold(project, booking_id=1, fee_fen=5_000, instrument_id=1, category="",
                  description="hold")
    db.session.commit()
    assert send_month_digests(NOVEMBER) == 0 and _digests(pi) == []


def test_the_digest_speaks_the_pis_language(make):
    pi = make.user(role="member", locale="en")
    project = create_project(create_group(pi), budget_fen=10_000, number="NSFC-7")
    _move(project, "charge", 9_000, datetime(2026, 11, 3, 2, tzinfo=UTC), 1)
    send_month_digests(NOVEMBER)
    [mail] = _digests(pi)
    assert mail.subject == "Your projects' money in 2026-11"
    assert "charged ¥90.00 (1 invoice), credited ¥0.00. Spent ¥90.00 of ¥100.00" in mail.body
    assert "90% of the budget is used or held." in mail.body


def test_the_cli_takes_last_month_and_refuses_one_not_over(app, make, pi):
    project = create_project(create_group(pi), number="NSFC-5")
    _move(project, "charge", 1_000, datetime(2026, 11, 3, 2, tzinfo=UTC), 1)
    runner = app.test_cli_runner()
    with freeze_time("2026-12-01 00:30:00"):  # 08:30 on 1 December in China
        refused = runner.invoke(args=["groups", "digest", "--month", "2026-12"])
        assert refused.exit_code != 0 and "has not ended" in refused.output
        assert runner.invoke(args=["groups", "digest", "--month", "2026-13"]).exit_code != 0
        result = runner.invoke(args=["groups", "digest"])
    assert result.exit_code == 0 and "2026-11: 1 PI(s) told" in result.output
    assert len(_digests(pi)) == 1


def test_a_month_closes_charges_count_in_that_month_though_written_the_next(make, pi):
    """Review: `billing close --month 2026-11` runs on 1 December and writes its charges then;
    the November digest, sent after it, must list them (and December's must not)."""
    project = create_project(create_group(pi), budget_fen=100_000, number="NSFC-8")
    instrument = make.instrument(organisation=pi.organisation)
    closed = make.issued_invoice(instrument, pi.organisation, 30_000,
                                 datetime(2026, 12, 1, 1, tzinfo=UTC), period="2026-11",
                                 project_id=project.id)
    _move(project, "charge", 30_000, datetime(2026, 12, 1, 1, tzinfo=UTC), closed.id)
    with freeze_time("2026-12-01 03:00:00"):
        assert send_month_digests(NOVEMBER) == 1
    assert "本月计费 ¥300.00（1 张账单）" in _digests(pi)[0].body
    with freeze_time("2027-01-01 03:00:00"):
        assert send_month_digests(parse_period("2026-12", "month")) == 0
