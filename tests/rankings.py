"""A ranking is published only for a period in which something happened on the platform."""
from booking.core.db import utc
from tests.factories import Factory


def used_in_the_period(organisation, day=utc(2026, 8, 3, 1)) -> None:
    """A completed booking of an instrument of the organisation on `day` (2026Q3 by default),
    so that its period has data."""
    make = Factory()
    make.placed_booking(make.instrument(organisation=organisation), make.user(), day,
                        state="completed")
