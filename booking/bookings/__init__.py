"""Availability, booking rules, approvals and iCalendar feeds."""
