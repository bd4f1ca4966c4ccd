"""Order workflows: submit, accept or decline, receive, schedule, test, report, close.
Each loads what it needs, applies the pure rules, writes, records the event and the audit,
and queues the notices; they flush, never commit (the route commits once).

Billing never imports this area. The order is invoiced through billing's own path
(invoicing.issue, which asks the voucher receivers for their share) with lines per
test and sample, the set-up fee and the urgency surcharge. The staff-operated bookings the
order ran on are on the same invoice as lines of 0 (their time and samples are part of the
order's price), so that neither check-out nor the month close charges them a second time.
"""
from datetime import date, datetime, timedelta
from statistics import median

from flask_babel import force_locale, gettext
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from booking.accounts.models import User
from booking.billing import notifications as billing_notifications
from booking.billing import rules as billing_rules
from booking.billing.invoicing import Draft, issue
from booking.billing.models import Invoice, InvoiceLine
from booking.billing.pricing import customer_class_for, rate_cards
from booking.billing.signals import quote_requested
from booking.bookings.models import Booking
from booking.bookings.on_behalf import book_for
from booking.bookings.requests import cancel_booking
from booking.bookings.rules import OCCUPYING_STATES
from booking.core import audit
from booking.core.clock import local_today, now_utc, to_local
from booking.core.problems import Refused, _l
from booking.extensions import db
from booking.instruments.models import Instrument
from booking.metering import services as metering
from booking.orders import notifications, rules
from booking.orders.models import Order, OrderBooking, OrderEvent, OrderSettings, Sample


class OrderRefused(Refused):
    """An order action is not allowed (nothing was changed)."""

    conflicts = frozenset({"no_booking_due", "report_missing", "not_schedulable",
                           "time_scheduled", "already_scheduled", "invoice_not_void"})


# --- settings and quotes ------------------------------------------------------------------------
def settings_for(instrument: Instrument) -> OrderSettings:
    """The instrument's order settings, or the defaults (not added to the session)."""
    found = db.session.get(OrderSettings, instrument.id)
    return found or OrderSettings(instrument_id=instrument.id, urgent_surcharge_percent=0,
                                  release_on="issued")


def save_settings(instrument: Instrument, actor: User, *, surcharge_percent: int,
                  release_on: str) -> OrderSettings:
    if not 0 <= surcharge_percent <= rules.MAX_SURCHARGE_PERCENT or \
            release_on not in rules.RELEASES:
        raise OrderRefused.one("settings_invalid", _l("These order settings are not valid."))
    found = db.session.get(OrderSettings, instrument.id)
    if found is None:
        found = OrderSettings(instrument_id=instrument.id)
        db.session.add(found)
    found.urgent_surcharge_percent, found.release_on = surcharge_percent, release_on
    found.updated_at = now_utc()
    audit.record("order.settings", actor=actor, obj=instrument, surcharge=surcharge_percent,
                 release_on=release_on)
    return found


def _setup_fee(instrument: Instrument, klass: str) -> int:
    card = billing_rules.rate_at(rate_cards(instrument), klass, now_utc())
    if card is None:
        raise OrderRefused.one("no_rate",
                               _l("The instrument has no rate for your customer class."))
    return card.setup_fee_fen


def quote_order(instrument: Instrument, user: User, samples: int, tests: int,
                urgent: bool) -> rules.OrderQuote:
    """The order's price at the user's customer class, with the share the user's voucher
    would pay (the subsidies area answers billing's quote_requested for testing)."""
    klass = customer_class_for(instrument, user)
    base = rules.quote(samples, tests, instrument.per_sample_fee_fen,
                       _setup_fee(instrument, klass), urgent,
                       settings_for(instrument).urgent_surcharge_percent)
    offers = quote_requested.send(instrument, user=user, fee_fen=base.fee_fen,
                                  mode="staff_operated")
    voucher = sum(int(answer or 0) for _receiver, answer in offers)
    return rules.quote(samples, tests, instrument.per_sample_fee_fen, base.setup_fee_fen,
                       urgent, settings_for(instrument).urgent_surcharge_percent, voucher)


def _lines(text: str | None) -> list[str]:
    return [line.strip()[:200] for line in (text or "").splitlines() if line.strip()][:50]


def capabilities(instrument: Instrument) -> list[str]:
    """The tests the instrument's page lists (one per line): an order names them so."""
    return _lines(instrument.capabilities)


def test_labels(instrument: Instrument, locale: str) -> dict[str, str]:
    """{test as an order names it: as a reader of `locale` reads it}: in English, the line of
    the English list in the same place, where the lab wrote one for each."""
    tests, english = capabilities(instrument), _lines(instrument.capabilities_en)
    if locale != "en" or len(english) != len(tests):
        return {test: test for test in tests}
    return dict(zip(tests, english, strict=True))


# --- events -------------------------------------------------------------------------------------
def _move(order: Order, target: str, actor: User | None, note: str = "") -> None:
    """The one way an order changes state: checked, timed, recorded as an event, audited."""
    rules.check_move(order.state, target)
    before, now = order.state, now_utc()
    # a conditional UPDATE: of two staff acting at once on PostgreSQL, the second is refused
    moved = db.session.execute(
        update(Order).where(Order.id == order.id, Order.state == before)
        .values(state=target, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        db.session.refresh(order)
        rules.check_move(order.state, target)
    order.state, order.updated_at = target, now
    order.events.append(OrderEvent(state=target, actor=actor, note=note[:500],
                                   created_at=order.updated_at))
    audit.record(f"order.{target}", actor=actor, obj=order, before=before, note=note[:300])


# --- the customer -------------------------------------------------------------------------------
def submit_order(instrument: Instrument, user: User, *, samples: list[rules.SampleLine],
                 tests: list[str], leftovers: str, desired_date: date | None, urgent: bool,
                 notes: str, hazards_acknowledged: bool, terms_signed: bool) -> Order:
    problems = rules.service_problems(
        active=instrument.status == "active", offers_testing=instrument.allows_staff_operated,
        visible=instrument.is_public or user.organisation_id == instrument.organisation_id,
        organisation_verified=user.organisation.verified,
        membership_confirmed=user.membership_confirmed)
    tests = [t.strip()[:200] for t in tests if t.strip()]
    problems += rules.order_problems(samples, tests, leftovers, desired_date,
                                     local_today(tz_name=instrument.timezone),
                                     hazards_acknowledged, terms_signed)
    if problems:
        raise OrderRefused(problems)
    quote = quote_order(instrument, user, rules.total_samples(samples), len(tests), urgent)
    now = now_utc()
    order = Order(instrument=instrument, provider_id=instrument.organisation_id,
                  customer_user=user, customer_org_id=user.organisation_id, state="submitted",
                  tests=tests, leftovers=leftovers, desired_date=desired_date, urgent=urgent,
                  notes=notes.strip()[:2000], hazards_acknowledged=hazards_acknowledged,
                  terms_signed_at=now, customer_class=customer_class_for(instrument, user),
                  release_on=settings_for(instrument).release_on,
                  per_sample_fen=quote.per_sample_fen, setup_fee_fen=quote.setup_fee_fen,
                  surcharge_fen=quote.surcharge_fen, fee_fen=quote.fee_fen,
                  voucher_fen=quote.voucher_fen, created_at=now, updated_at=now)
    for position, line in enumerate(samples, start=1):
        order.samples.append(Sample(position=position, name=line.name.strip()[:200],
                                    count=line.count, state=line.state,
                                    composition=line.composition.strip()[:500],
                                    hazards=[h for h in rules.HAZARDS if h in line.hazards]))
    order.events.append(OrderEvent(state="submitted", actor=user, created_at=now))
    db.session.add(order)
    db.session.flush()
    order.number = rules.order_number(to_local(now).year, order.id)
    audit.record("order.submitted", actor=user, obj=order, samples=order.sample_total,
                 fee_fen=order.fee_fen)
    notifications.notify_lab(order, "submitted")
    return order


def cancel_order(order: Order, user: User) -> None:
    """The customer withdraws an order the lab has not received samples for, nor scheduled
    time for (that booking is the lab's to release)."""
    if any(b.state in ("pending", "approved", "in_use") for b in order.bookings):
        raise OrderRefused.one("time_scheduled", _l(
            "The lab has scheduled instrument time for this order: ask the lab to cancel it."))
    _move(order, "cancelled", user)
    notifications.notify_lab(order, "cancelled")


# --- the lab ------------------------------------------------------------------------------------
def accept_order(order: Order, actor: User) -> None:
    _move(order, "accepted", actor)
    notifications.notify_customer(order, "accepted")


def decline_order(order: Order, actor: User, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise OrderRefused.one("reason_required", _l("Give a reason for declining the order."))
    _move(order, "declined", actor, reason)
    order.decline_reason = reason[:500]
    notifications.notify_customer(order, "declined", reason[:500])


def receive_order(order: Order, actor: User, *, condition: str,
                  sample_conditions: dict[int, str] | None = None) -> None:
    """The samples arrived: each gets its code (for its label) and its condition as received."""
    condition = (condition or "").strip()
    if not condition:
        raise OrderRefused.one("condition_required",
                               _l("Describe the condition the samples arrived in."))
    strangers = set(sample_conditions or {}) - {sample.id for sample in order.samples}
    if strangers:
        raise OrderRefused.one("unknown_sample", _l(
            "Samples %(ids)s are not this order's."), ids=", ".join(map(str, sorted(strangers))))
    _move(order, "received", actor, condition)
    order.received_condition, order.received_at = condition[:500], order.updated_at
    for sample in order.samples:
        sample.code = rules.sample_code(order.number, sample.position)
        sample.condition = ((sample_conditions or {}).get(sample.id) or "").strip()[:500]
    notifications.notify_customer(order, "received", condition[:500])


def schedule_booking(order: Order, actor: User, *, start: datetime, end: datetime) -> Booking:
    """Book the instrument's time for the order: a staff-operated booking of the customer's,
    approved at once (the lab books it), linked to the order."""
    if order.state not in ("accepted", "received"):
        raise OrderRefused.one("not_schedulable", _l(
            "Instrument time is scheduled for an accepted order until testing starts."))
    held = next((b for b in order.bookings if b.state in OCCUPYING_STATES
                 and b.start_at < end and start < b.end_at), None)
    if held is not None:  # the database would refuse it as "just booked by someone else"
        timezone = order.instrument.timezone
        raise OrderRefused.one("already_scheduled", _l(
            "This order already holds the instrument from %(start)s to %(end)s: pick another "
            "time, or cancel that booking first."),
            start=to_local(held.start_at, timezone).strftime("%Y-%m-%d %H:%M"),
            end=to_local(held.end_at, timezone).strftime("%H:%M"))
    with force_locale(order.customer_user.locale):  # the booking is the customer's to read
        purpose = gettext("Test order %(number)s", number=order.number)
    booking = book_for(order.instrument, order.customer_user, actor, start=start, end=end,
                       mode="staff_operated", purpose=purpose,
                       samples=min(order.sample_total, rules.MAX_TOTAL_SAMPLES),
                       charge_project=False)  # the order's invoice pays for its time
    booking.billed_separately = True  # its time and samples are priced on the order's invoice
    order.booking_links.append(OrderBooking(booking=booking))
    audit.record("order.scheduled", actor=actor, obj=order, booking_id=booking.id)
    return booking


def start_testing(order: Order, actor: User) -> None:
    """Testing runs on a linked booking: one already checked in, or one that is due now,
    which is checked in here (metering's session, source manager)."""
    if order.state != "received":
        rules.check_move(order.state, "testing")
    live = [b for b in order.bookings if b.state in ("approved", "in_use")]
    if not any(b.state == "in_use" for b in live):
        due = sorted((b for b in live if b.state == "approved"), key=lambda b: b.start_at)
        if not due:
            raise OrderRefused.one("no_booking_due", _l(
                "Schedule the instrument time for this order first."))
        # the slot whose check-in is open (later ones are not due; the first says when it is)
        now = now_utc()
        metering.check_in(next((b for b in due if b.end_at > now >= b.start_at - timedelta(
            minutes=b.instrument.check_in_early_minutes)), due[0]), actor=actor,
            source="manager")
    _move(order, "testing", actor)
    notifications.notify_customer(order, "testing")


def complete_with_report(order: Order, actor: User, report_number_prefix: str) -> Invoice:
    """After the report was stored: the order is report_ready with its number, the invoice is
    issued (voucher share deducted by its receivers) and the running sessions end."""
    if not any(f.kind == "report" for f in order.files):
        raise OrderRefused.one("report_missing", _l("Upload the report (PDF) first."))
    _move(order, "report_ready", actor)
    order.report_issued_at = order.updated_at
    order.report_number = rules.report_number(report_number_prefix,
                                              to_local(order.updated_at).year, order.id)
    _release_unused(order, actor)
    invoice = _issue_invoice(order)
    for booking in order.bookings:
        if booking.state == "in_use":
            metering.check_out_booking(booking, actor=actor)
    notifications.notify_customer(order, "report_ready")
    return invoice


RELEASED = "报告已出具，未用的机时已释放 / report issued: the unused time is released"


def _release_unused(order: Order, actor: User) -> None:
    """The order's time it never used (a slot booked for a retest, say) is freed for others
    once its report is out: it held the instrument, at nobody's charge, for nothing."""
    for booking in order.bookings:
        if booking.state in ("pending", "approved") and \
                not metering.sessions_of_booking(booking):
            cancel_booking(booking, actor, RELEASED)


def reissue_invoice(order: Order, actor: User) -> Invoice:
    """Finance voided the order's invoice (wrong details, say): the lab issues it again, as
    signed. Until then the customer could neither pay nor get a report released on payment."""
    if order.invoice is None or order.invoice.state != "void":
        raise OrderRefused.one("invoice_not_void", _l(
            "Only an order whose invoice was voided is invoiced again."))
    voided = order.invoice.number
    invoice = _issue_invoice(order)
    audit.record("order.reinvoiced", actor=actor, obj=order, voided=voided,
                 invoice=invoice.number)
    return invoice


def close_order(order: Order, actor: User, outcome: str) -> None:
    if outcome not in rules.OUTCOMES:
        raise OrderRefused.one("outcome_required",
                               _l("Say whether the leftover samples were returned or disposed of."))
    _move(order, "closed", actor, outcome)
    order.outcome = outcome
    notifications.notify_customer(order, "closed", notifications.OUTCOME_LABELS[outcome])


# --- the invoice --------------------------------------------------------------------------------
# An invoice is one document for both languages: its fixed words are written in both.
FEE_LABELS = {"setup": "开机费 / set-up fee", "urgent": "加急费 / urgent surcharge"}


def invoice_lines(order: Order) -> list[dict]:
    """The order's lines: each test on every sample, the set-up fee, the surcharge, and the
    linked bookings' time and samples at 0 (included in the order's price)."""
    at, instrument = order.report_issued_at or now_utc(), order.instrument
    base = {"kind": "samples", "instrument_id": instrument.id, "service_at": at, "minutes": 0}
    samples = order.sample_total
    lines = [{**base, "description": f"{order.number} {test} × {samples}"[:300],
              "quantity": samples, "unit_price_fen": order.per_sample_fen,
              "amount_fen": samples * order.per_sample_fen} for test in order.tests]
    for label, amount in ((FEE_LABELS["setup"], order.setup_fee_fen),
                          (FEE_LABELS["urgent"], order.surcharge_fen)):
        if amount:
            lines.append({**base, "kind": "fee", "description": f"{order.number} {label}",
                          "quantity": 1, "unit_price_fen": amount, "amount_fen": amount})
    lines += _included_booking_lines(order, base)
    return lines


def _included_booking_lines(order: Order, base: dict) -> list[dict]:
    booking_ids = [b.id for b in order.bookings]
    if not booking_ids:
        return []
    charged = set(db.session.scalars(select(InvoiceLine.booking_id).where(
        InvoiceLine.booking_id.in_(booking_ids), InvoiceLine.kind == "samples")))
    charged_sessions = set(db.session.scalars(select(InvoiceLine.usage_session_id).where(
        InvoiceLine.kind == "usage", InvoiceLine.booking_id.in_(booking_ids))))
    penalised = set(db.session.scalars(select(InvoiceLine.booking_id).where(
        InvoiceLine.booking_id.in_(booking_ids), InvoiceLine.kind == "no_show")))
    lines = []
    for booking in order.bookings:
        if booking.state == "cancelled":  # released unused (or cancelled before)
            continue
        text = f"{order.number} {to_local(booking.start_at):%Y-%m-%d %H:%M} " \
            f"{billing_rules.INCLUDED_IN_ORDER}"
        if booking.id not in charged and booking.sample_count:
            lines.append({**base, "description": text, "quantity": booking.sample_count,
                          "unit_price_fen": 0, "amount_fen": 0, "booking_id": booking.id})
        if booking.state == "no_show" and booking.id not in penalised:
            # the lab did not run the order on that booking: not the customer's no-show
            lines.append({**base, "kind": "no_show", "description": text, "quantity": 0,
                          "unit_price_fen": 0, "amount_fen": 0, "booking_id": booking.id})
        for session in metering.sessions_of_booking(booking):
            if session.id not in charged_sessions:
                lines.append({**base, "kind": "usage", "description": text, "quantity": 0,
                              "unit_price_fen": 0, "amount_fen": 0, "booking_id": booking.id,
                              "usage_session_id": session.id})
    return lines


def _issue_invoice(order: Order) -> Invoice:
    draft = Draft({"provider_id": order.provider_id, "customer_org_id": order.customer_org_id,
                   "customer_user_id": order.customer_user_id,
                   "customer_class": order.customer_class, "period": None, "kind": "invoice"},
                  invoice_lines(order))
    invoice = db.session.get(Invoice, issue([draft]).ids[0])
    order.invoice = invoice
    audit.record("invoice.issued", obj=invoice, order_id=order.id,
                 amount_due_fen=invoice.amount_due_fen)
    billing_notifications.notify_invoice_issued(invoice)
    return invoice


# --- reads --------------------------------------------------------------------------------------
def report_released(order: Order) -> bool:
    invoice = order.invoice
    state = invoice.state if invoice else None
    if state == "issued" and invoice.amount_due_fen == 0:
        state = "paid"  # nothing to pay (the voucher paid it all, or no fee): settled
    return rules.report_released(state, order.release_on)


def orders_of_customer(user: User):
    return select(Order).where(Order.customer_user_id == user.id).order_by(
        Order.id.desc()).options(joinedload(Order.invoice))  # the list says what is to pay


def orders_of_lab(user: User, state: str | None = None):
    """The orders of the organisations where the user is a lab manager (admins: all)."""
    query = select(Order).order_by(Order.id.desc())
    if not user.is_admin:
        org_ids = [r.organisation_id for r in user.roles if r.name == "lab_manager"]
        query = query.where(Order.provider_id.in_(org_ids or [-1]))
    if state:
        query = query.where(Order.state == state)
    return query


def sample_by_code(code: str) -> Sample | None:
    return db.session.scalar(select(Sample).where(Sample.code == code))


def order_of_booking(booking_id: int) -> Order | None:
    """The test order a booking runs (its time is paid by the order's invoice)."""
    return db.session.scalar(select(Order).join(OrderBooking).where(
        OrderBooking.booking_id == booking_id))


def order_by_report_number(number: str) -> Order | None:
    return db.session.scalar(select(Order).where(Order.report_number == number))


def turnaround_by_instrument(provider_ids: list[int] | None) -> list[dict]:
    """Per instrument: orders with a report, and the median and mean days from the samples'
    receipt to the report (the lab dashboard's service-efficiency figure)."""
    query = select(Order.instrument_id, Order.received_at, Order.report_issued_at).where(
        Order.received_at.is_not(None), Order.report_issued_at.is_not(None))
    if provider_ids is not None:
        query = query.where(Order.provider_id.in_(provider_ids or [-1]))
    days: dict[int, list[float]] = {}
    for instrument_id, received, reported in db.session.execute(query):
        days.setdefault(instrument_id, []).append(
            (reported - received).total_seconds() / 86400)
    instruments = {i.id: i for i in db.session.scalars(
        select(Instrument).where(Instrument.id.in_(list(days) or [-1])))}
    return [{"instrument": instruments[i], "orders": len(values),
             "median_days": median(values),
             "mean_days": sum(values) / len(values)} for i, values in sorted(days.items())]

