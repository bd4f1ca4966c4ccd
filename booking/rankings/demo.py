"""Demo reward pools and rankings (runs after bookings, ratings and usage are seeded).

Idempotent: existing pools and snapshots are kept.
The quarter before last is computed and published, the last complete quarter computed and
left for review, so the dashboard shows a trend and the public page a ranking.
"""
from booking.core.clock import last_complete_quarter, local_today
from booking.rankings import services

DEMO_POOL_FEN = 100_000_000  # ¥1,000,000 per quarter


def seed(scale: str) -> None:
    last = last_complete_quarter(local_today())
    for period, publish in ((last.previous(), True), (last, False)):
        if services.get_snapshot(period.label) is None:
            _seed_ranking(period.label, publish)


def _seed_ranking(period: str, publish: bool) -> None:
    if services.reward_pool_fen(period) == 0:
        services.set_reward_pool(period, DEMO_POOL_FEN, None)
    snapshot = services.compute_snapshot(period)
    if publish and snapshot.rows:
        services.publish_snapshot(snapshot, None)

