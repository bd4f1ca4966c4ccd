"""City-scale priced usage export (issue 5), side by side with NEMO (../shared/peer-bench).

    python bench/calendar_bench.py seed --db sqlite:////tmp/booking-bench/city.sqlite  # once
    python bench/billing_usage_export.py --db sqlite:////tmp/booking-bench/city.sqlite
    (PostgreSQL: the same --db as calendar_bench.py's seed)

Uses the database `calendar_bench.py seed` built with `flask demo seed --scale city` (200
instruments, 500 users, ~51,000 bookings and 50,000 usage sessions over the past year, the
peer's volume). Times the finance office's "priced usage" export of the year through the real
endpoint (/finance/<org>/usage.csv: login, permission check, set-based query, pricing by
booking.billing.rules, CSV), summed over every provider, then the same as XLSX. Compare with
NEMO's billing API for the year (~5.1 s) and its usage CSV (~100 s), measured in the same run
by `bash ../shared/peer-bench/run_bench.sh nemo`: targets at least 5x and 50x faster.
"""
import argparse
import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import calendar_bench  # noqa: E402 - the shared city seed

PASSWORD = "demo-pass-2026"  # noqa: S105 - the demo password
AUDITOR = "finance.bench@demo.cn"
BUREAU = "bureau@demo.cn"


def finance_auditor() -> list[int]:
    """A finance officer of every provider (created once); returns the provider ids."""
    from sqlalchemy import select

    from booking.accounts.models import Organisation, Role
    from booking.accounts.services import create_user, get_user_by_email
    from booking.extensions import db
    from booking.instruments.models import Instrument

    providers = list(db.session.scalars(select(Organisation.id).where(
        Organisation.id.in_(select(Instrument.organisation_id))).order_by(Organisation.id)))
    if get_user_by_email(AUDITOR) is None:
        first = db.session.get(Organisation, providers[0])
        auditor = create_user(email=AUDITOR, password=PASSWORD, name="财务", organisation=first,
                              roles=("finance",))
        auditor.roles += [Role(organisation_id=p, name="finance") for p in providers[1:]]
        db.session.commit()
    return providers


def measure(url: str) -> None:
    from sqlalchemy import func, select

    from booking.core.clock import now_utc
    from booking.extensions import db
    from booking.metering.models import UsageSession

    app = calendar_bench.make_app(url)
    app.config["WTF_CSRF_ENABLED"] = False
    gc.freeze()  # as wsgi.py does once the app is built
    with app.app_context():
        providers = finance_auditor()
        year = now_utc().year
        print(f"usage sessions in the database: "
              f"{db.session.scalar(select(func.count(UsageSession.id)))}; providers: "
              f"{len(providers)}; year {year}")
    client = app.test_client()
    client.post("/login", data={"email": AUDITOR, "password": PASSWORD})
    for report in ("usage", "revenue"):
        for fmt in ("csv", "xlsx"):
            timed(client, f"{report} {fmt.upper()} {year}, all providers", [
                f"/finance/{provider_id}/{report}.{fmt}?year={year}" for provider_id in providers])
    client.post("/logout")
    client.post("/login", data={"email": BUREAU, "password": PASSWORD})
    for fmt in ("csv", "xlsx"):
        timed(client, f"directory {fmt.upper()}, every listed instrument",
              [f"/instruments/export.{fmt}"])
    for fmt in ("csv", "xlsx"):  # the yearly NRII report of every instrument, last year's
        timed(client, f"NRII report {fmt.upper()} {year - 1}, every instrument",
              [f"/reports/nrii.{fmt}?year={year - 1}"])


def timed(client, what: str, paths: list[str]) -> None:
    """GET the paths one after the other: time, lines (CSV) and size, and the peak of memory
    Python allocated meanwhile (tracemalloc; it slows the run, so timing comes first)."""
    import tracemalloc

    started, lines, size = time.perf_counter(), 0, 0
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        size += len(response.data)
        lines += response.data.count(b"\n") - 1 if ".csv" in path else 0
    seconds = time.perf_counter() - started
    tracemalloc.start()
    for path in paths:
        client.get(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"{what}: {seconds:.2f} s, {lines or '-'} lines, {size / 1e6:.1f} MB, "
          f"peak Python memory {peak / 1e6:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=f"sqlite:///{calendar_bench.WORK}/city.sqlite")
    measure(parser.parse_args().db)


if __name__ == "__main__":
    main()
