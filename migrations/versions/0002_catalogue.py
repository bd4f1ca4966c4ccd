"""catalogue search index and constraints (issue 3)

The directory's full-text index (booking/instruments/search_index.py): pre-tokenised CJK
bigrams in an FTS5 table on SQLite, a tsvector with a GIN index on PostgreSQL.

Revision ID: 0002_catalogue
Revises: 0001_initial
"""
from alembic import op

revision = "0002_catalogue"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE instrument_search USING fts5("
                   "name_tokens, body_tokens, tokenize = 'unicode61 remove_diacritics 0')")
        return
    op.execute("CREATE TABLE instrument_search ("
               "instrument_id integer PRIMARY KEY REFERENCES instruments (id) ON DELETE CASCADE,"
               " document tsvector NOT NULL)")
    op.execute("CREATE INDEX ix_instrument_search_document ON instrument_search "
               "USING gin (document)")


def downgrade():
    op.execute("DROP TABLE instrument_search")
