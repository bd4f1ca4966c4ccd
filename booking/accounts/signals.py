"""What the accounts area tells others without knowing them (accounts sits below every area)."""
from blinker import Namespace

_signals = Namespace()

# A user was deactivated: sender = the user, with actor and reason. Receivers undo what the
# user had planned (bookings cancels their future bookings) and return how many they cancelled.
user_deactivated = _signals.signal("user-deactivated")

# An organisation was deactivated: sender = the organisation, with actor and reason. Receivers
# withdraw what it offered (instruments leaves the directory; bookings cancels the bookings on
# its instruments and returns how many: others return None).
organisation_deactivated = _signals.signal("organisation-deactivated")

# An organisation's names, short code or city changed: sender = the organisation. Receivers
# refresh what they keep of them (instruments: its instruments' search entries).
organisation_renamed = _signals.signal("organisation-renamed")

# Whether someone else keeps a user's e-mail address: sender = the user. A receiver that does
# returns its name (campus sign-on: the institution, whose sign-in brings the address each
# time); the user then changes it there, not here.
address_kept_by = _signals.signal("address-kept-by")
# Asked as a user logs out: where the browser goes next, when not home (campus sign-on: its
# server's logout, so that the next person at a shared PC is asked for a password again).
leaving_to = _signals.signal("leaving-to")
