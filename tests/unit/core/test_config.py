"""The database URL from the environment: drivers named, empty meaning unset."""
from config import _database_url


def test_an_empty_or_missing_database_url_means_the_default(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert _database_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"
    monkeypatch.setenv("DATABASE_URL", "  ")
    assert _database_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"


def test_postgres_urls_name_psycopg_3(monkeypatch):
    for given in ("postgres://u@h/db", "postgresql://u@h/db"):
        monkeypatch.setenv("DATABASE_URL", given)
        assert _database_url("sqlite://") == "postgresql+psycopg://u@h/db"
