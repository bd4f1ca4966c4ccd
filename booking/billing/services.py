"""Billing workflows. Quotes use the same pure pricing functions as invoices."""
from datetime import datetime

from booking.accounts.models import User
from booking.billing import rules
from booking.instruments.models import Instrument
from booking.instruments.rules import customer_class


class NoRate(Exception):
    """The instrument has no rate for this customer class at that time."""


def rate_cards(instrument: Instrument) -> list[rules.RateCard]:
    return [rules.RateCard(r.customer_class, r.hourly_fen, r.rounding_minutes, r.minimum_minutes,
                           r.setup_fee_fen, r.valid_from) for r in instrument.rates]


def customer_class_for(instrument: Instrument, user: User) -> str:
    return customer_class(instrument.organisation_id, user.organisation_id,
                          user.organisation.kind)


def quote_booking(instrument: Instrument, user: User, start: datetime, end: datetime
                  ) -> rules.Quote:
    """Fee for booking [start, end) at the user's customer class (voucher share: 0 until the
    subsidies area answers the `voucher_share_requested` signal)."""
    klass = customer_class_for(instrument, user)
    card = rules.rate_at(rate_cards(instrument), klass, start)
    if card is None:
        raise NoRate(klass)
    minutes = int((end - start).total_seconds() // 60)
    return rules.quote(card, minutes)
