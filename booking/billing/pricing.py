"""Prices: quotes before a booking and priced facts after it, both by the pure pricing rules
(booking.billing.rules) and the instrument's rate cards."""
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import select

from booking.accounts.models import User
from booking.billing import rules
from booking.billing.facts import Fact, usage_facts
from booking.billing.refusals import NoRate
from booking.billing.signals import quote_requested
from booking.core.clock import to_local
from booking.core.db import chunks
from booking.core.problems import _l
from booking.extensions import db
from booking.instruments.models import Instrument, Rate
from booking.instruments.rules import customer_class
from booking.metering.models import UsageSession
from booking.metering.rules import used_minutes


def rate_card(rate: Rate) -> rules.RateCard:
    return rules.RateCard(rate.customer_class, rate.hourly_fen, rate.rounding_minutes,
                          rate.minimum_minutes, rate.setup_fee_fen, rate.valid_from)


def rate_cards(instrument: Instrument) -> list[rules.RateCard]:
    return [rate_card(r) for r in instrument.rates]


def rate_cards_for(instrument_ids: Iterable[int]) -> dict[int, list[rules.RateCard]]:
    """Every rate of these instruments in one query."""
    cards: dict[int, list[rules.RateCard]] = defaultdict(list)
    for chunk in chunks(set(instrument_ids), 500):
        for instrument_id, *card in db.session.execute(select(  # plain rows: no ORM objects
                Rate.instrument_id, Rate.customer_class, Rate.hourly_fen, Rate.rounding_minutes,
                Rate.minimum_minutes, Rate.setup_fee_fen, Rate.valid_from)
                .where(Rate.instrument_id.in_(chunk)).order_by(Rate.id)):
            cards[instrument_id].append(rules.RateCard(*card))
    return cards


def customer_class_for(instrument: Instrument, user: User) -> str:
    return customer_class(instrument.organisation_id, user.organisation_id,
                          user.organisation.kind)


def quote_booking(instrument: Instrument, user: User, start: datetime, end: datetime,
                  mode: str = "self_operated", samples: int = 0) -> rules.Quote:
    """Fee for booking [start, end) at the user's customer class, plus the per-sample fee of
    a staff-operated (送样) booking's samples, with the voucher share of that total that
    answers to `quote_requested` offer (the subsidies area). Raises NoRate."""
    klass = customer_class_for(instrument, user)
    card = rules.rate_at(rate_cards(instrument), klass, start)
    if card is None:
        raise NoRate.one("no_rate", _l("The instrument has no rate for your customer class."))
    minutes = int((end - start).total_seconds() // 60)
    samples = samples if mode == "staff_operated" else 0
    fee = rules.usage_fee_fen(minutes, card) + rules.samples_fee_fen(
        samples, instrument.per_sample_fee_fen)
    offers = quote_requested.send(instrument, user=user, fee_fen=fee, mode=mode, done_by=end)
    return rules.quote(card, minutes, sum(int(answer or 0) for _receiver, answer in offers),
                       samples=samples, per_sample_fee_fen=instrument.per_sample_fee_fen)


def late_cancellation_fee_fen(booking) -> int | None:
    """What cancelling `booking` late is charged (the instrument's fraction of the booked
    time's fee, as the month close prices it), before any waiver; None without a rate."""
    return penalty_of_booking_fen(booking, booking.instrument.late_cancel_fraction)


def no_show_fee_fen(booking) -> int | None:
    """What not coming to `booking` is charged, before any waiver; None without a rate."""
    return penalty_of_booking_fen(booking, booking.instrument.no_show_fraction)


def penalty_of_booking_fen(booking, fraction) -> int | None:
    return penalty_fen(booking.instrument, booking.user, booking.start_at, booking.end_at,
                       fraction)


def penalty_fen(instrument, user, start, end, fraction) -> int | None:
    """The `fraction` of [start, end)'s fee that a penalty charges `user`; None without a
    rate."""
    card = rules.rate_at(rate_cards(instrument), customer_class_for(instrument, user), start)
    if card is None:
        return None
    return rules.penalty_fee_fen(used_minutes(start, end), card, Decimal(fraction), False)


class Price(NamedTuple):
    customer_class: str
    billable_minutes: int
    hourly_fen: int | None  # samples: the fee per sample
    amount_fen: int | None
    used_minutes: int = 0


def price(fact: Fact, cards: list[rules.RateCard]) -> Price | None:
    """The fact priced by the card of its customer class in force at its start (None: no rate);
    samples are priced by the instrument's fee per sample, whatever the card."""
    klass = fact.customer_class
    if fact.kind == "samples":
        return Price(klass, 0, fact.per_sample_fen,
                     rules.samples_fee_fen(fact.samples, fact.per_sample_fen))
    card = rules.rate_at(cards, klass, fact.start)
    if card is None:
        return None
    minutes = used_minutes(fact.start, fact.end)
    if fact.kind == "usage":
        return Price(klass, rules.billable_minutes(minutes, card.rounding_minutes,
                                                   card.minimum_minutes),
                     card.hourly_fen, rules.usage_fee_fen(minutes, card), minutes)
    return Price(klass, minutes, card.hourly_fen,
                 rules.penalty_fee_fen(minutes, card, fact.fraction, fact.waived), minutes)


def price_line(fact: Fact, cards: list[rules.RateCard]) -> dict | None:
    """An invoice line (as column values) for a fact, or None when there is no rate."""
    priced = price(fact, cards)
    if priced is None:
        return None
    quantity = Decimal(fact.samples) if fact.kind == "samples" else \
        Decimal(priced.billable_minutes) / 60
    return {"kind": fact.kind, "description": _description(fact),
            "minutes": priced.billable_minutes, "quantity": quantity.quantize(Decimal("0.01")),
            "unit_price_fen": priced.hourly_fen, "amount_fen": priced.amount_fen,
            "instrument_id": fact.instrument_id, "booking_id": fact.booking_id,
            "usage_session_id": fact.session_id, "service_at": fact.start}


def _description(fact: Fact) -> str:
    """Instrument and local start; the invoice page adds the translated kind (no-show...)."""
    return f"{fact.instrument_name} {to_local(fact.start):%Y-%m-%d %H:%M}"[:300]


def billable_minutes_of_bookings(booking_ids: list[int]) -> dict[int, int]:
    """Billable minutes per booking from its effective, ended usage sessions (set-based)."""
    if not booking_ids:
        return {}
    facts = usage_facts(UsageSession.booking_id.in_(booking_ids), uncharged_only=False)
    cards = rate_cards_for({fact.instrument_id for fact in facts})
    minutes: dict[int, int] = defaultdict(int)
    for fact in facts:
        priced = price(fact, cards.get(fact.instrument_id, []))
        if priced is not None:
            minutes[fact.booking_id] += priced.billable_minutes
    return dict(minutes)
