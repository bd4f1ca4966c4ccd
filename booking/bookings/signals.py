"""What the bookings area tells others without knowing them."""
from blinker import Namespace

_signals = Namespace()

# A booking stopped holding its time (cancelled, rejected, expired, moved away):
# sender = the instrument id, with start and end (aware UTC) of the time that freed.
slot_freed = _signals.signal("slot-freed")

# A booking is about to be requested: sender = the instrument, with user. Receivers return a
# list of Problems that refuse it (billing: invoices overdue beyond the provider's limit), so
# that the bookings area asks other areas without importing them.
booking_checking = _signals.signal("booking-checking")
