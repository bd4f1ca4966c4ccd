"""The heavy office work on a seeded demo database (city or province): the month close, the
rankings compute and the directory search, each timed and then rolled back (repeatable).

    python bench/calendar_bench.py seed --scale province --db postgresql+psycopg://postgres@127.0.0.1:5432/booking_province
    python bench/scale_work.py --db postgresql+psycopg://postgres@127.0.0.1:5432/booking_province

Month close: the last full month, re-opened inside the transaction (its invoices, payments
and ledger entries deleted, so its usage is uncharged again) and closed by close_month, as
`flask billing close` would on the 1st. Rankings: compute_snapshot of the current year, as
the bureau's "compute" button. Directory: bench/directory_search.py's queries (keyword plus
two filters), service and whole page. Compare city and province per unit of work.
"""
import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import make_app  # noqa: E402 - after the path set-up


def last_month() -> str:
    from booking.core.clock import local_today

    first = local_today().replace(day=1)
    previous = first - timedelta(days=1)
    return f"{previous.year}-{previous.month:02d}"


def reopen(month: str) -> int:
    """Delete the month's invoices (and what hangs on them) inside the open transaction."""
    from sqlalchemy import delete, select

    from booking.billing.models import Invoice
    from booking.extensions import db

    ids = select(Invoice.id).where(Invoice.period == month).scalar_subquery()
    for table in db.metadata.sorted_tables:
        for key in table.foreign_keys:
            if key.column.table is Invoice.__table__ and table is not Invoice.__table__:
                db.session.execute(delete(table).where(key.parent.in_(ids)))
    return db.session.execute(delete(Invoice).where(Invoice.period == month)).rowcount


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    app = make_app(args.db)
    with app.app_context():
        from sqlalchemy import func, select

        from booking.billing.close import close_month, month_facts
        from booking.bookings.models import Booking
        from booking.core.clock import local_today
        from booking.extensions import db
        from booking.instruments.models import Instrument
        from booking.rankings import services as rankings

        instruments = db.session.scalar(select(func.count()).select_from(Instrument))
        bookings = db.session.scalar(select(func.count()).select_from(Booking))
        print(f"{instruments:,} instruments, {bookings:,} bookings, {db.engine.dialect.name}")
        month, year = last_month(), str(local_today().year)
        for _round in range(args.rounds):
            removed = reopen(month)
            facts = month_facts(month)
            started = time.perf_counter()
            result = close_month(month, facts=facts, notify=True)
            db.session.flush()
            close_s = time.perf_counter() - started
            db.session.rollback()
            print(f"month close {month}: {close_s:.2f} s for {len(facts):,} facts, "
                  f"{result.invoices:,} invoices ({removed:,} re-opened); "
                  f"{close_s / max(len(facts), 1) * 1e6:.0f} µs per fact")
            started = time.perf_counter()
            snapshot = rankings.compute_snapshot(year)
            db.session.flush()
            print(f"rankings compute {year}: {time.perf_counter() - started:.2f} s, "
                  f"{len(snapshot.rows)} institutions ranked")
            db.session.rollback()
    from directory_search import build_app, measure

    print("directory search:")
    measure(build_app(args.db, seed=False))


if __name__ == "__main__":
    main()
