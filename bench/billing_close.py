"""Province-scale month close (issue 5): 100,000 usage sessions across 500 providers.

    python bench/billing_close.py --db sqlite:////tmp/booking-bench/billing.sqlite
    python bench/billing_close.py --db postgresql+psycopg://postgres@127.0.0.1:5432/booking_bench_c

Builds a fresh schema through the migrations, bulk-inserts 500 universities (2,000 instruments
with rate cards), 300 enterprises (100 of them holding an innovation voucher), 8,000 users and
the sessions of March 2026, then times
`close_month("2026-03")` twice (the second run must create nothing) and the year's priced usage
CSV export of the busiest provider. Targets: first close < 30 s, second < 5 s.
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

PROVIDERS, ENTERPRISES, INSTRUMENTS_PER_PROVIDER, USERS_PER_ORG = 500, 300, 4, 10
SESSIONS = 100_000
MONTH_START = datetime(2026, 2, 28, 16, tzinfo=UTC)  # 2026-03-01 00:00 in Shanghai




def _insert(model, rows):
    from sqlalchemy import insert

    from booking.extensions import db

    for start in range(0, len(rows), 5000):
        db.session.execute(insert(model), rows[start:start + 5000])


def seed() -> None:
    from booking.accounts.models import Organisation, User
    from booking.accounts.rules import make_credit_code
    from booking.extensions import db
    from booking.instruments.models import Instrument, Rate
    from booking.metering.models import UsageSession

    rng = random.Random(5)
    now = datetime.now(UTC)
    orgs = [{"id": i + 1, "kind": "university" if i < PROVIDERS else "enterprise",
             "name_zh": f"机构{i + 1}", "name_en": f"Org {i + 1}", "short_code": f"P{i + 1}",
             "city": "大连", "region_code": "2102", "verified": True,
             "sme_certified": i >= PROVIDERS, "high_tech": False, "bad_credit": False,
             "created_at": now, "credit_code": make_credit_code(f"91210200MA{i + 1:07d}"),
             **({"founded_on": date(2019, 5, 16), "staff_count": 46,
                 "annual_revenue_fen": 1_850_000_000, "total_assets_fen": 2_400_000_000,
                 "registered_capital_fen": 1_000_000_000} if i >= PROVIDERS else {})}
            for i in range(PROVIDERS + ENTERPRISES)]
    _insert(Organisation, orgs)
    users = [{"id": n + 1, "email": f"u{n + 1}@bench.cn", "password_hash": "x",
              "name": f"用户{n + 1}", "phone": "", "locale": "zh_CN",
              "timezone": "Asia/Shanghai", "organisation_id": n // USERS_PER_ORG + 1,
              "membership_confirmed": True, "active": True, "created_at": now}
             for n in range(len(orgs) * USERS_PER_ORG)]
    _insert(User, users)
    instruments = [{"id": n + 1, "organisation_id": n // INSTRUMENTS_PER_PROVIDER + 1,
                    "name_zh": f"仪器{n + 1}", "category": "analytical", "created_at": now}
                   for n in range(PROVIDERS * INSTRUMENTS_PER_PROVIDER)]
    _insert(Instrument, [{**defaults(), **row} for row in instruments])
    _insert(Rate, [{"instrument_id": i["id"], "customer_class": klass, "hourly_fen": fen,
                    "rounding_minutes": 15, "minimum_minutes": 30, "setup_fee_fen": 0,
                    "valid_from": datetime(2020, 1, 1, tzinfo=UTC), "created_at": now}
                   for i in instruments for klass, fen in (("internal", 10_000),
                                                           ("academic", 20_000),
                                                           ("enterprise", 40_000))])
    per_instrument = SESSIONS // len(instruments)
    sessions = []
    for instrument in instruments:
        provider = instrument["organisation_id"]
        # users of the owner, of a partner university, and of two enterprises
        pool = [provider, (provider % PROVIDERS) + 1, PROVIDERS + provider % ENTERPRISES + 1,
                PROVIDERS + (provider * 7) % ENTERPRISES + 1]
        for k in range(per_instrument):
            start = MONTH_START + timedelta(hours=13 * k, minutes=rng.randrange(0, 60))
            org = rng.choice(pool)
            user = (org - 1) * USERS_PER_ORG + rng.randrange(USERS_PER_ORG) + 1
            sessions.append({"instrument_id": instrument["id"], "user_id": user,
                             "customer_org_id": org, "started_at": start,
                             "ended_at": start + timedelta(minutes=rng.randrange(20, 300)),
                             "source": "kiosk", "recorded_by_id": user, "void": False,
                             "overrun": False, "note": "", "created_at": now})
    _insert(UsageSession, sessions)
    seed_vouchers(now)
    db.session.commit()


def seed_vouchers(now: datetime) -> None:
    """One enterprise in three holds an issued voucher of 50,000 元 (policy of this year)."""
    from decimal import Decimal

    from booking.subsidies.models import Voucher
    from booking.subsidies.services import current_policy, year_end_utc

    policy = current_policy(now.year)
    _insert(Voucher, [{"enterprise_id": org, "applicant_id": (org - 1) * USERS_PER_ORG + 1,
                       "policy_id": policy.id, "year": now.year, "state": "issued",
                       "enterprise_class": "sme_science_based", "rate": Decimal("0.4"),
                       "project": "bench", "declaration": {}, "requested_fen": 5_000_000,
                       "face_value_fen": 5_000_000, "used_fen": 0, "quarter": 1,
                       "valid_until": year_end_utc(now.year), "decided_at": now,
                       "decision_reason": "", "created_at": now}
                      for org in range(PROVIDERS + 1, PROVIDERS + ENTERPRISES + 1, 3)])


def defaults() -> dict:
    from decimal import Decimal

    return {"lab": "", "name_en": "", "model": "", "manufacturer": "", "original_value_fen": 0,
            "location": "", "contact_name": "", "contact_phone": "", "contact_email": "",
            "description": "", "capabilities": "", "allows_self_operated": True,
            "allows_staff_operated": True, "status": "active", "is_public": True,
            "timezone": "Asia/Shanghai", "info_updated_at": datetime.now(UTC),
            "slot_minutes": 30, "min_minutes": 30, "max_minutes": 480, "lead_minutes": 60,
            "max_days_ahead": 60, "cancel_deadline_hours": 24, "requires_approval": False,
            "approval_timeout_hours": 48, "no_show_fraction": Decimal("0.5"),
            "late_cancel_fraction": Decimal("0.5"), "requires_qualification": False,
            "per_sample_fee_fen": 0}


def timed(label: str, func):
    started = time.perf_counter()
    result = func()
    print(f"{label}: {time.perf_counter() - started:.2f} s  {result}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    fresh_schema(args.db)
    app = make_app(args.db)
    with app.app_context():
        from flask_migrate import upgrade
        from sqlalchemy import func, select

        from booking.billing import close as billing_close
        from booking.billing import invoicing, reports
        from booking.billing.models import Invoice
        from booking.core.tables import csv_bytes
        from booking.extensions import db

        upgrade()
        timed("seed", seed)
        spent = {"vouchers": 0.0}
        ask = invoicing._ask_for_vouchers

        def timed_ask(ids):  # how much of the close the subsidies area's receivers take
            started = time.perf_counter()
            ask(ids)
            spent["vouchers"] += time.perf_counter() - started

        invoicing._ask_for_vouchers = timed_ask

        def close():
            result = billing_close.close_month("2026-03")
            db.session.commit()
            return result

        timed("close 2026-03 (first run)", close)
        deducted = db.session.scalar(select(func.count()).where(Invoice.voucher_fen > 0))
        print(f"  of which invoice_issuing receivers (voucher shares): {spent['vouchers']:.2f} s;"
              f" invoices with a voucher deduction: {deducted}")
        timed("close 2026-03 (second run, idempotent)", close)
        timed("priced usage CSV, provider 1, 2026", lambda: len(csv_bytes(
            reports.PRICED_USAGE_COLUMNS, reports.priced_usage(1, 2026))))


if __name__ == "__main__":
    main()
