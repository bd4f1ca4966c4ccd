"""Demo reward pool and rankings (runs after bookings, ratings and usage are seeded).

Idempotent: existing pools and snapshots are kept.
The quarter before last is computed and published, the last complete quarter computed and
left for review, so the dashboard shows a trend and the public page a ranking. Quarterly
rankings monitor; the reward pool is budgeted for this year's annual ranking.
"""
from booking.core.clock import last_complete_quarter, local_today
from booking.rankings import services

DEMO_POOL_FEN = 400_000_000  # ¥4,000,000 for the year


def seed(scale: str) -> None:
    today = local_today()
    if services.reward_pool_fen(str(today.year)) == 0:
        services.set_reward_pool(str(today.year), DEMO_POOL_FEN, None)
    last = last_complete_quarter(today)
    for period, publish in ((last.previous(), True), (last, False)):
        if services.get_snapshot(period.label) is None:
            _seed_ranking(period.label, publish)


def _seed_ranking(period: str, publish: bool) -> None:
    snapshot = services.compute_snapshot(period)
    if publish and snapshot.rows:
        services.publish_snapshot(snapshot, None)

