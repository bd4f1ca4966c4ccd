"""What the bookings' web tests share."""
import pytest


@pytest.fixture
def lab(make):
    """An organisation's instrument that needs approval, and its lab manager."""
    owner = make.organisation()
    manager = make.user(role="lab_manager", organisation=owner)
    instrument = make.instrument(organisation=owner, requires_approval=True)
    return instrument, manager
