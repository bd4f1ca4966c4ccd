"""Order workflows on the real database: the whole path from submission to closing, the
invoice with the voucher share, bookings not charged twice, and every refusal."""
import io
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from booking.billing.models import Invoice, InvoiceLine
from booking.core.notifications import OutboxMessage
from booking.extensions import db
from booking.inbox.models import InboxNotice
from booking.orders import files, rules, services
from booking.orders.services import OrderRefused
from tests.factories.orders import PER_SAMPLE_FEN, SETUP_FEN
from tests.moments import MONDAY_7_DEC_9AM

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _pdf(name="report.pdf", data=PDF):
    return FileStorage(stream=io.BytesIO(data), filename=name, content_type="application/pdf")


@pytest.fixture
def frozen():
    with freeze_time(MONDAY_7_DEC_9AM) as clock:
        yield clock


@pytest.fixture
def lab(make):
    return make.testing_lab()


@pytest.fixture
def sme(make):
    voucher = make.voucher(amount_fen=5_000_000)
    return voucher.applicant


def _run_to_testing(order, lab, clock):
    services.accept_order(order, lab.manager)
    services.receive_order(order, lab.manager, condition="sealed, intact")
    start = MONDAY_7_DEC_9AM + timedelta(minutes=30)
    services.schedule_booking(order, lab.manager, start=start, end=start + timedelta(hours=1))
    clock.move_to(start)
    services.start_testing(order, lab.manager)
    db.session.flush()


def test_the_whole_path_invoices_per_sample_and_test_with_the_voucher_share(
        frozen, make, lab, sme):
    order = make.order(lab.instrument, sme, samples=3,
                       tests=["形貌观察 SEM imaging", "能谱分析 EDS"])
    assert order.number.startswith("WT2026-") and order.state == "submitted"
    # 3 samples × 2 tests × 50 元 + 20 元 set-up; the SME's voucher forecasts 40 %
    assert order.fee_fen == 3 * 2 * PER_SAMPLE_FEN + SETUP_FEN
    assert order.voucher_fen == order.fee_fen * 40 // 100

    _run_to_testing(order, lab, frozen)
    assert [s.code for s in order.samples] == [f"{order.number}-0{n}" for n in (1, 2, 3)]
    booking = order.bookings[0]
    assert booking.mode == "staff_operated" and booking.user_id == sme.id
    assert booking.state == "in_use"

    frozen.tick(timedelta(minutes=50))
    files.store(order, _pdf(), "report", lab.manager)
    invoice = services.complete_with_report(order, lab.manager, "LAB")
    db.session.commit()
    assert order.state == "report_ready" and order.report_number == f"LAB-R2026-{order.id:06d}"
    assert booking.state == "completed"  # the session was checked out
    assert invoice.state == "issued" and invoice.subtotal_fen == order.fee_fen
    assert invoice.voucher_fen == order.fee_fen * 40 // 100
    assert invoice.amount_due_fen == invoice.subtotal_fen - invoice.voucher_fen
    # the booking's time and samples are on the order's invoice at 0: nothing else charged them
    charged = db.session.scalar(select(func.count()).select_from(Invoice).where(
        Invoice.customer_user_id == sme.id))
    assert charged == 1
    from booking.billing.close import close_month

    assert close_month("2026-12").invoices == 0  # nor will the month close
    zero = [line for line in invoice.lines if line.booking_id == booking.id]
    assert {line.kind for line in zero} == {"samples", "usage"}
    assert all(line.amount_fen == 0 for line in zero)
    assert services.report_released(order)

    services.close_order(order, lab.manager, "dispose")
    db.session.commit()
    assert [e.state for e in order.events] == list(rules.PATH)
    assert all(e.created_at and e.actor for e in order.events)


def test_every_change_is_told_through_the_outbox_and_the_inbox(frozen, make, lab, sme):
    order = make.order(lab.instrument, sme)
    _run_to_testing(order, lab, frozen)
    kinds = set(db.session.scalars(select(InboxNotice.kind).where(
        InboxNotice.user_id == sme.id)))
    assert {"order.accepted", "order.received", "order.testing"} <= kinds
    assert "order.submitted" in set(db.session.scalars(select(InboxNotice.kind).where(
        InboxNotice.user_id == lab.manager.id)))
    mailed = set(db.session.scalars(select(OutboxMessage.kind).where(
        OutboxMessage.recipient == sme.email)))
    assert {"order.accepted", "order.received", "order.testing"} <= mailed


def test_urgent_orders_carry_the_labs_surcharge(frozen, make, lab, sme):
    services.save_settings(lab.instrument, lab.manager, surcharge_percent=50, release_on="paid")
    order = make.order(lab.instrument, sme, samples=2, urgent=True)
    base = 2 * PER_SAMPLE_FEN + SETUP_FEN
    assert order.surcharge_fen == base // 2 and order.fee_fen == base + base // 2


def test_the_report_waits_for_payment_when_the_lab_says_so(frozen, make, lab, sme):
    services.save_settings(lab.instrument, lab.manager, surcharge_percent=0, release_on="paid")
    order = make.order(lab.instrument, sme)
    _run_to_testing(order, lab, frozen)
    files.store(order, _pdf(), "report", lab.manager)
    services.complete_with_report(order, lab.manager, "LAB")
    assert order.invoice.state == "issued" and not services.report_released(order)


def test_refusals(frozen, make, lab, sme):
    order = make.order(lab.instrument, sme)
    with pytest.raises(OrderRefused) as refused:
        services.decline_order(order, lab.manager, "  ")
    assert refused.value.code == "reason_required"
    with pytest.raises(rules.IllegalOrderTransition):
        services.close_order(order, lab.manager, "return")
    with pytest.raises(rules.IllegalOrderTransition):
        services.start_testing(order, lab.manager)
    services.accept_order(order, lab.manager)
    with pytest.raises(OrderRefused) as refused:
        services.receive_order(order, lab.manager, condition="")
    assert refused.value.code == "condition_required"
    services.receive_order(order, lab.manager, condition="ok")
    with pytest.raises(OrderRefused) as refused:
        services.start_testing(order, lab.manager)  # nothing scheduled
    assert refused.value.code == "no_booking_due"
    with pytest.raises(rules.IllegalOrderTransition):
        services.cancel_order(order, sme)  # the samples are in the lab


def test_submission_refusals_name_every_problem(frozen, make, lab, sme):
    lines = [rules.SampleLine("", 0, "gas", hazards=("toxic",))]
    with pytest.raises(OrderRefused) as refused:
        services.submit_order(lab.instrument, sme, samples=lines, tests=[], leftovers="keep",
                              desired_date=MONDAY_7_DEC_9AM.date() - timedelta(days=1),
                              urgent=False, notes="", hazards_acknowledged=False,
                              terms_signed=False)
    assert {p.code for p in refused.value.problems} == {
        "sample_name_required", "sample_count", "sample_state", "hazard_declaration",
        "tests_required", "leftovers", "desired_date_past", "terms_unsigned"}
    newcomer = make.user(organisation=sme.organisation, confirmed=False)
    with pytest.raises(OrderRefused) as refused:
        make.order(lab.instrument, newcomer)
    assert refused.value.code == "membership_unconfirmed"
    lab.instrument.allows_staff_operated = False
    with pytest.raises(OrderRefused) as refused:
        make.order(lab.instrument, sme)
    assert refused.value.code == "testing_not_offered"


def test_files_are_checked_by_content_and_size(frozen, make, lab, sme):
    order = make.order(lab.instrument, sme)
    with pytest.raises(files.FileRefused) as refused:
        files.store(order, _pdf(data=b"MZ not a pdf"), "report", lab.manager)
    assert refused.value.code == "file_content"
    with pytest.raises(files.FileRefused) as refused:
        files.store(order, _pdf(name="report.exe"), "report", lab.manager)
    assert refused.value.code == "file_type"
    with pytest.raises(files.FileRefused) as refused:
        files.store(order, _pdf(data=b"%PDF-" + b"0" * files.MAX_BYTES), "report", lab.manager)
    assert refused.value.code == "file_too_large"
    stored = files.store(order, _pdf(), "report", lab.manager)
    with open(files.path_of(stored), "rb") as handle:
        assert handle.read() == PDF


def test_turnaround_per_instrument(frozen, make, lab, sme):
    order = make.order(lab.instrument, sme)
    _run_to_testing(order, lab, frozen)
    frozen.tick(timedelta(days=2))
    files.store(order, _pdf(), "report", lab.manager)
    services.complete_with_report(order, lab.manager, "LAB")
    db.session.flush()
    [row] = services.turnaround_by_instrument([lab.organisation.id])
    assert row["instrument"] == lab.instrument and row["orders"] == 1
    assert 2.0 < row["median_days"] < 2.1
    assert services.turnaround_by_instrument([make.organisation().id]) == []
    assert db.session.scalar(select(func.count()).select_from(InvoiceLine)) >= 1


def _scheduled(make, lab, sme):
    """An accepted order with instrument time 11:00-12:00; (order, its start)."""
    order = make.order(lab.instrument, sme)
    services.accept_order(order, lab.manager)
    start = MONDAY_7_DEC_9AM + timedelta(hours=2)
    services.schedule_booking(order, lab.manager, start=start, end=start + timedelta(hours=1))
    return order, start


def test_the_customer_cannot_withdraw_once_the_lab_scheduled_time(frozen, make, lab, sme):
    order, _start = _scheduled(make, lab, sme)
    with pytest.raises(OrderRefused) as refused:
        services.cancel_order(order, sme)
    assert refused.value.code == "time_scheduled" and refused.value.http_status == 409


def test_scheduling_over_the_orders_own_time_says_so(frozen, make, lab, sme):
    """It was refused as time "someone else has just booked": the order's own booking."""
    order, start = _scheduled(make, lab, sme)
    with pytest.raises(OrderRefused) as refused:
        services.schedule_booking(order, lab.manager, start=start + timedelta(minutes=30),
                                  end=start + timedelta(hours=2))
    assert refused.value.code == "already_scheduled" and refused.value.http_status == 409
    assert refused.value.text() == ("该委托已占用 2026-12-07 11:00 至 12:00 的仪器机时：请选择"
                                    "其他时间，或先取消该预约。")
    later = start + timedelta(hours=1)  # right after it: a second slot of the same order
    services.schedule_booking(order, lab.manager, start=later, end=later + timedelta(hours=1))
    assert len(order.bookings) == 2


def test_a_report_with_nothing_to_pay_is_released_even_when_payment_is_required(
        frozen, make, sme):
    lab = make.testing_lab(per_sample_fee_fen=0)
    for rate in lab.instrument.rates:
        rate.setup_fee_fen = 0
    services.save_settings(lab.instrument, lab.manager, surcharge_percent=0, release_on="paid")
    order = make.order(lab.instrument, sme)
    assert order.fee_fen == 0
    _run_to_testing(order, lab, frozen)
    files.store(order, _pdf(), "report", lab.manager)
    services.complete_with_report(order, lab.manager, "LAB")
    assert order.invoice.amount_due_fen == 0 and services.report_released(order)


@pytest.mark.parametrize("release_on, said", [("issued", "账单开具后即可"),
                                              ("paid", "账单付清后即可")])
def test_the_report_ready_mail_says_when_the_report_can_be_downloaded(frozen, make, lab, sme,
                                                                      release_on, said):
    """Reported: the mail said "once the invoice is settled as the lab requires" while the
    lab released the report on the invoice's issue, and it downloaded at once."""
    services.save_settings(lab.instrument, lab.manager, surcharge_percent=0,
                           release_on=release_on)
    order = make.order(lab.instrument, sme)
    _run_to_testing(order, lab, frozen)
    files.store(order, _pdf(), "report", lab.manager)
    services.complete_with_report(order, lab.manager, "LAB")
    body = db.session.scalar(select(OutboxMessage.body).where(
        OutboxMessage.recipient == sme.email, OutboxMessage.kind == "order.report_ready"))
    assert said in body and "按实验室要求" not in body


def test_a_move_made_meanwhile_by_someone_else_is_not_made_twice(frozen, make, lab, sme):
    from sqlalchemy import update

    from booking.orders.models import Order

    order = make.order(lab.instrument, sme)
    # another staff member accepted it after this one loaded the order
    db.session.execute(update(Order).where(Order.id == order.id).values(state="accepted")
                       .execution_options(synchronize_session=False))
    assert order.state == "submitted"  # what this one still sees
    with pytest.raises(rules.IllegalOrderTransition):
        services.accept_order(order, lab.manager)
    assert [e.state for e in order.events] == ["submitted"]


def test_a_booking_the_lab_let_pass_is_not_charged_as_the_customers_no_show(frozen, make, lab,
                                                                            sme):
    from booking.billing.close import close_month
    from booking.metering.services import mark_no_shows

    order = make.order(lab.instrument, sme)
    services.accept_order(order, lab.manager)
    services.receive_order(order, lab.manager, condition="ok")
    start = MONDAY_7_DEC_9AM + timedelta(minutes=30)
    services.schedule_booking(order, lab.manager, start=start, end=start + timedelta(hours=1))
    frozen.move_to(start + timedelta(hours=2))
    assert mark_no_shows() == 1 and order.bookings[0].state == "no_show"
    later = start + timedelta(hours=3)
    services.schedule_booking(order, lab.manager, start=later, end=later + timedelta(hours=1))
    frozen.move_to(later)
    services.start_testing(order, lab.manager)
    files.store(order, _pdf(), "report", lab.manager)
    invoice = services.complete_with_report(order, lab.manager, "LAB")
    assert any(line.kind == "no_show" and line.amount_fen == 0 for line in invoice.lines)
    assert close_month("2026-12").invoices == 0  # nothing of the order's left to charge


def test_testing_starts_on_the_slot_due_now_and_the_report_frees_the_unused_one(frozen, make,
                                                                                lab, sme):
    """Reported: with a slot on Wednesday scheduled first and one today, "start testing" tried
    Wednesday's ("check-in opens 15 minutes before"); and once the report was out, the order
    kept Wednesday's time booked, the instrument blocked, and its invoice listed it."""
    from booking.bookings.models import Booking

    order = make.order(lab.instrument, sme)
    services.accept_order(order, lab.manager)
    services.receive_order(order, lab.manager, condition="ok")
    wednesday = MONDAY_7_DEC_9AM + timedelta(days=2)
    spare = services.schedule_booking(order, lab.manager, start=wednesday,
                                      end=wednesday + timedelta(hours=2))
    today = MONDAY_7_DEC_9AM + timedelta(hours=1)
    used = services.schedule_booking(order, lab.manager, start=today,
                                     end=today + timedelta(hours=1))
    frozen.move_to(today)
    services.start_testing(order, lab.manager)
    assert (used.state, spare.state) == ("in_use", "approved")
    files.store(order, _pdf(), "report", lab.manager)
    invoice = services.complete_with_report(order, lab.manager, "LAB")
    db.session.flush()
    assert db.session.get(Booking, spare.id).state == "cancelled"  # free for others
    assert db.session.get(Booking, used.id).state == "completed"
    listed = {line.booking_id for line in invoice.lines if line.booking_id}
    assert listed == {used.id}  # the time it used, at 0; nothing for the released slot


def test_the_kiosk_and_the_month_close_never_charge_an_orders_time_before_its_invoice(
        frozen, make, lab, sme):
    """Staff may check an order's booking in and out at the kiosk, and a month may close
    while the order is still in testing: the booking is billed separately (by the order's
    invoice), so neither charges its time or samples."""
    from booking.billing.close import close_month
    from booking.metering.services import check_in, check_out

    order = make.order(lab.instrument, sme, samples=2)
    services.accept_order(order, lab.manager)
    services.receive_order(order, lab.manager, condition="ok")
    start = MONDAY_7_DEC_9AM + timedelta(minutes=30)
    booking = services.schedule_booking(order, lab.manager, start=start,
                                        end=start + timedelta(hours=1))
    assert booking.billed_separately
    frozen.move_to(start)
    session = check_in(booking, actor=lab.manager, source="kiosk")
    frozen.tick(timedelta(minutes=40))
    check_out(session, actor=lab.manager)
    db.session.flush()
    assert booking.state == "completed"

    def invoices():
        return db.session.scalar(select(func.count()).select_from(Invoice).where(
            Invoice.customer_org_id == sme.organisation_id))

    assert invoices() == 0  # the check-out invoiced nothing
    frozen.move_to(MONDAY_7_DEC_9AM + timedelta(days=30))
    assert close_month("2026-12").invoices == 0 and invoices() == 0
    # the order still prices its samples and tests on its own invoice (testing on new time)
    later = MONDAY_7_DEC_9AM + timedelta(days=30, hours=1)
    services.schedule_booking(order, lab.manager, start=later, end=later + timedelta(hours=1))
    frozen.move_to(later)
    services.start_testing(order, lab.manager)
    files.store(order, _pdf(), "report", lab.manager)
    invoice = services.complete_with_report(order, lab.manager, "LAB")
    assert invoices() == 1 and invoice.subtotal_fen == order.fee_fen


def test_a_voided_invoice_is_issued_again_and_the_fees_are_fees(frozen, make, lab, sme):
    """Reported: once finance voided an order's invoice the order could never be invoiced again
    (nor its report released on payment); the set-up fee and the surcharge read as samples."""
    from booking.billing.invoicing import void_invoice

    services.save_settings(lab.instrument, lab.manager, surcharge_percent=50, release_on="paid")
    order = make.order(lab.instrument, sme, samples=2, urgent=True)
    _run_to_testing(order, lab, frozen)
    files.store(order, _pdf(), "report", lab.manager)
    first = services.complete_with_report(order, lab.manager, "LAB")
    fees = sorted((line.kind, line.description.split(" ", 1)[1], line.amount_fen)
                  for line in first.lines if line.kind == "fee")
    assert fees == [("fee", "加急费 / urgent surcharge", order.surcharge_fen),
                    ("fee", "开机费 / set-up fee", SETUP_FEN)]
    assert first.voucher_fen == order.fee_fen * 40 // 100  # the fees are testing: voucher pays
    with pytest.raises(OrderRefused) as refused:  # an open invoice is not issued twice
        services.reissue_invoice(order, lab.manager)
    assert refused.value.code == "invoice_not_void"
    void_invoice(first, make.user(role="finance", organisation=lab.instrument.organisation),
                 "开票信息有误，重开")
    db.session.flush()
    again = services.reissue_invoice(order, lab.manager)
    db.session.commit()
    assert order.invoice is again and again.id != first.id and again.state == "issued"
    assert (again.subtotal_fen, again.voucher_fen) == (first.subtotal_fen, first.voucher_fen)
    assert not services.report_released(order)  # released once this one is paid


def test_the_release_rule_is_the_one_signed(frozen, make, lab, sme):
    """Reported: the lab switched to "once paid" and a report of an order signed under "once
    issued" locked until payment."""
    order = make.order(lab.instrument, sme)  # signed under the default: once issued
    services.save_settings(lab.instrument, lab.manager, surcharge_percent=0, release_on="paid")
    later = make.order(lab.instrument, sme)
    assert (order.release_on, later.release_on) == ("issued", "paid")
    _run_to_testing(order, lab, frozen)
    files.store(order, _pdf(), "report", lab.manager)
    services.complete_with_report(order, lab.manager, "LAB")
    assert order.invoice.state == "issued" and services.report_released(order)
