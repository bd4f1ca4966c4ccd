"""City-scale priced usage export (issue 5) against NEMO's figures in ../shared/peer-bench.

    python bench/billing_usage_export.py --db sqlite:////tmp/booking-bench/usage-export.sqlite
    python bench/billing_usage_export.py --db postgresql+psycopg://postgres@127.0.0.1:5432/booking_usage_c

Seeds like bench/calendar_bench.py (200 instruments, 500 users, about 50,000 bookings over a
year, booking.bookings.demo at scale "city"), then booking.metering.demo (a session for every
completed booking). Times the finance office's "priced usage" CSV of the year for every
provider through the real endpoint (/finance/<org>/usage.csv: login, permission, query, pricing
by booking.billing.rules, CSV), summed over providers, and the same as XLSX.
Targets: at least 5x faster than NEMO's billing API for the year (~5.1 s) and 50x faster than
NEMO's usage CSV (~100 s), i.e. under ~1.0 s and ~2.0 s.
"""
import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import calendar_bench  # noqa: E402 - the shared city seed

PASSWORD = "demo-pass-2026"


def seed(url: str) -> list[int]:
    from booking.accounts.demo import seed_accounts
    from booking.accounts.services import create_user
    from booking.bookings import demo as bookings_demo
    from booking.extensions import db
    from booking.metering import demo as metering_demo

    calendar_bench.fresh_schema(url)
    app = calendar_bench.make_app(url)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        orgs = seed_accounts()
        providers = [orgs["dlut"], orgs["ustl"], orgs["dicp"]]
        calendar_bench.seed_instruments(providers, 200)
        calendar_bench.seed_users([o for key, o in orgs.items() if key != "bureau"], 500 - 9)
        bookings_demo.seed("city")
        metering_demo.seed("city")
        auditor = create_user(email="finance.bench@demo.cn", password=PASSWORD, name="财务",
                              organisation=providers[0], roles=("finance",))
        from booking.accounts.models import Role

        auditor.roles += [Role(organisation=o, name="finance") for o in providers[1:]]
        db.session.commit()
        return [o.id for o in providers]


def measure(url: str, provider_ids: list[int]) -> None:
    from sqlalchemy import func, select

    from booking.extensions import db
    from booking.metering.models import UsageSession

    app = calendar_bench.make_app(url)
    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        print(f"sessions: {db.session.scalar(select(func.count(UsageSession.id)))}")
    client = app.test_client()
    client.post("/login", data={"email": "finance.bench@demo.cn", "password": PASSWORD})
    for fmt in ("csv", "xlsx"):
        started, lines, size = time.perf_counter(), 0, 0
        for provider_id in provider_ids:
            response = client.get(f"/finance/{provider_id}/usage.{fmt}?year=2026")
            assert response.status_code == 200, response.status_code
            size += len(response.data)
            lines += response.data.count(b"\n") - 1 if fmt == "csv" else 0
        seconds = time.perf_counter() - started
        print(f"priced usage {fmt.upper()} 2026, all providers: {seconds:.2f} s, "
              f"{lines or '-'} lines, {size / 1e6:.1f} MB; vs NEMO billing API 5.1 s: "
              f"{5.1 / seconds:.0f}x, vs NEMO usage CSV 100 s: {100 / seconds:.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    providers = seed(args.db)
    print(f"seed: {time.perf_counter() - started:.1f} s")
    measure(args.db, providers)


if __name__ == "__main__":
    main()
