"""What the bookings area tells others without knowing them."""
from blinker import Namespace

_signals = Namespace()

# A booking stopped holding its time (cancelled, rejected, expired, moved away):
# sender = the instrument id, with start and end (aware UTC) of the time that freed.
slot_freed = _signals.signal("slot-freed")
