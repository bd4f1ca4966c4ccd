"""A booking's own page: who may see it, what it says before use (an estimate), after use
(billable time, then the invoice lines), after a late cancellation or a no-show, and what its
booker and its lab can do from it."""
import re
from datetime import UTC, datetime, timedelta

from freezegun import freeze_time

from booking.billing import close
from booking.bookings.requests import create_booking as request_booking
from booking.core.db import utc
from booking.extensions import db
from tests.factories.groups import create_group, create_project
from tests.moments import MONDAY_23_NOV_8AM, TUESDAY_24_NOV_10AM


def _page(client, booking):
    response = client.get(f"/bookings/{booking.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _pi_gated_booking(make, instrument):
    """A member's request charged to a project whose PI approves every booking first."""
    member = make.user()
    pi = make.user(organisation=member.organisation)
    project = create_project(create_group(pi, members=[member], approval_mode="always"),
                             budget_fen=1_000_000)
    booking = request_booking(instrument, member, start=TUESDAY_24_NOV_10AM,
                              end=TUESDAY_24_NOV_10AM + timedelta(hours=1), mode="self_operated",
                              purpose="XRD", project=project, fee_fen=20_000)
    db.session.commit()
    return booking, member, pi


def _steps(page) -> list[str]:
    return re.findall(r'data-step="([a-z_]+)"', page)


def test_the_booker_sees_time_state_estimate_and_can_cancel(client, make, login, lab):
    instrument, _manager = lab
    with freeze_time(MONDAY_23_NOV_8AM):
        student = make.user(organisation=make.organisation())  # another university: academic
        booking = make.booking(instrument, student, TUESDAY_24_NOV_10AM, minutes=90,
                               purpose="XRD phase analysis")
        login(student)
        page = _page(client, booking)
    assert f"预约 #{booking.id}" in page and 'data-state="pending"' in page
    assert "2026-11-24 10:00 – 11:30" in page and "XRD phase analysis" in page
    assert re.search(r'id="estimate-fee">¥300\.00<', page)  # 1.5 h at the academic ¥200/h
    assert "使用结束后即开具账单" in page  # an outside customer's invoice: at once, not monthly
    assert 'id="awaiting-lab"' in page and _steps(page) == ["requested"]
    assert f'action="/bookings/{booking.id}/cancel"' in page
    assert 'id="decide"' not in page and 'id="booker"' not in page  # the lab's, not theirs


def test_only_the_booker_and_the_instruments_lab_see_it(client, make, login, lab):
    instrument, manager = lab
    with freeze_time(MONDAY_23_NOV_8AM):
        booking = make.booking(instrument, make.user(), TUESDAY_24_NOV_10AM)
        assert client.get(f"/bookings/{booking.id}").status_code == 302  # to sign in
        for stranger in (make.user(), make.user(role="lab_manager"),
                         make.user(organisation=instrument.organisation)):
            login(stranger)
            assert client.get(f"/bookings/{booking.id}").status_code == 404
        assert client.get("/bookings/999999").status_code == 404
        login(manager)
        page = _page(client, booking)
    assert 'id="booker"' in page and booking.user.email in page


def test_the_lab_approves_from_the_page_and_the_history_says_who(client, make, login, lab):
    instrument, manager = lab
    with freeze_time(MONDAY_23_NOV_8AM):
        booking = make.booking(instrument, make.user(), TUESDAY_24_NOV_10AM)
        login(manager)
        assert 'id="decide"' in _page(client, booking)
        response = client.post(f"/bookings/{booking.id}/approve",
                               data={"next": f"/bookings/{booking.id}"})
        assert response.location.endswith(f"/bookings/{booking.id}")
        page = _page(client, booking)
    assert booking.state == "approved" and 'id="decide"' not in page
    assert _steps(page) == ["requested", "approved"] and manager.name in page


def test_a_booking_waiting_for_the_pi_is_not_decided_by_the_lab(client, make, login, lab):
    instrument, manager = lab
    with freeze_time(MONDAY_23_NOV_8AM):
        booking, member, pi = _pi_gated_booking(make, instrument)
        login(member)
        own = _page(client, booking)
        assert 'id="awaiting-pi"' in own
        # the badge says whose approval it waits for, as My bookings does
        assert "待导师审批</span>" in own.split('id="booking-state"')[1].split("\n")[0]
        login(manager)
        page = _page(client, booking)
    assert 'id="awaiting-pi"' in page and 'id="decide"' not in page
    assert 'id="booking-project"' in page and "NSFC-22075" in page


def test_after_use_billable_time_then_the_invoice_lines(client, make, login):
    instrument = make.instrument()  # ¥100/h internal, 15-minute rounding, 30 minutes minimum
    user = make.user(organisation=instrument.organisation)
    with freeze_time("2026-03-10 08:00:00"):
        booking = make.placed_booking(instrument, user, utc(2026, 3, 9, 1), minutes=60,
                                      state="completed")
        make.usage_session(instrument, user, utc(2026, 3, 9, 1, 5), minutes=38, booking=booking)
        login(user)
        page = _page(client, booking)
        assert "计费时长：45 分钟" in page and 'id="estimate"' not in page
        assert 'id="booking-sessions"' in page and "2026-03-09 09:05 – 09:43" in page
    with freeze_time("2026-04-01 02:00:00"):
        close.close_month("2026-03")
        db.session.commit()
        login(user)
        page = _page(client, booking)
        lines = re.search(r'id="charge-lines">(.*?)</table>', page, re.S).group(1)
        assert "¥75.00" in lines and 'class="invoice-link"' in lines  # 0.75 h at ¥100/h
        invoice_url = re.search(r'href="(/invoices/\d+)" class="invoice-link"', lines).group(1)
        assert client.get(invoice_url).status_code == 200  # the booker may open it


def test_a_late_cancellation_shows_its_charge(client, make, login, lab):
    instrument, _manager = lab
    instrument.requires_approval = False
    instrument.cancel_deadline_hours = 48
    db.session.commit()
    user = make.user(organisation=instrument.organisation)  # internal: ¥100/h
    with freeze_time(MONDAY_23_NOV_8AM):
        booking = make.booking(instrument, user, TUESDAY_24_NOV_10AM, minutes=120)
        login(user)
        page = _page(client, booking)
        assert "取消将收取 ¥100.00" in page  # inside the deadline: half of 2 h at ¥100/h
        assert "月末开具的账单" in page  # an internal user with no project: the month's invoice
        client.post(f"/bookings/{booking.id}/cancel", data={"next": f"/bookings/{booking.id}"})
        page = _page(client, booking)
    assert booking.late_cancel and re.search(r'id="penalty"><strong>¥100\.00<', page)
    assert _steps(page) == ["requested", "approved_automatically", "late_cancelled"]


def test_a_no_show_shows_its_charge_to_the_booker_and_the_lab(client, make, login, lab):
    instrument, manager = lab
    user = make.user(organisation=make.organisation())  # academic: ¥200/h
    with freeze_time(MONDAY_23_NOV_8AM + timedelta(days=3)):
        booking = make.placed_booking(instrument, user, TUESDAY_24_NOV_10AM, minutes=60,
                                      state="no_show")
        for viewer in (user, manager):
            login(viewer)
            assert re.search(r'id="penalty"><strong>¥100\.00<', _page(client, booking))


def test_notices_of_one_booking_link_to_its_page(client, make, login, lab):
    from booking.inbox.models import InboxNotice

    instrument, manager = lab
    with freeze_time(MONDAY_23_NOV_8AM):
        student = make.user()
        booking = make.booking(instrument, student, TUESDAY_24_NOV_10AM)
        login(manager)
        client.post(f"/bookings/{booking.id}/reject", data={"reason": "维护中"})
    notice = db.session.scalars(db.select(InboxNotice).where(
        InboxNotice.user_id == student.id)).one()
    assert notice.link == f"/bookings/{booking.id}"


def test_the_voucher_forecast_is_the_bookers_alone(client, make, login, lab):
    instrument, manager = lab
    with freeze_time(MONDAY_23_NOV_8AM):
        sme = make.voucher().applicant
        booking = make.booking(instrument, sme, TUESDAY_24_NOV_10AM)  # ¥400/h
        login(sme)
        page = _page(client, booking)
        assert re.search(r'id="estimate-voucher">−¥\d', page)
        login(manager)
        page = _page(client, booking)
    assert re.search(r'id="estimate-fee">¥400\.00<', page) and "estimate-voucher" not in page


def test_the_lab_cancels_with_a_reason_and_the_booker_pays_nothing(client, make, login, lab):
    instrument, manager = lab
    instrument.cancel_deadline_hours = 48
    db.session.commit()
    with freeze_time(MONDAY_23_NOV_8AM):
        booker = make.user()
        booking = make.booking(instrument, booker, TUESDAY_24_NOV_10AM)
        login(manager)
        client.post(f"/bookings/{booking.id}/approve")
        assert 'id="lab-cancel"' in _page(client, booking)  # within the booker's deadline
        client.post(f"/bookings/{booking.id}/cancel",
                    data={"reason": "设备故障", "next": f"/bookings/{booking.id}"})
        login(booker)
        page = _page(client, booking)
    assert booking.state == "cancelled" and not booking.late_cancel
    assert _steps(page) == ["requested", "approved", "cancelled_by_lab"] and "设备故障" in page
    assert booking.cancelled_by_id == manager.id
    cancelled = page.split('data-step="cancelled_by_lab">', 1)[1].split("</li>", 1)[0]
    assert manager.name in cancelled  # who, as for the approval
    assert 'id="no-charge"' in page and f"/bookings/{booking.id}.ics" not in page  # no time held


def test_the_lab_reads_the_invoice_its_booking_is_charged_on(client, make, login, lab):
    instrument, manager = lab
    user = make.user(organisation=make.organisation())
    with freeze_time("2026-03-10 08:00:00"):
        booking = make.placed_booking(instrument, user, utc(2026, 3, 9, 1), state="completed")
        make.usage_session(instrument, user, utc(2026, 3, 9, 1), minutes=60, booking=booking)
    with freeze_time("2026-04-01 02:00:00"):
        close.close_month("2026-03")
        db.session.commit()
        login(manager)
        page = _page(client, booking)
        assert 'class="invoice-link"' in page  # its to read, finance's to act on
        finance = make.user(role="finance", organisation=instrument.organisation)
        login(finance)
        assert client.get(f"/bookings/{booking.id}").status_code == 404  # not the lab's desk


def test_a_test_orders_booking_sends_to_the_orders_invoice(client, make, login):
    from booking.orders.models import OrderBooking

    lab = make.testing_lab()
    customer = make.user(organisation=make.organisation())
    with freeze_time(MONDAY_23_NOV_8AM):
        order = make.order(lab.instrument, customer)
        booking = make.placed_booking(lab.instrument, customer, TUESDAY_24_NOV_10AM,
                                      state="no_show", billed_separately=True,
                                      mode="staff_operated")
        db.session.add(OrderBooking(order_id=order.id, booking_id=booking.id))
        db.session.commit()
    with freeze_time(TUESDAY_24_NOV_10AM + timedelta(days=1)):
        login(customer)
        page = _page(client, booking)
    assert 'id="penalty"' not in page and 'id="estimate"' not in page  # not charged twice
    assert f'href="/orders/{order.id}">{order.number}</a>' in page


def test_the_pis_decision_is_the_pis_step_not_the_labs(client, make, login, lab):
    from booking.groups import services as groups
    from booking.groups.models import PiApproval

    instrument, manager = lab
    with freeze_time(MONDAY_23_NOV_8AM):
        booking, member, pi = _pi_gated_booking(make, instrument)
        groups.decide(db.session.scalar(db.select(PiApproval)), pi, approve=False,
                      reason="经费不足")
        db.session.commit()
        login(member)
        page = _page(client, booking)
    assert booking.state == "rejected" and _steps(page) == ["requested", "pi_rejected"]
    assert "经费不足" in page and 'id="awaiting-pi"' not in page


def test_a_cancelled_request_no_longer_waits_for_the_pi(client, make, login, lab):
    instrument, _manager = lab
    with freeze_time(MONDAY_23_NOV_8AM):
        booking, member, pi = _pi_gated_booking(make, instrument)
        login(member)
        client.post(f"/bookings/{booking.id}/cancel", data={})
        page = _page(client, booking)
    assert booking.state == "cancelled" and 'id="awaiting-pi"' not in page
    assert _steps(page) == ["requested", "cancelled"]
    from booking.groups import services as groups
    assert groups.pending_for_pi(pi) == []  # the PI is no longer asked


def test_the_lab_cannot_cancel_without_saying_why(client, make, login, lab):
    instrument, manager = lab
    with freeze_time(MONDAY_23_NOV_8AM):
        booking = make.booking(instrument, make.user(), TUESDAY_24_NOV_10AM)
        login(manager)
        response = client.post(f"/bookings/{booking.id}/cancel", data={"reason": "  "},
                               follow_redirects=True)
    assert booking.state == "pending" and "需要说明理由" in response.get_data(as_text=True)


def test_a_pi_who_also_runs_the_lab_shows_both_decisions_in_the_history():
    """Reported: the PI, also the instrument's lab manager, approved as PI and later for the
    lab; the history showed only the PI's step, as if the lab had not decided."""
    from types import SimpleNamespace

    from booking.bookings.detail import history

    pi = SimpleNamespace(id=7, name="陈明")
    asked = datetime(2026, 12, 7, 5, tzinfo=UTC)
    approval = SimpleNamespace(state="approved", decided_at=asked + timedelta(minutes=10),
                               pi=pi, pi_id=pi.id, reason="")

    def booking(decided_at):
        return SimpleNamespace(created_at=asked, user=None, decided_at=decided_at,
                               decided_by_id=pi.id, decided_by=pi, state="approved",
                               decision_reason="", cancelled_at=None)

    later = [s.code for s in history(booking(asked + timedelta(hours=1)), approval)]
    assert later == ["requested", "pi_approved", "approved"]
    at_once = [s.code for s in history(booking(approval.decided_at + timedelta(
        milliseconds=3)), approval)]  # the PI's approval confirmed it (no lab approval needed)
    assert at_once == ["requested", "pi_approved"]
