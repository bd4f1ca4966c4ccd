"""Test orders (送样): a lab that takes them and orders submitted through the real service."""
from dataclasses import dataclass

from booking.accounts.models import Organisation, User
from booking.extensions import db
from booking.instruments.models import Instrument
from tests.factories.accounts import create_organisation, create_user
from tests.factories.instruments import create_instrument

PER_SAMPLE_FEN = 5_000  # 50 元 per sample and test
SETUP_FEN = 2_000  # 20 元 set-up fee at every customer class


@dataclass(frozen=True)
class OrderLab:
    organisation: Organisation
    manager: User
    instrument: Instrument


def dummy_testing_lab(**instrument_fields) -> OrderLab:
    """A verified university whose lab manager runs orders on an instrument open all week,
    with a fee per sample, a set-up fee and two capabilities."""
    organisation = create_organisation()
    defaults = dict(hours="always", per_sample_fee_fen=PER_SAMPLE_FEN,
                    capabilities="形貌观察 SEM imaging\n能谱分析 EDS", check_in_early_minutes=60)
    instrument = create_instrument(organisation=organisation,
                                   **{**defaults, **instrument_fields})
    for rate in instrument.rates:
        rate.setup_fee_fen = SETUP_FEN
    db.session.commit()
    return OrderLab(organisation, create_user(role="lab_manager", organisation=organisation),
                      instrument)


def create_order(instrument, user, samples=3, tests=("形貌观察 SEM imaging",), urgent=False,
                 hazards=(), **fields):
    """An order of `samples` sample lines (one piece each) submitted through the service."""
    from booking.orders import rules, services

    lines = [rules.SampleLine(f"样品 {n}", 1, "powder", "SiO2", tuple(hazards))
             for n in range(1, samples + 1)]
    values = dict(leftovers="return", desired_date=None, urgent=urgent, notes="",
                  hazards_acknowledged=bool(hazards), terms_signed=True)
    order = services.submit_order(instrument, user, samples=lines, tests=list(tests),
                                  **{**values, **fields})
    db.session.commit()
    return order
