"""What the bench scripts share: an app on a given database and a fresh, empty schema."""
from pathlib import Path


def make_app(url: str):
    """The development app on `url`, without rate limits (benchmarks log in and post a lot)."""
    from booking import create_app
    from config import DevelopmentConfig

    class BenchConfig(DevelopmentConfig):
        SQLALCHEMY_DATABASE_URI = url
        RATELIMIT_ENABLED = False

    return create_app(BenchConfig)


def fresh_schema(url: str) -> None:
    """SQLite: remove the file (and its WAL); PostgreSQL: drop and recreate the public schema."""
    from sqlalchemy import create_engine, text

    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
