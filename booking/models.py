"""Imports every area's models so SQLAlchemy's metadata (and Alembic) sees the whole schema."""
from booking.accounts.models import ApiToken, Organisation, Role, User  # noqa: F401
from booking.core.audit import AuditEvent  # noqa: F401
from booking.core.notifications import OutboxMessage  # noqa: F401
