"""Demo ratings, reward pools and rankings (runs after bookings and usage are seeded).

Idempotent: bookings already rated are left alone, existing pools and snapshots are kept.
The quarter before last is computed and published, the last complete quarter computed and
left for review, so the dashboard shows a trend and the public page a ranking.
"""
import random

from sqlalchemy import insert, select

from booking.bookings.models import Booking
from booking.core.clock import now_utc, to_local
from booking.extensions import db
from booking.rankings import services
from booking.rankings.models import Rating
from booking.rankings.rules import PERIOD_TIMEZONE, last_complete_quarter, parse_period, previous_period

RATED_SHARE = {"small": 0.6, "city": 0.4, "province": 0.1}
DEMO_POOL_FEN = 100_000_000  # ¥1,000,000 per quarter
COMMENTS = ("", "", "老师讲解很耐心，数据质量好。", "预约方便，按时完成。", "样品排队时间略长。",
            "Helpful staff and clean data.", "仪器状态良好。")
BATCH = 5000


def seed(scale: str) -> None:
    _seed_ratings(RATED_SHARE.get(scale, RATED_SHARE["small"]))
    last = parse_period(last_complete_quarter(to_local(now_utc(), PERIOD_TIMEZONE).date()))
    for period, publish in ((previous_period(last), True), (last, False)):
        if services.get_snapshot(period.label) is None:
            _seed_ranking(period.label, publish)


def _seed_ratings(share: float) -> None:
    unrated = db.session.execute(
        select(Booking.id, Booking.instrument_id, Booking.user_id, Booking.end_at)
        .outerjoin(Rating, Rating.booking_id == Booking.id)
        .where(Booking.state == "completed", Rating.id.is_(None)).order_by(Booking.id))
    rows = []
    for booking_id, instrument_id, user_id, end_at in unrated:
        rng = random.Random(booking_id)  # the same choice for a booking on every run
        if rng.random() < share:
            rows.append({"booking_id": booking_id, "instrument_id": instrument_id,
                         "user_id": user_id, "created_at": end_at,
                         "stars": rng.choices((5, 4, 3, 2, 1), (50, 30, 12, 5, 3))[0],
                         "comment": rng.choice(COMMENTS)})
        if len(rows) >= BATCH:
            db.session.execute(insert(Rating), rows)
            rows = []
    if rows:
        db.session.execute(insert(Rating), rows)
    db.session.flush()


def _seed_ranking(period: str, publish: bool) -> None:
    if services.reward_pool_fen(period) == 0:
        services.set_reward_pool(period, DEMO_POOL_FEN, None)
    snapshot = services.compute_snapshot(period)
    if publish and snapshot.rows:
        services.publish_snapshot(snapshot, None)

