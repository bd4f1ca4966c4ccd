"""Recurring booking series (issue 18): how long a 52-occurrence series takes to create, and
20 weekly series on an instrument for the calendar benchmark.

    python bench/series_bench.py create --db postgresql+psycopg://postgres@127.0.0.1:5432/series_bench
    python bench/series_bench.py seed --db sqlite:////tmp/bench-series/city.sqlite
    python bench/calendar_bench.py run --db sqlite:////tmp/bench-series/city.sqlite \
        --only calendar --instrument <the id seed prints>

create: a fresh schema through the migrations, one always-open auto-approved instrument and a
user with an API token; then POST /api/v1/bookings with repeat {freq: weekly, count: 52},
--runs times (each at another hour of the day, so every occurrence is free), in process (the
Flask test client: no network, no HTTP server, everything else as served), and prints the
milliseconds per request (min, median, max) and the SQL statements of one request. Target:
under 300 ms on PostgreSQL.
seed: on a database the calendar benchmark seeded (calendar_bench.py seed), 20 weekly series
of a year on its first bench instrument (20 different weekly slots), for the calendar of an
instrument with 20 weekly series.
"""
import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import fresh_schema, make_app  # noqa: E402 - after the path set-up

OCCURRENCES = 52
SERIES = 20


def _next_monday(now: datetime) -> datetime:
    """00:00 UTC of the Monday after next week's (a free, on-grid week to start in)."""
    day = (now + timedelta(days=14 - now.weekday())).date()
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def create(url: str, runs: int) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import event

    from booking.accounts.services import create_api_token
    from booking.extensions import db
    from booking.instruments.models import Instrument, OpeningHours, Rate
    from tests.factories import create_organisation, create_user

    fresh_schema(url)
    app = make_app(url)
    with app.app_context():
        upgrade()
        organisation = create_organisation()
        user = create_user(organisation=organisation)
        instrument = Instrument(organisation=organisation, name_zh="压测仪器", name_en="Bench",
                                category="analytical", lab="测试中心", lead_minutes=0,
                                max_days_ahead=3650, requires_approval=False,
                                rates=[Rate(customer_class="internal", hourly_fen=10_000,
                                            valid_from=datetime(2020, 1, 1, tzinfo=UTC))],
                                opening_hours=[OpeningHours(weekday=d, opens=dtime(0),
                                                            closes=dtime(23, 59))
                                               for d in range(7)])
        db.session.add(instrument)
        _, token = create_api_token(user, "bench")
        db.session.commit()
        instrument_id = instrument.id
        db.session.remove()

        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        monday = _next_monday(datetime.now(UTC))
        statements: list[int] = []
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(1))

        def post(hour: int) -> float:
            start = monday + timedelta(hours=hour)
            body = {"instrument_id": instrument_id, "start": start.isoformat(),
                    "end": (start + timedelta(hours=1)).isoformat(), "purpose": "bench",
                    "repeat": {"freq": "weekly", "count": OCCURRENCES}}
            began = time.perf_counter()
            answer = client.post("/api/v1/bookings", json=body, headers=headers)
            took = (time.perf_counter() - began) * 1000
            created = answer.get_json()["series"]["created"]
            assert answer.status_code == 201 and len(created) == OCCURRENCES, answer.get_json()
            return took

        post(0)  # warm-up: compiled statements, the token's first check
        statements.clear()
        times = [post(hour) for hour in range(1, runs + 1)]
        print(f"{db.engine.dialect.name}: POST /api/v1/bookings with a weekly series of "
              f"{OCCURRENCES} occurrences, {runs} runs (in process)")
        print(f"ms per request: min {min(times):.0f}, median {statistics.median(times):.0f}, "
              f"max {max(times):.0f}; SQL statements per request: {len(statements) // runs}")


def seed(url: str, instrument_id: int | None) -> None:
    """20 weekly series of a year on the calendar bench's first spare instrument."""
    from sqlalchemy import select

    from booking.accounts.services import get_user_by_email
    from booking.bookings import series
    from booking.bookings.recurrence import Repeat
    from booking.core.clock import from_local, to_local
    from booking.extensions import db
    from booking.instruments.models import Instrument

    if instrument_id is None:
        from calendar_bench import state_file

        instrument_id = json.loads(state_file(url).read_text())["spare"][0]
    app = make_app(url)
    with app.app_context():
        instrument = db.session.scalar(select(Instrument).where(Instrument.id == instrument_id))
        user = get_user_by_email("sme@demo.cn")
        today = to_local(datetime.now(UTC), instrument.timezone).date()
        week_start = today - timedelta(days=today.weekday())  # this week's Monday
        made = 0
        for n in range(SERIES):  # Mon-Sun at 08:00, 11:00 and 14:00: 21 weekly slots
            day = week_start + timedelta(days=n % 7)
            start = from_local(datetime.combine(day, dtime(8 + 3 * (n // 7))),
                               instrument.timezone)
            result = series.create_series(
                instrument, user, start=start, end=start + timedelta(hours=2),
                mode="self_operated", purpose="weekly group slot", samples=0,
                repeat=Repeat("weekly", count=OCCURRENCES))
            made += len(result.created)
            db.session.commit()
    print(f"{SERIES} weekly series, {made} bookings, on instrument {instrument_id}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["create", "seed"])
    parser.add_argument("--db", required=True)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--instrument", type=int, help="seed: the instrument (default: the "
                        "calendar bench's first spare instrument)")
    args = parser.parse_args()
    if args.command == "create":
        create(args.db, args.runs)
    else:
        seed(args.db, args.instrument)


if __name__ == "__main__":
    main()
