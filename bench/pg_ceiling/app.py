"""The peer's bare-Flask primary-key ceiling (../shared/peer-bench/flask_ceiling, route
/item_keep/<id>), with PostgreSQL in place of SQLite: one SELECT by primary key on a psycopg
connection kept per worker process. The PostgreSQL calendar pays the same network round trip,
which the SQLite ceiling does not; calendar_bench.py reports the calendar against both.
DB: $PG_CEILING_URL (a libpq URL of the bench database, whose bookings table it reads)."""
import os

import psycopg
from flask import Flask, abort, jsonify

URL = os.environ["PG_CEILING_URL"]
SQL = "SELECT id, instrument_id, user_id, start_at, end_at, purpose FROM bookings WHERE id = %s"
app = Flask(__name__)
_kept = None


@app.get("/hello")
def hello():
    return "Hello, World!"


@app.get("/item_keep/<int:item_id>")
def item_keep(item_id):
    global _kept
    if _kept is None:
        _kept = psycopg.connect(URL, autocommit=True)
    row = _kept.execute(SQL, (item_id,)).fetchone()
    if row is None:
        abort(404)
    names = ("id", "instrument_id", "user_id", "start", "end", "purpose")
    return jsonify(dict(zip(names, row, strict=True)))
