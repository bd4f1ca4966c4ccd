"""Availability, booking rules, approvals and iCalendar feeds.

rules.py (pure checks and the state table) · models.py (Booking and its can_* predicates) ·
calendar.py (what a calendar shows, the facts the rules check) · requests.py (create, decide,
cancel, expire; the lists) · qualifications.py (qualifications and training) · feeds.py and
ical.py (iCalendar feeds) · ratings.py · notifications.py (notify_*) · labels.py and
schemas.py (what pages and the API show and accept) · routes.py · forms.py · calendar_cache.py.
waitlist.py (wait lists and their offers, fed by signals.slot_freed).
recurrence.py (pure: a series' RFC 5545 rule expanded and each occurrence checked) ·
series.py (recurring series: preview, create, decide, cancel) · series_routes.py (their pages).
"""


def connect_signals() -> None:
    from booking.bookings import waitlist
    from booking.bookings.signals import slot_freed

    slot_freed.connect(waitlist.on_slot_freed)
