"""Instruments with their rate cards and opening hours, and a typical lab around one."""
from dataclasses import dataclass
from datetime import time

from booking.accounts.models import Organisation, User
from booking.core.db import utc
from booking.extensions import db
from booking.instruments import search_index
from booking.instruments.models import Instrument, OpeningHours, Rate
from tests.factories.accounts import create_organisation, create_user
from tests.factories.serial import next_serial

#: hourly fen per customer class: internal 100 元/h, academic 200, enterprise 400
DEFAULT_RATES = {"internal": 10_000, "academic": 20_000, "enterprise": 40_000}


def create_instrument(organisation=None, rates=None, hours="weekdays 08:00-18:00",
                      **fields) -> Instrument:
    """An active public instrument open on weekdays, with a rate for every customer class.

    rates: {customer_class: hourly_fen}, DEFAULT_RATES by default; hours: "weekdays
    08:00-18:00", "always" or anything else for none.
    """
    n = next_serial()
    organisation = organisation or create_organisation()
    defaults = dict(name_zh=f"扫描电子显微镜{n}", name_en=f"Scanning electron microscope {n}",
                    model="SU8010", manufacturer="Hitachi", category="analytical",
                    original_value_fen=300_000_000, lab="分析测试中心", location="化工楼 101",
                    requires_approval=False, lead_minutes=0)
    instrument = Instrument(organisation=organisation, **{**defaults, **fields})
    for customer_class, hourly_fen in (rates or DEFAULT_RATES).items():
        instrument.rates.append(Rate(customer_class=customer_class, hourly_fen=hourly_fen,
                                     rounding_minutes=15, minimum_minutes=30,
                                     valid_from=utc(2020, 1, 1)))
    if hours == "weekdays 08:00-18:00":
        instrument.opening_hours = [OpeningHours(weekday=d, opens=time(8), closes=time(18))
                                    for d in range(5)]
    elif hours == "always":
        instrument.opening_hours = [OpeningHours(weekday=d, opens=time(0), closes=time(23, 59))
                                    for d in range(7)]
    db.session.add(instrument)
    search_index.reindex(instrument)  # listed in the directory's full-text index
    db.session.commit()
    return instrument


@dataclass(frozen=True)
class Lab:
    """A university lab: its organisation, its lab manager and one instrument."""

    organisation: Organisation
    manager: User
    instrument: Instrument


def dummy_lab(requires_approval=True, **instrument_fields) -> Lab:
    """A verified university whose lab manager decides requests for its one instrument."""
    organisation = create_organisation()
    return Lab(organisation=organisation,
               manager=create_user(role="lab_manager", organisation=organisation),
               instrument=create_instrument(organisation=organisation,
                                            requires_approval=requires_approval,
                                            **instrument_fields))
