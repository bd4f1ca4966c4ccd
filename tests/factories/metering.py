"""Usage sessions: the facts billing prices."""
from datetime import timedelta

from booking.extensions import db


def create_usage_session(instrument, user, start, minutes=60, booking=None, source="manager"):
    from booking.metering.models import UsageSession, customer_of

    session = UsageSession(instrument_id=instrument.id, user_id=user.id, booking=booking,
                           customer_org_id=customer_of(booking, user),
                           started_at=start, ended_at=start + timedelta(minutes=minutes),
                           source=source, recorded_by_id=user.id)
    db.session.add(session)
    db.session.commit()
    return session
