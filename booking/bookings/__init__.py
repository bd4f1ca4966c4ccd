"""Availability, booking rules, approvals and iCalendar feeds.

rules.py (pure checks and the state table) · models.py (Booking and its can_* predicates) ·
calendar.py (what a calendar shows, the facts the rules check) · requests.py (create, decide,
cancel, expire; the lists) · qualifications.py (qualifications and training) · feeds.py and
ical.py (iCalendar feeds) · ratings.py · notifications.py (notify_*) · labels.py and
schemas.py (what pages and the API show and accept) · routes.py · forms.py · calendar_cache.py.
detail.py (one booking's page: history and charges) · mine_routes.py (My bookings, a
booking's page, cancelling) · changes_routes.py (moving, booking for someone, wait lists).
waitlist.py (wait lists and their offers, fed by signals.slot_freed).
recurrence.py (pure: a series' RFC 5545 rule expanded and each occurrence checked) ·
series.py (recurring series: preview, create, decide, cancel) · series_routes.py (their pages).
"""


def connect_signals() -> None:
    from booking.accounts.signals import user_deactivated
    from booking.bookings import departures, waitlist
    from booking.bookings.signals import slot_freed

    slot_freed.connect(waitlist.on_slot_freed)
    # the PI of a charged project's group decided a request (booking.groups, 导师审批)
    from booking.bookings.requests import follow_pi_decision
    from booking.groups.services import pi_decided

    pi_decided.connect(follow_pi_decision)
    user_deactivated.connect(departures.on_user_deactivated)
    from booking.accounts.signals import organisation_deactivated

    organisation_deactivated.connect(departures.on_organisation_deactivated)
    # an instrument is retired only once no booking is still to come on it
    from booking.bookings.blackouts import held_by
    from booking.instruments.services import bookings_held

    bookings_held.connect(held_by)
