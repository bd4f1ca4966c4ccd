"""Availability, booking rules, approvals and iCalendar feeds.

rules.py (pure checks and the state table) · models.py (Booking and its can_* predicates) ·
calendar.py (what a calendar shows, the facts the rules check) · requests.py (create, decide,
cancel, expire; the lists) · qualifications.py (qualifications and training) · feeds.py and
ical.py (iCalendar feeds) · ratings.py · notifications.py (notify_*) · labels.py and
schemas.py (what pages and the API show and accept) · routes.py · forms.py · calendar_cache.py.
"""
