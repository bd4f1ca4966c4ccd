"""iCalendar (RFC 5545) feeds built with the icalendar library.

UIDs are stable per booking, times are UTC, SEQUENCE follows the booking's changes and a booking
that no longer happens is STATUS:CANCELLED, so calendar clients update rather than duplicate.
"""
from collections.abc import Callable, Iterable

from icalendar import Calendar, Event

from booking.bookings.models import Booking

PRODID = "-//Instrument Sharing Platform//Bookings//ZH"
UID_DOMAIN = "bookings.instrument-sharing"
STATUS = {"pending": "TENTATIVE", "approved": "CONFIRMED", "in_use": "CONFIRMED",
          "completed": "CONFIRMED"}


def booking_uid(booking: Booking) -> str:
    return f"booking-{booking.id}@{UID_DOMAIN}"


def _event(booking: Booking, summary: str) -> Event:
    event = Event()
    event.add("uid", booking_uid(booking))
    event.add("dtstamp", booking.updated_at)
    event.add("dtstart", booking.start_at)
    event.add("dtend", booking.end_at)
    event.add("summary", summary)
    event.add("status", STATUS.get(booking.state, "CANCELLED"))
    event.add("sequence", booking.sequence)
    return event


def _calendar(name: str, events: Iterable[Event]) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    for event in events:
        calendar.add_component(event)
    return calendar.to_ical()


def private_feed(name: str, bookings: Iterable[Booking], summary: Callable[[Booking], str],
                 locale: str) -> bytes:
    """The booker's own calendar: what, where (in `locale`), why."""
    events = []
    for booking in bookings:
        event = _event(booking, summary(booking))
        event.add("location", booking.instrument.display_location(locale))
        event.add("description", booking.purpose)
        events.append(event)
    return _calendar(name, events)


def public_feed(name: str, bookings: Iterable[Booking], busy_label: str) -> bytes:
    """An instrument's busy time: no names, no purposes."""
    return _calendar(name, (_event(b, busy_label) for b in bookings))
