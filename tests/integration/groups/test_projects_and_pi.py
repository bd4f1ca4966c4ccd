"""A student books against a project; the PI approves by the signed link; the lab approves;
after use the invoice is charged to the project and its budget drops; a booking over budget
goes to the PI."""
import re
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from booking.billing.models import Invoice
from booking.billing.pricing import quote_booking
from booking.bookings import requests
from booking.core.notifications import OutboxMessage
from booking.extensions import db
from booking.groups import services
from booking.groups.models import PiApproval
from booking.metering import services as metering
from tests.factories import dummy_lab
from tests.factories.groups import create_group, create_project
from tests.moments import MONDAY_23_NOV_8AM, TUESDAY_24_NOV_10AM


@pytest.fixture
def group(make):
    lab = dummy_lab(requires_approval=True)
    pi = make.user(role="member", organisation=lab.organisation, name="王导师")
    student = make.user(role="student", organisation=lab.organisation, name="李同学")
    group = create_group(pi, members=[student], approval_mode="always")
    project = create_project(group, budget_fen=50_000, over_budget="pi", default_for=[student])
    return lab, pi, student, group, project


def _book(lab, user, project, start, hours=1):
    end = start + timedelta(hours=hours)
    fee = quote_booking(lab.instrument, user, start, end).fee_fen
    booking = requests.create_booking(lab.instrument, user, start=start, end=end,
                                      mode="self_operated", purpose="XPS", project=project,
                                      fee_fen=fee)
    db.session.commit()
    return booking


def _link(pi, decision) -> str:
    body = db.session.scalars(select(OutboxMessage.body).where(
        OutboxMessage.recipient == pi.email).order_by(OutboxMessage.id.desc())).first()
    label = {"approve": "(?:Approve: |批准：)", "reject": "(?:Reject: |拒绝：)"}[decision]
    return re.search(label + r"https?://[^/\s]+(/pi/decide/\S+)", body).group(1)


def test_the_done_when_path(group, client, make):
    lab, pi, student, group, project = group
    with freeze_time(MONDAY_23_NOV_8AM):
        booking = _book(lab, student, project, TUESDAY_24_NOV_10AM)
        assert booking.state == "pending" and booking.project_id == project.id
        assert requests.approval_queue(lab.manager) == []  # the PI first
        assert services.budget_of(project).held_fen == 10_000  # internal: 100 元/h

        link = _link(pi, "approve")
        assert client.get(link).status_code == 200
        response = client.post(link, data={})
        assert response.status_code == 200
        db.session.expire_all()
        assert db.session.scalar(select(PiApproval.state)) == "approved"
        assert requests.approval_queue(lab.manager) == [booking]
        assert client.post(link, data={}).status_code == 410  # a link works once

        requests.approve_booking(booking, lab.manager)
        db.session.commit()
    with freeze_time(TUESDAY_24_NOV_10AM):
        metering.check_in(booking, actor=lab.manager, source="manager")
        db.session.commit()
    with freeze_time(TUESDAY_24_NOV_10AM + timedelta(hours=1)):
        session = metering.check_out_booking(booking, actor=lab.manager)
        db.session.commit()
    invoice = db.session.scalar(select(Invoice).where(Invoice.project_id == project.id))
    assert invoice is not None and invoice.amount_due_fen == 10_000
    budget = services.budget_of(project)
    assert (budget.spent_fen, budget.held_fen, budget.remaining_fen) == (10_000, 0, 40_000)
    assert session.booking_id == booking.id
    # a credit note before the internal transfer: the project gets it back and the transfer
    # asks that much less, so both say 70 元 (it said 100 元 spent, then 100 transferred)
    from booking.billing.invoicing import credit_note
    from booking.billing.payments import settle_internal
    from booking.groups import limits

    on_instrument = limits.set_limit(project, pi, instrument_id=lab.instrument.id,
                                     category=None, limit_fen=40_000)
    on_category = limits.set_limit(project, pi, instrument_id=None,
                                   category=lab.instrument.category, limit_fen=40_000)
    assert limits.uses(project, [on_instrument, on_category]) == {
        on_instrument.id: 10_000, on_category.id: 10_000}
    note = credit_note(invoice, 3_000, "calibration", lab.manager)
    assert (note.state, invoice.outstanding_fen) == ("paid", 7_000)
    assert services.budget_of(project).spent_fen == 7_000
    # the limits on its instrument and category get it back too (a credit counted on none)
    assert limits.uses(project, [on_instrument, on_category]) == {
        on_instrument.id: 7_000, on_category.id: 7_000}
    # the PI opens the invoice and the note their project's statement links; another member
    # of the group does not
    from booking.groups.models import GroupMember

    other = make.user(role="student", organisation=lab.organisation)
    db.session.add(GroupMember(group=group, user=other, state="active"))
    assert invoice.can_view(pi) and note.can_view(pi) and not invoice.can_view(other)
    assert invoice.can_view(student) and not invoice.can_manage(pi)
    settle_internal(invoice, lab.manager, project, notify=False)
    assert invoice.state == "paid" and [p.amount_fen for p in invoice.payments] == [3_000, 7_000]
    assert services.budget_of(project).spent_fen == 7_000


def test_a_booking_over_the_budget_goes_to_the_pi_or_is_refused(group):
    lab, pi, student, group, project = group
    group.approval_mode = "none"
    db.session.commit()
    with freeze_time(MONDAY_23_NOV_8AM):
        small = _book(lab, student, project, TUESDAY_24_NOV_10AM)
        assert small.state == "pending" and not services.awaiting_pi([small.id])
        big = _book(lab, student, project, TUESDAY_24_NOV_10AM + timedelta(days=1), hours=5)
        approval = db.session.scalar(select(PiApproval).where(PiApproval.booking_id == big.id))
        assert approval.over_budget and approval.state == "pending"

        project.over_budget = "refuse"
        db.session.commit()
        with pytest.raises(requests.BookingRefused) as refused:
            _book(lab, student, project, TUESDAY_24_NOV_10AM + timedelta(days=2), hours=5)
        assert refused.value.code == "over_budget"


def test_the_pi_rejects_and_the_booking_ends_with_its_hold_released(group):
    lab, pi, student, group, project = group
    with freeze_time(MONDAY_23_NOV_8AM):
        booking = _book(lab, student, project, TUESDAY_24_NOV_10AM)
        approval = services.pending_for_pi(pi)[0]
        with pytest.raises(services.GroupRefused):
            services.decide(approval, pi, approve=False)  # a reason is needed
        services.decide(approval, pi, approve=False, reason="用错经费卡")
        db.session.commit()
    assert booking.state == "rejected" and booking.decision_reason == "用错经费卡"
    assert services.budget_of(project).held_fen == 0


def test_an_undecided_request_reminds_the_pi_then_lapses(group):
    lab, pi, student, group, project = group
    with freeze_time(MONDAY_23_NOV_8AM - timedelta(days=3)):
        booking = _book(lab, student, project, TUESDAY_24_NOV_10AM)
    with freeze_time(MONDAY_23_NOV_8AM - timedelta(days=2)):
        assert services.lapse_and_remind() == (0, 1)
        assert services.lapse_and_remind() == (0, 0)  # once
        assert requests.expire_pending() == 0  # the lab's timeout waits for the PI
    with freeze_time(MONDAY_23_NOV_8AM - timedelta(hours=23)):
        assert services.lapse_and_remind() == (1, 0)
        db.session.commit()
    assert booking.state == "expired"


def test_only_members_charge_a_project_and_outsiders_are_refused(group, make):
    lab, pi, student, group, project = group
    stranger = make.user(role="student", organisation=lab.organisation)
    with freeze_time(MONDAY_23_NOV_8AM), pytest.raises(requests.BookingRefused) as refused:
        _book(lab, stranger, project, TUESDAY_24_NOV_10AM)
    assert refused.value.code == "not_member"


def test_the_labs_timeout_counts_from_the_pis_approval(group):
    lab, pi, student, group, project = group
    with freeze_time(MONDAY_23_NOV_8AM - timedelta(days=3)):
        booking = _book(lab, student, project, TUESDAY_24_NOV_10AM)
    with freeze_time(MONDAY_23_NOV_8AM - timedelta(days=2)):  # the PI takes a day
        services.decide(services.pending_for_pi(pi)[0], pi, approve=True)
        db.session.commit()
    # 48 h after the request, 24 h after the PI: the lab still has time
    with freeze_time(MONDAY_23_NOV_8AM - timedelta(days=1, hours=-1)):
        assert requests.expire_pending() == 0
    with freeze_time(MONDAY_23_NOV_8AM):
        assert requests.expire_pending() == 1
    assert booking.state == "expired"


def test_the_lab_booking_for_a_member_charges_their_default_project_and_waits_for_the_pi(
        group, make):
    """No form to choose a project on: the member's default project is charged, and a group
    that wants its PI's approval gets it even when the lab books (the lab then decides)."""
    from booking.bookings.on_behalf import book_for

    lab, pi, student, group, project = group
    with freeze_time(MONDAY_23_NOV_8AM):
        end = TUESDAY_24_NOV_10AM + timedelta(hours=1)
        booking = book_for(lab.instrument, student, lab.manager, start=TUESDAY_24_NOV_10AM,
                           end=end, mode="self_operated", purpose="XPS")
        db.session.commit()
        assert booking.project_id == project.id
        assert booking.state == "pending" and services.awaiting_pi([booking.id])
        assert services.budget_of(project).held_fen == quote_booking(
            lab.instrument, student, TUESDAY_24_NOV_10AM, end).fee_fen
        group.approval_mode = "none"
        db.session.commit()
        later = TUESDAY_24_NOV_10AM + timedelta(days=1)
        second = book_for(lab.instrument, student, lab.manager, start=later,
                          end=later + timedelta(hours=1), mode="self_operated", purpose="XPS")
        assert second.state == "approved" and second.project_id == project.id
        # someone without a project is booked as before
        other = make.user(role="student", organisation=lab.organisation)
        third = book_for(lab.instrument, other, lab.manager, start=later + timedelta(hours=2),
                         end=later + timedelta(hours=3), mode="self_operated", purpose="XPS")
        assert third.state == "approved" and third.project_id is None


def test_a_wait_list_offer_taken_is_charged_to_the_default_project(group, make):
    from booking.bookings import waitlist

    lab, pi, student, group, project = group
    group.approval_mode = "none"
    holder = make.user(role="student", organisation=lab.organisation)
    with freeze_time(MONDAY_23_NOV_8AM):
        taken = _book(lab, holder, None, TUESDAY_24_NOV_10AM)
        entry = waitlist.join(lab.instrument, student, start=TUESDAY_24_NOV_10AM,
                              end=TUESDAY_24_NOV_10AM + timedelta(hours=1), mode="self_operated",
                              purpose="XPS")
        requests.cancel_booking(taken, holder)
        db.session.flush()
        assert entry.state == "offered"
        booking = waitlist.accept(entry, student)
        assert booking.project_id == project.id and services.budget_of(project).held_fen > 0


def test_the_pi_finds_the_request_in_the_inbox_without_the_links_and_gets_one_email(group):
    from booking.inbox.models import InboxNotice

    lab, pi, student, group, project = group
    with freeze_time(MONDAY_23_NOV_8AM):
        _book(lab, student, project, TUESDAY_24_NOV_10AM)
    [notice] = db.session.scalars(select(InboxNotice).where(InboxNotice.user_id == pi.id)).all()
    assert notice.kind == "group.pi_waiting" and notice.link == "/groups/approvals"
    assert "李同学" in notice.body and "/pi/decide/" not in notice.body
    mails = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == pi.email)).all()
    assert [m.kind for m in mails] == ["group.pi_approval"] and "/pi/decide/" in mails[0].body


def test_a_late_cancellation_keeps_its_fee_held_until_the_invoice_charges_it(group):
    """Reported: cancelled late, the booking's hold was released in full while the month's
    invoice would charge half its fee: the project showed that much more left meanwhile."""
    from booking.billing.close import close_month

    lab, pi, student, group, project = group
    with freeze_time(MONDAY_23_NOV_8AM):
        booking = _book(lab, student, project, TUESDAY_24_NOV_10AM)
        services.decide(services.pending_for_pi(pi)[0], pi, approve=True)
        requests.approve_booking(booking, lab.manager)
        db.session.commit()
    with freeze_time(TUESDAY_24_NOV_10AM - timedelta(hours=1)):
        requests.cancel_booking(booking, student)
        db.session.commit()
    assert booking.late_cancel and services.budget_of(project).held_fen == 5_000  # half of 100
    with freeze_time("2026-12-01 02:00:00"):
        close_month("2026-11")
        db.session.commit()
    budget = services.budget_of(project)
    assert (budget.spent_fen, budget.held_fen, budget.remaining_fen) == (5_000, 0, 45_000)
