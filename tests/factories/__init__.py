"""Test factories per area, in the style of Indico's testing fixtures: `create_*` make rows
with sensible defaults and add them to the session; `dummy_*` return ready-made typical
objects (a lab with its manager, an SME member, bureau staff).

Tests mostly reach them through the `make` fixture, a `Factory` whose methods are these
functions without the `create_` prefix: `make.user(role="lab_manager")` is
`create_user(role="lab_manager")`.
"""
from tests.factories.accounts import (
    PASSWORD,
    create_organisation,
    create_user,
    dummy_admin,
    dummy_bureau_staff,
)
from tests.factories.billing import create_issued_invoice
from tests.factories.bookings import create_booking, create_placed_booking, create_rating
from tests.factories.instruments import DEFAULT_RATES, Lab, create_instrument, dummy_lab
from tests.factories.metering import create_usage_session
from tests.factories.orders import create_order, dummy_testing_lab
from tests.factories.subsidies import (
    create_enterprise,
    create_voucher,
    dummy_sme_member,
)


class Factory:
    """The `make` fixture: `make.<thing>(...)` is `create_<thing>(...)`."""

    PASSWORD = PASSWORD
    organisation = staticmethod(create_organisation)
    user = staticmethod(create_user)
    instrument = staticmethod(create_instrument)
    booking = staticmethod(create_booking)
    placed_booking = staticmethod(create_placed_booking)
    rating = staticmethod(create_rating)
    usage_session = staticmethod(create_usage_session)
    issued_invoice = staticmethod(create_issued_invoice)
    enterprise = staticmethod(create_enterprise)
    voucher = staticmethod(create_voucher)
    order = staticmethod(create_order)
    testing_lab = staticmethod(dummy_testing_lab)


__all__ = [
    "DEFAULT_RATES", "PASSWORD", "Factory", "Lab", "create_booking", "create_enterprise",
    "create_instrument", "create_issued_invoice", "create_organisation", "create_placed_booking",
    "create_rating", "create_usage_session", "create_user", "create_voucher", "dummy_admin",
    "dummy_bureau_staff", "dummy_lab", "dummy_sme_member",
]
