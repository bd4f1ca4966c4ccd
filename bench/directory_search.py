"""Directory search benchmark: keyword plus two filters over 20,000 instruments.

    python bench/directory_search.py                 # SQLite (temp file) and PostgreSQL
    python bench/directory_search.py --only sqlite
    BENCH_DIRECTORY_PG_URL=postgresql://postgres@127.0.0.1:5432/booking_bench_directory python bench/...

Each database is built from the migrations and seeded with `--scale province` instruments
(500 institutions, 20,000 instruments). Prints median and p95 of the server time: the search
service alone (count + one page) and the whole directory page through the WSGI app.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from config import TestingConfig  # noqa: E402

# keyword + two filters (category, city, institution, service mode, price, open this week)
QUERIES = [
    {"q": "电镜", "category": "analytical", "city": "大连"},
    {"q": "核磁", "city": "沈阳", "mode": "staff_operated"},
    {"q": "液相", "category": "analytical", "price_max": "300"},
    {"q": "XRD", "city": "鞍山", "week": "1"},
    {"q": "质谱", "category": "analytical", "sort": "price"},
    {"q": "SEM", "city": "锦州", "mode": "self_operated"},
    {"q": "试验机", "category": "physical_testing", "city": "大连"},
    {"q": "ICP-MS", "city": "营口", "price_min": "50"},
]
ROUNDS = 30


def _fresh_postgres(url: str) -> str:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def build_app(url: str, seed: bool = True):
    from booking import create_app

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Config)
    if not seed:
        return app
    with app.app_context():
        from flask_migrate import upgrade

        from booking.accounts.demo import seed_accounts
        from booking.extensions import db
        from booking.instruments import demo

        upgrade()
        seed_accounts()
        started = time.perf_counter()
        demo.seed("province")
        db.session.commit()
        print(f"  seeded in {time.perf_counter() - started:.1f} s")
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                conn.execute(text("ANALYZE"))
                conn.commit()
        else:
            with db.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
    return app


def _stats(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"median {statistics.median(ordered) * 1000:6.1f} ms   p95 {p95 * 1000:6.1f} ms"


def _postgres_execution_ms(app, query) -> float:
    """PostgreSQL's own planning + execution time of the statements one search issues
    (EXPLAIN ANALYZE), so the figure does not depend on the load of this machine."""
    from sqlalchemy import event

    from booking.core.clock import now_utc
    from booking.extensions import db
    from booking.instruments import directory

    statements = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        directory.search(query, directory.Viewer(), now_utc())
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    total = 0.0
    cursor = db.session.connection().connection.cursor()
    for statement, parameters in statements:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
        plan = cursor.fetchone()[0][0]
        total += plan["Planning Time"] + plan["Execution Time"]
    db.session.rollback()
    return total / 1000


def _backend_cpu_seconds() -> float | None:
    """CPU time used so far by this session's PostgreSQL backend (local server only)."""
    from booking.extensions import db

    pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backend_cpu_per_search(queries) -> float | None:
    from booking.core.clock import now_utc
    from booking.extensions import db
    from booking.instruments import directory

    before = _backend_cpu_seconds()
    for query in queries:
        directory.search(query, directory.Viewer(), now_utc())
    after = _backend_cpu_seconds()
    db.session.rollback()
    return None if before is None else (after - before) / len(queries)


def measure(app) -> None:
    from werkzeug.datastructures import MultiDict

    from booking.core.clock import now_utc
    from booking.extensions import db
    from booking.instruments import directory
    from booking.instruments.models import Instrument

    with app.app_context():
        total = db.session.query(Instrument).count()
        service, service_cpu, page, page_cpu, database = [], [], [], [], []
        postgres = db.engine.dialect.name == "postgresql"
        hits = {}
        client = app.test_client()
        for _round in range(ROUNDS):
            for args in QUERIES:
                query = directory.query_from_args(MultiDict(args))
                started, cpu = time.perf_counter(), time.process_time()
                result = directory.search(query, directory.Viewer(), now_utc())
                service.append(time.perf_counter() - started)
                service_cpu.append(time.process_time() - cpu)
                if postgres:
                    database.append(_postgres_execution_ms(app, query))
                hits[args["q"]] = result.total
                db.session.rollback()
                started, cpu = time.perf_counter(), time.process_time()
                response = client.get("/", query_string=args)
                page.append(time.perf_counter() - started)
                page_cpu.append(time.process_time() - cpu)
                assert response.status_code == 200
        print(f"  {total} instruments; hits per query: {hits}")
        print(f"  search service  {_stats(service)}   (wall clock)")
        print(f"  search service  {_stats(service_cpu)}   (CPU of this process: the app, and "
              f"for SQLite the database too)")
        if postgres:
            print(f"  PostgreSQL      {_stats(database)}   (planning + execution, EXPLAIN "
                  f"ANALYZE)")
            print(f"  server time     {_stats([a + b for a, b in zip(service_cpu, database, strict=True)])}"
                  f"   (app CPU + PostgreSQL time)")
        if postgres:
            queries = [directory.query_from_args(MultiDict(a)) for a in QUERIES] * ROUNDS
            backend = _backend_cpu_per_search(queries)
            if backend is not None:
                print(f"  PostgreSQL CPU  mean {backend * 1000:6.1f} ms per search (backend "
                      f"process, from /proc)")
        print(f"  directory page  {_stats(page)}   (wall clock, whole request)")
        print(f"  directory page  {_stats(page_cpu)}   (CPU of this process, whole request)")
        print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--reuse", metavar="URL", help="measure an already seeded database")
    options = parser.parse_args()
    if options.reuse:
        measure(build_app(options.reuse, seed=False))
        return
    targets = []
    if options.only != "postgresql":
        path = os.path.join(tempfile.mkdtemp(prefix="bench-"), "bench.sqlite")
        targets.append(("SQLite", lambda: f"sqlite:///{path}"))
    if options.only != "sqlite":
        pg = os.environ.get("BENCH_DIRECTORY_PG_URL",
                            "postgresql://postgres@127.0.0.1:5432/booking_bench_directory")
        targets.append(("PostgreSQL", lambda: _fresh_postgres(pg)))
    for label, make_url_ in targets:
        print(f"{label}:")
        measure(build_app(make_url_()))


if __name__ == "__main__":
    main()
