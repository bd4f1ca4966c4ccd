"""Province-scale ranking computation (issue 7): a year's indicators, scores and snapshot.

    python bench/rankings_compute.py --db sqlite:////tmp/booking-bench/rankings.sqlite
    python bench/rankings_compute.py --db postgresql+psycopg://postgres@127.0.0.1:5432/booking_bench_e

Builds a fresh schema through the migrations and bulk-inserts 500 universities, 300
enterprises, 20,000 large instruments, 1,000,000 completed bookings of 2026 (a third of them
decided by a manager) with one usage session each, 100,000 ratings and 50,000 invoices, then
times `compute_snapshot("2026")` twice (the second replaces the first). Rows are inserted in
time order, as they accumulate in production (SQLite reads the period through the started_at
index, so the physical order matters there). --scale shrinks everything for a quick check;
--reuse times again without seeding. Targets: under 10 s on SQLite, under 5 s on PostgreSQL.
"""
import argparse
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import fresh_schema, make_app  # noqa: E402 - after the path set-up

PROVIDERS, ENTERPRISES, USERS_PER_ORG = 500, 300, 10
INSTRUMENTS, BOOKINGS, RATINGS, INVOICES = 20_000, 1_000_000, 100_000, 50_000
YEAR_START = datetime(2025, 12, 31, 16, tzinfo=UTC)  # 2026-01-01 00:00 in Shanghai
BATCH = 10_000




def insert_all(model, rows) -> None:
    from sqlalchemy import insert

    from booking.extensions import db

    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            db.session.execute(insert(model), batch)
            batch = []
    if batch:
        db.session.execute(insert(model), batch)


def seed(scale: float) -> None:
    from booking.accounts.models import Organisation, User
    from booking.accounts.rules import make_credit_code
    from booking.extensions import db
    from booking.instruments.models import Instrument

    now = datetime.now(UTC)
    providers, enterprises = max(2, int(PROVIDERS * scale)), max(2, int(ENTERPRISES * scale))
    insert_all(Organisation, (
        {"id": i + 1, "kind": "university" if i < providers else "enterprise",
         "name_zh": f"机构{i + 1}", "credit_code": make_credit_code(f"91210200MA{i + 1:07d}"),
         "short_code": f"P{i + 1}", "verified": True, "sme_certified": i % 3 == 0}
        for i in range(providers + enterprises)))
    insert_all(User, ({"id": n + 1, "email": f"u{n + 1}@bench.cn", "password_hash": "x",
                       "name": f"用户{n + 1}", "organisation_id": n // USERS_PER_ORG + 1,
                       "membership_confirmed": True}
                      for n in range((providers + enterprises) * USERS_PER_ORG)))
    instruments = max(providers, int(INSTRUMENTS * scale))
    insert_all(Instrument, (
        {"id": n + 1, "organisation_id": n % providers + 1, "name_zh": f"仪器{n + 1}",
         "category": "special_testing" if n % 10 == 0 else "analytical",
         "original_value_fen": 60_000_000 + n * 1000, "purchase_date": date(2020, 1, 1),
         "is_public": n % 17 != 0, "info_updated_at": now, "model": "M", "manufacturer": "X"}
        for n in range(instruments)))
    db.session.commit()
    seed_use(providers, enterprises, instruments, int(BOOKINGS * scale))


def seed_use(providers: int, enterprises: int, instruments: int, bookings: int) -> None:
    from booking.bookings.models import Booking, Rating
    from booking.extensions import db
    from booking.metering.models import UsageSession

    rng = random.Random(7)
    per_instrument = bookings // instruments
    step = timedelta(days=360 / per_instrument)
    plan = []
    for n in range(instruments):
        owner = n % providers + 1
        for k in range(per_instrument):
            org = rng.choice((owner, owner, owner % providers + 1,
                              providers + rng.randrange(enterprises) + 1))
            user = (org - 1) * USERS_PER_ORG + rng.randrange(USERS_PER_ORG) + 1
            start = YEAR_START + k * step + timedelta(minutes=rng.randrange(0, 600))
            plan.append((n + 1, user, org, start, start + timedelta(minutes=rng.randrange(30, 300))))
    plan.sort(key=lambda row: row[3])  # rows accumulate in time order, as in production
    insert_all(Booking, ({"id": i + 1, "instrument_id": inst, "user_id": user,
                          "organisation_id": org, "start_at": start, "end_at": end,
                          "state": "completed", "created_at": start - timedelta(days=3),
                          "decided_at": start - timedelta(days=3, hours=-rng.randrange(1, 96)),
                          "decided_by_id": 1 if i % 3 == 0 else None, "updated_at": end}
                         for i, (inst, user, org, start, end) in enumerate(plan)))
    insert_all(UsageSession, ({"instrument_id": inst, "booking_id": i + 1, "user_id": user,
                               "customer_org_id": org, "started_at": start, "ended_at": end,
                               "source": "kiosk"}
                              for i, (inst, user, org, start, end) in enumerate(plan)))
    every = max(1, len(plan) // RATINGS)
    insert_all(Rating, ({"booking_id": i + 1, "instrument_id": inst, "user_id": user,
                         "stars": rng.randrange(2, 6), "created_at": end}
                        for i, (inst, user, _org, _start, end) in enumerate(plan)
                        if i % every == 0))
    seed_invoices(plan, providers, rng)
    db.session.commit()


def seed_invoices(plan, providers: int, rng) -> None:
    from booking.billing.models import Invoice, InvoiceLine

    every = max(1, len(plan) // INVOICES)
    chosen = [row for i, row in enumerate(plan) if i % every == 0]
    insert_all(Invoice, ({"id": i + 1, "provider_id": (inst - 1) % providers + 1,
                          "customer_org_id": org, "number": f"B{i + 1}", "state": "paid",
                          "customer_class": "internal" if org == (inst - 1) % providers + 1
                          else "enterprise", "subtotal_fen": 100_000,
                          "voucher_fen": 30_000 if org > providers else 0,
                          "amount_due_fen": 70_000 if org > providers else 100_000,
                          "issued_at": end}
                         for i, (inst, _user, org, _start, end) in enumerate(chosen)))
    insert_all(InvoiceLine, ({"invoice_id": i + 1, "description": "use", "amount_fen": 100_000,
                              "instrument_id": inst, "kind": "usage"}
                             for i, (inst, _user, _org, _start, _end) in enumerate(chosen)))


def run(url: str, scale: float, reuse: bool) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from booking.extensions import db
    from booking.rankings import services

    if not reuse:
        fresh_schema(url)
    app = make_app(url)
    with app.app_context():
        if not reuse:
            upgrade()
            started = time.perf_counter()
            seed(scale)
            if db.engine.dialect.name == "postgresql":
                db.session.execute(text("ANALYZE"))  # autovacuum's job in production
                db.session.commit()
            print(f"seeded in {time.perf_counter() - started:.1f} s")
        for attempt in ("first", "second"):
            started = time.perf_counter()
            snapshot = services.compute_snapshot("2026")
            db.session.commit()
            elapsed = time.perf_counter() - started
            print(f"{attempt} compute of 2026: {elapsed:.2f} s, {len(snapshot.rows)} institutions, "
                  f"top {snapshot.rows[0]['org_name']} {snapshot.rows[0]['score']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--reuse", action="store_true",
                        help="time the computation on the data of an earlier run")
    args = parser.parse_args()
    run(args.db, args.scale, args.reuse)
