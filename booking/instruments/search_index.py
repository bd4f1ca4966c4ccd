"""The directory's full-text index, database side: one row per instrument holding the tokens
of booking.instruments.search. SQLite keeps them in an FTS5 virtual table (rowid = instrument
id), PostgreSQL in a tsvector column with a GIN index. Both are created by migration 0002 and
stay outside the ORM metadata (SQLite's FTS5 shadow tables cannot be modelled)."""
from sqlalchemy import Float, Integer, select, text
from sqlalchemy.orm import joinedload

from booking.extensions import db
from booking.instruments.rules import CATEGORIES
from booking.instruments.search import index_tokens

TABLE = "instrument_search"

_UPSERT = {
    "sqlite": ["DELETE FROM instrument_search WHERE rowid = :id",
               "INSERT INTO instrument_search (rowid, name_tokens, body_tokens) "
               "VALUES (:id, :name, :body)"],
    "postgresql": [
        "INSERT INTO instrument_search (instrument_id, document) VALUES (:id, "
        "setweight(array_to_tsvector(array_remove(string_to_array(:name, ' '), '')), 'A') || "
        "array_to_tsvector(array_remove(string_to_array(:body, ' '), ''))) "
        "ON CONFLICT (instrument_id) DO UPDATE SET document = excluded.document"],
}
_IDS = {
    "sqlite": "SELECT rowid FROM instrument_search WHERE instrument_search MATCH :match",
    "postgresql": "SELECT instrument_id FROM instrument_search "
                  "WHERE document @@ CAST(:match AS tsquery)",
}
_SCORES = {
    "sqlite": "SELECT rowid AS instrument_id, -bm25(instrument_search, 10.0, 1.0) AS score "
              "FROM instrument_search WHERE instrument_search MATCH :match",
    "postgresql": "SELECT instrument_id, ts_rank(document, q) AS score "
                  "FROM instrument_search, CAST(:match AS tsquery) AS q WHERE document @@ q",
}


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic hook: the index tables (and FTS5's shadow tables) are not ORM models."""
    return not (type_ == "table" and name.startswith(TABLE))


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def document(instrument) -> dict:
    category = CATEGORIES.get(instrument.category, ("", ""))
    return {
        "id": instrument.id,
        "name": index_tokens(instrument.name_zh, instrument.name_en, instrument.model),
        "body": index_tokens(instrument.manufacturer, *category, instrument.lab,
                             instrument.lab_en, instrument.location, instrument.location_en,
                             instrument.description,
                             instrument.description_en, instrument.capabilities,
                             instrument.capabilities_en, instrument.organisation.name_zh,
                             instrument.organisation.name_en,
                             instrument.organisation.short_code or ""),  # DLUT
    }


def write(documents: list[dict]) -> None:
    """Insert or replace index rows (executemany: fast for bulk seeds)."""
    if documents:
        for statement in _UPSERT[_dialect()]:
            db.session.execute(text(statement), documents)


def reindex(instrument) -> None:
    db.session.flush()
    write([document(instrument)])


def reindex_organisation(organisation, **_extra) -> None:
    """Receiver of accounts' `organisation_renamed`: its instruments are found by its names."""
    from booking.instruments.models import Instrument

    db.session.flush()
    write([document(i) for i in db.session.scalars(
        select(Instrument).where(Instrument.organisation_id == organisation.id))])


def reindex_all(batch: int = 500) -> int:
    """Every instrument's entry written anew (after the tokens or the glossary changed:
    `flask instruments reindex`); returns how many."""
    from booking.instruments.models import Instrument

    done, last = 0, 0
    while chunk := list(db.session.scalars(
            select(Instrument).where(Instrument.id > last).order_by(Instrument.id)
            .options(joinedload(Instrument.organisation)).limit(batch))):
        write([document(i) for i in chunk])
        done, last = done + len(chunk), chunk[-1].id
    return done


def _match_expression(tokens: list[str]) -> str:
    if _dialect() == "sqlite":
        return " AND ".join('"' + t.replace('"', '""') + '"' for t in tokens)
    return " & ".join("'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in tokens)


def matching_ids(tokens: list[str]):
    """Ids of instruments whose index holds every token (for `Instrument.id.in_(...)`)."""
    return text(_IDS[_dialect()]).bindparams(match=_match_expression(tokens)).columns(
        instrument_id=Integer)


def scores(tokens: list[str]):
    """(instrument_id, score) of the matches, to join; higher is more relevant, name hits weigh
    most. SQLite: a CTE materialised first (bm25 only works inside the MATCH query, and a
    flattened subquery would probe the FTS index once per instrument row). PostgreSQL: a plain
    subquery, so ts_rank is computed only for the rows that pass the filters."""
    dialect = _dialect()
    matches = (text(_SCORES[dialect]).bindparams(match=_match_expression(tokens))
               .columns(instrument_id=Integer, score=Float))
    if dialect == "sqlite":
        return matches.cte("hits").prefix_with("MATERIALIZED")
    return matches.subquery("hits")
