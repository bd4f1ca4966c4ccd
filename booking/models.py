"""Imports every area's models so SQLAlchemy's metadata (and Alembic) sees the whole schema."""
from booking import area_modules
from booking.core.audit import AuditEvent  # noqa: F401
from booking.core.notifications import OutboxMessage  # noqa: F401

for _module in area_modules("models"):
    pass
