"""The in-app inbox: a copy of every notice a user is sent, read or unread, and each user's
choice of which notices also come by e-mail and which reminders they want.

Domain-free: it knows kinds of notices only as strings and imports no domain area (the areas
may import it: bookings asks it which reminders a user wants). It receives notices through
core's `notices_composed` signal, so no area that sends notices knows it."""


def connect_signals() -> None:
    """Keep each composed notice, and hold back the e-mails its user turned off."""
    from booking.core.notifications import notices_composed
    from booking.inbox.services import keep_notices

    notices_composed.connect(keep_notices)
