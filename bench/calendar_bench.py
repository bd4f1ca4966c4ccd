"""City-scale benchmark of the booking calendar and the booking API (issue 4).

Run the same way as ../shared/peer-bench (gunicorn, 2 workers, 127.0.0.1; wrk -t2 -c8 --latency)
and compare ratios with NEMO's figures in its README and with the bare-Flask ceiling, which this
script measures in the same run:

    python bench/calendar_bench.py seed --db sqlite:////tmp/booking-bench/city.sqlite
    python bench/calendar_bench.py run  --db sqlite:////tmp/booking-bench/city.sqlite
    (PostgreSQL: --db postgresql+psycopg://postgres@127.0.0.1:5432/booking_bench)

seed: a fresh schema, `flask db upgrade` and `flask demo seed --scale city` (200 instruments,
500 users, ~51,000 bookings and 50,000 usage sessions over a year, the peer's volume; --scale
province: 20,200 instruments and ~1,000,000 bookings), plus four empty always-open instruments
for the creation test.
run: (1) calendar JSON of the busiest instrument for the current month (kept, not kept, and
revalidated: If-None-Match with the current ETag, answered 304), (2) POST
/api/v1/bookings with distinct slots, then a check that nothing overlaps, (3) the Flask ceiling
(one SQLite SELECT by primary key, connection kept), and SQL queries per calendar request.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import fresh_schema, make_app  # noqa: E402 - after the path set-up

PEER = ROOT.parent / "shared" / "peer-bench"
WORK = Path("/tmp/booking-bench")
PORT, CEILING_PORT = 8011, 8012
BIN = Path(sys.executable).parent



def state_file(url: str) -> Path:
    return WORK / f"state-{re.sub(r'[^A-Za-z0-9]+', '_', url)[-80:]}.json"


# --- seed ----------------------------------------------------------------------------------------

def seed_instruments(organisation, count: int) -> list:
    """Always-open instruments with no bookings, auto-approved, for the creation test."""
    from booking.core.db import utc
    from booking.extensions import db
    from booking.instruments.models import Instrument, OpeningHours, Rate

    made = []
    for n in range(count):
        instrument = Instrument(organisation=organisation, name_zh=f"压测仪器 {n + 1}",
                                name_en=f"Bench instrument {n + 1}", category="analytical",
                                lab="测试中心", lead_minutes=0, max_days_ahead=3650,
                                requires_approval=False)
        for klass, hourly in (("internal", 10_000), ("academic", 20_000), ("enterprise", 40_000)):
            instrument.rates.append(Rate(customer_class=klass, hourly_fen=hourly,
                                         valid_from=utc(2020, 1, 1)))
        instrument.opening_hours = [OpeningHours(weekday=d, opens=dtime(0), closes=dtime(23, 59))
                                    for d in range(7)]
        db.session.add(instrument)
        made.append(instrument)
    db.session.flush()
    return made


def vacuum(url: str) -> None:
    """VACUUM ANALYZE, as autovacuum does some time after a bulk load: until then PostgreSQL
    cannot answer from an index alone (the directory search of the province took 41-51 ms
    at the median right after the seed, 29 ms after this)."""
    from sqlalchemy import create_engine

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


def seed(url: str, scale: str) -> None:
    """`flask demo seed --scale <scale>` on a fresh schema, then the bench's own additions."""
    from sqlalchemy import func, select

    from booking.accounts.models import Organisation
    from booking.accounts.services import create_api_token, get_user_by_email
    from booking.bookings.models import Booking
    from booking.extensions import db

    fresh_schema(url)
    env = {**os.environ, "DATABASE_URL": url, "APP_CONFIG": "development"}
    started = time.perf_counter()
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", "demo", "seed", "--scale", scale],
                   cwd=ROOT, env=env, check=True)  # prints each area's seconds
    seconds = time.perf_counter() - started
    with make_app(url).app_context():
        dlut = db.session.scalar(select(Organisation).where(Organisation.short_code == "DLUT"))
        spare = [i.id for i in seed_instruments(dlut, 4)]
        _, token = create_api_token(get_user_by_email("sme@demo.cn"), "bench")
        db.session.commit()
        total = db.session.scalar(select(func.count(Booking.id)))
        busiest = db.session.execute(select(Booking.instrument_id, func.count()).group_by(
            Booking.instrument_id).order_by(func.count().desc()).limit(1)).first()[0]
    if url.startswith("postgresql"):
        vacuum(url)
    state = {"url": url, "scale": scale, "token": token, "busiest": busiest, "spare": spare}
    state_file(url).write_text(json.dumps(state))
    print(f"flask demo seed --scale {scale}: {total} bookings in {seconds:.0f} s; "
          f"busiest instrument {busiest}")


# --- run -----------------------------------------------------------------------------------------
def wait_http(url: str) -> None:
    for _ in range(120):
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback only
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"server at {url} did not come up")


def start_gunicorn(app: str, port: int, env: dict, cwd: Path, probe: str) -> int:
    pidfile = WORK / f"gunicorn-{port}.pid"
    subprocess.Popen([str(BIN / "gunicorn"), app, "-w", "2", "-b", f"127.0.0.1:{port}",
                      "--access-logfile", "/dev/null", "--error-logfile",
                      str(WORK / f"gunicorn-{port}.log"), "-p", str(pidfile)],
                     cwd=cwd, env={**os.environ, **env})
    wait_http(f"http://127.0.0.1:{port}{probe}")
    return int(pidfile.read_text())


def stop(pid: int) -> None:
    """TERM the gunicorn master and wait for it to end (reaped: it is our child, and a child
    nobody waits for stays a zombie that os.kill(pid, 0) still finds)."""
    os.kill(pid, signal.SIGTERM)
    for _ in range(60):
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:  # not ours: it is gone once kill finds nothing
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        time.sleep(0.5)


def wrk(url: str, duration: str, lua: Path, env: dict | None = None) -> dict:
    out = subprocess.run(["wrk", "-t2", "-c8", f"-d{duration}", "--latency", "-s", str(lua), url],
                         capture_output=True, text=True, env={**os.environ, **(env or {})},
                         check=True).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    counters = re.search(r"COUNTERS (.*)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": latency.get("50"), "p99": latency.get("99"),
            "counters": counters.group(1) if counters else "", "raw": out}


def month_range() -> tuple[str, str]:
    today = datetime.now(UTC).date()
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return f"{first}T00:00:00", f"{following}T00:00:00"


def calendar_queries(url: str, path: str) -> tuple[int, int]:
    """SQL statements of the first calendar request of a worker and of a repeated one (the
    kept calendar's version check)."""
    from sqlalchemy import event

    from booking.extensions import db

    app = make_app(url)
    counted = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: counted.append(1))
        client = app.test_client()
        client.get(path)
        first = len(counted)
        client.get(path)
    return first, len(counted) - first


def first_free_day(url: str, spare: list[int]) -> datetime:
    """A UTC midnight after every booking earlier runs left on the bench instruments."""
    from sqlalchemy import func, select

    from booking.bookings.models import Booking
    from booking.extensions import db

    with make_app(url).app_context():
        latest = db.session.scalar(select(func.max(Booking.end_at)).where(
            Booking.instrument_id.in_(spare)))
    after = max(latest or datetime.now(UTC), datetime.now(UTC)) + timedelta(days=2)
    return after.replace(hour=0, minute=0, second=0, microsecond=0)


def check_no_overlaps(url: str, spare: list[int]) -> tuple[int, int]:
    """(overlapping pairs of occupying bookings, bookings) on the bench instruments: sorted by
    start, a booking overlaps when it starts before the latest end so far."""
    from sqlalchemy import select

    from booking.bookings.models import Booking
    from booking.bookings.rules import OCCUPYING_STATES
    from booking.extensions import db

    with make_app(url).app_context():
        rows = db.session.execute(select(Booking.instrument_id, Booking.start_at, Booking.end_at)
                                  .where(Booking.instrument_id.in_(spare),
                                         Booking.state.in_(OCCUPYING_STATES))
                                  .order_by(Booking.instrument_id, Booking.start_at)).all()
    overlaps, latest = 0, {}
    for instrument_id, start, end in rows:
        if instrument_id in latest and start < latest[instrument_id]:
            overlaps += 1
        latest[instrument_id] = max(end, latest.get(instrument_id, end))
    return overlaps, len(rows)


def run(url: str, duration: str, only: str | None = None, instrument: int | None = None
        ) -> None:
    """The measurements, one after the other on an otherwise idle machine; `only`: just one
    (calendar, create or ceiling); `instrument`: whose calendar (default: the busiest)."""
    state = json.loads(state_file(url).read_text())
    # MAIL_LOG=0: production sends mail by SMTP on a background thread; development writes
    # every message to the log, which a benchmark of thousands of bookings should not measure
    env = {"DATABASE_URL": url, "APP_CONFIG": "development", "RATELIMIT_ENABLED": "0",
           "MAIL_LOG": "0"}
    start, end = month_range()
    path = f"/instruments/{instrument or state['busiest']}/calendar.json?start={start}&end={end}"
    results = {}
    if only in (None, "calendar"):
        def calendar():
            return wrk(f"http://127.0.0.1:{PORT}{path}", duration, ROOT / "bench/lua/get_count.lua")

        def calendar_304():  # the browser revalidates its copy (FullCalendar's refetch)
            url = f"http://127.0.0.1:{PORT}{path}"
            with urllib.request.urlopen(url) as response:
                etag = response.headers["ETag"]
            return wrk(url, duration, ROOT / "bench/lua/get_not_modified.lua", {"ETAG": etag})

        results["calendar_json_month"] = _served(env, calendar)
        results["calendar_json_month_304"] = _served(env, calendar_304)
        # nothing kept: every request reads and renders, as a worker's first request does
        results["calendar_json_month_not_kept"] = _served(
            {**env, "CALENDAR_CACHE_MAX_BYTES": "0"}, calendar)
    if only in (None, "create"):
        base = first_free_day(url, state["spare"])
        results["api_create"] = _served(env, lambda: wrk(
            f"http://127.0.0.1:{PORT}/", duration, ROOT / "bench/lua/booking_create.lua", {
                "API_TOKEN": state["token"], "BASE_TS": str(int(base.timestamp())),
                "FIRST_INSTRUMENT": str(state["spare"][0]),
                "N_INSTRUMENTS": str(len(state["spare"])), "WRK_THREADS": "2"}))
    if only in (None, "ceiling"):
        results["flask_ceiling_pk_keepconn"] = ceiling(duration)
        if url.startswith("postgresql"):
            results["flask_ceiling_pg_pk_keepconn"] = pg_ceiling(url, duration)
    print(f"{state.get('scale', 'city')} scale, {url.split(':', 1)[0]}")
    print("test\treq_per_s\tp50\tp99\tcounters")
    for name, result in results.items():
        print(f"{name}\t{result['rps']:.0f}\t{result['p50']}\t{result['p99']}\t{result['counters']}")
    if "calendar_json_month" in results:
        first, repeated = calendar_queries(url, path)
        print(f"SQL statements per calendar request: {first} the first time, {repeated} "
              "when repeated (kept calendar, version check; SQLAlchemy's only: on SQLite the "
              "check runs on the worker thread's own connection, core.reads.kept_read)")
    if "api_create" in results:
        overlaps, created = check_no_overlaps(url, state["spare"])
        print(f"bookings created on the bench instruments so far: {created}; "
              f"overlapping pairs: {overlaps}")
    if {"calendar_json_month", "flask_ceiling_pk_keepconn"} <= set(results):
        ratio = results["calendar_json_month"]["rps"] / results["flask_ceiling_pk_keepconn"]["rps"]
        print(f"calendar / ceiling: {ratio:.0%} (compare with NEMO: run_bench.sh nemo, same run)")
    if {"calendar_json_month", "flask_ceiling_pg_pk_keepconn"} <= set(results):
        ratio = results["calendar_json_month"]["rps"] / results["flask_ceiling_pg_pk_keepconn"]["rps"]
        print(f"calendar / PostgreSQL ceiling: {ratio:.0%}")


def _served(env: dict, measure):
    """measure() against our app under gunicorn with `env`."""
    pid = start_gunicorn("wsgi:app", PORT, env, ROOT, "/healthz")
    try:
        return measure()
    finally:
        stop(pid)


def ceiling(duration: str) -> dict:
    """The peer's bare-Flask ceiling: one SQLite SELECT by primary key, connection kept."""
    database = WORK / "ceiling.db"
    if not database.exists():
        subprocess.run([sys.executable, str(PEER / "flask_ceiling/make_db.py"), str(database)],
                       check=True)
    return _ceiling(PEER / "flask_ceiling", {"FLASK_BENCH_DB": str(database)}, duration)


def pg_ceiling(url: str, duration: str) -> dict:
    """The same ceiling with one PostgreSQL SELECT by primary key (bench/pg_ceiling)."""
    libpq_url = url.replace("postgresql+psycopg://", "postgresql://", 1)
    return _ceiling(ROOT / "bench/pg_ceiling", {"PG_CEILING_URL": libpq_url}, duration)


def _ceiling(app_dir: Path, env: dict, duration: str) -> dict:
    pid = start_gunicorn("app:app", CEILING_PORT, env, app_dir, "/hello")
    try:
        return wrk(f"http://127.0.0.1:{CEILING_PORT}/", duration,
                   PEER / "lua/flask_random_pk.lua",
                   {"LUA_DIR": str(PEER / "lua"), "PATH_PREFIX": "/item_keep/",
                    "N_ROWS": "50000", "WRK_THREADS": "2"})
    finally:
        stop(pid)


def main() -> None:
    global PORT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["seed", "run"])
    parser.add_argument("--db", default=f"sqlite:///{WORK}/city.sqlite")
    parser.add_argument("--scale", choices=["city", "province"], default="city")
    parser.add_argument("--duration", default="20s")
    parser.add_argument("--only", choices=["calendar", "create", "ceiling"])
    parser.add_argument("--instrument", type=int, help="run: the calendar of this instrument "
                        "(default: the busiest; series_bench.py seed prints one with 20 weekly "
                        "series)")
    parser.add_argument("--port", type=int, default=PORT, help="run: serve on this port "
                        "(another run on the machine may hold the default)")
    args = parser.parse_args()
    PORT = args.port
    WORK.mkdir(parents=True, exist_ok=True)
    if args.command == "seed":
        seed(args.db, args.scale)
    else:
        run(args.db, args.duration, args.only, args.instrument)


if __name__ == "__main__":
    main()
