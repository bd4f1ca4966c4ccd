"""core.db.UTCDateTime on SQLite: what the column hands back is aware UTC, however the text
was written."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.dialects import sqlite

from booking.core.db import UTCDateTime

READ = UTCDateTime().result_processor(sqlite.dialect(), None)


@pytest.mark.parametrize(("stored", "moment"), [
    ("2026-12-01 10:00:00.000000", datetime(2026, 12, 1, 10, tzinfo=UTC)),  # as the type writes
    ("2026-12-01 10:00:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),
    ("2026-12-01 18:00:00+08:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),  # another writer's
    ("2026-12-01", datetime(2026, 12, 1, tzinfo=UTC)),
])
def test_stored_text_reads_as_aware_utc(stored, moment):
    read = READ(stored)
    assert read == moment and read.utcoffset() == timedelta(0)


def test_null_reads_as_none_and_the_zone_is_utc_itself():
    assert READ(None) is None
    assert READ("2026-12-01 10:00:00.000000").tzinfo is UTC
