#!/usr/bin/env bash
# The peer's side of the booking-creation ratio: NEMO's calendar create (run_bench.sh's block b1:
# POST /create_reservation/ as a regular user, every policy check) on SQLite or on PostgreSQL.
#
#   bash bench/peer_create.sh sqlite        # NEMO as ../shared/peer-bench/setup.sh installs it
#   bash bench/peer_create.sh postgresql    # the same NEMO, seeded the same way, on PostgreSQL
#
# Needs setup.sh to have run. On PostgreSQL, the first run installs psycopg into NEMO's venv,
# migrates and seeds a database `nemo_bench` (a few minutes) and keeps it as the template
# `nemo_seeded`; every run starts from a fresh copy of it. Django keeps each worker's connection
# (CONN_MAX_AGE), as a production deployment would: one connection per request would cost NEMO
# a PostgreSQL log-in on every request. DURATION (default 10s) as in run_bench.sh.
set -euo pipefail

DB=${1:-sqlite}
case $DB in sqlite | postgresql) ;; *) echo "usage: $0 [sqlite|postgresql]" >&2; exit 2 ;; esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEER=${PEER_BENCH:-$ROOT/../shared/peer-bench}
PG_ADMIN=(-h 127.0.0.1 -U postgres)
export DURATION=${DURATION:-10s}

# run_bench.sh's settings and helpers (everything before its own benchmarks), then ours
# shellcheck source=/dev/null
source <(sed '/^bench_nemo() {/,$d' "$PEER/run_bench.sh")
export LUA_DIR=$PEER/lua

if [ "$DB" = postgresql ]; then
  "$NEMO_VENV/bin/python" -c "import psycopg" 2>/dev/null ||
    "$NEMO_VENV/bin/pip" install -q "psycopg[binary]"
  cat >"$NEMO_SITE/nemo_bench_settings_pg.py" <<'EOF'
from nemo_bench_settings import *  # noqa: F403 - the same NEMO, on PostgreSQL

DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "nemo_bench",
                         "USER": "postgres", "HOST": "127.0.0.1", "PORT": 5432,
                         "CONN_MAX_AGE": 600}}
EOF
  export DJANGO_SETTINGS_MODULE=nemo_bench_settings_pg
  if ! psql "${PG_ADMIN[@]}" -lqt | cut -d'|' -f1 | grep -qw nemo_seeded; then
    log "migrating and seeding NEMO on PostgreSQL (a few minutes, once)"
    dropdb "${PG_ADMIN[@]}" --if-exists nemo_bench
    createdb "${PG_ADMIN[@]}" nemo_bench
    "$NEMO_VENV/bin/django-admin" migrate -v 0
    "$NEMO_VENV/bin/python" "$PEER/seed.py"
    createdb "${PG_ADMIN[@]}" -T nemo_bench nemo_seeded
  fi
  restore_nemo_db() {
    dropdb "${PG_ADMIN[@]}" --if-exists nemo_bench
    createdb "${PG_ADMIN[@]}" -T nemo_seeded nemo_bench
  }
fi

nemo_dates
restore_nemo_db
nemo_ids
start_nemo
login user0001
before=$(count_reservations)
SESSIONID=$SID CSRF=$CSRF run_wrk "nemo_create_calendar_$DB" "POST /create_reservation/ on $DB" \
  "$NEMO_URL/create_reservation/" -s "$LUA_DIR/nemo_create_calendar.lua"
after=$(count_reservations)
stop_server
echo "NEMO create on $DB: reservations added $((after - before))"
