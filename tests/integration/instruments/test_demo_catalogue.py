from datetime import timedelta

from sqlalchemy import func, select

from booking.accounts.demo import seed_accounts
from booking.core.clock import now_utc
from booking.extensions import db
from booking.instruments import demo, directory, rules
from booking.instruments.models import Instrument


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Instrument))


def test_small_seed_is_realistic_and_idempotent(app):
    seed_accounts()
    before = _count()
    demo.seed("small")
    added = _count() - before
    assert added >= 40
    demo.seed("small")
    assert _count() - before == added
    instruments = db.session.scalars(select(Instrument)).all()
    assert len({i.category for i in instruments}) >= 6
    assert all(50_000_000 <= i.original_value_fen <= 2_000_000_000 for i in instruments)
    for instrument in instruments:
        hourly = {c: r.hourly_fen for c, r in rules.effective_rates(instrument.rates,
                                                                      now_utc()).items()}
        assert rules.rate_order_problems(hourly) == [] and len(hourly) == 3
        assert instrument.opening_hours
        assert instrument.lab_en, instrument.lab  # English pages name every demo laboratory
        assert instrument.location_en.startswith("Room "), instrument.location  # and room
        assert instrument.capabilities_en.count("\n") == instrument.capabilities.count("\n")
        # listed before it was last reviewed, and not at the seed's moment (the bulletin)
        assert instrument.created_at <= instrument.info_updated_at <= now_utc()
    listed = sorted(i.created_at for i in instruments)
    assert listed[0] < now_utc() - timedelta(days=365) and listed[-1] > now_utc() - timedelta(
        days=60)
    page = directory.search(directory.DirectoryQuery(q="核磁"), directory.Viewer(), now_utc())
    assert page.total >= 3


def test_city_seed_tops_up_to_200(app):
    seed_accounts()
    demo.seed("city")
    demo.seed("city")
    owners = [demo._organisation(key).id for key in demo.CATALOGUE]
    assert db.session.scalar(select(func.count()).select_from(Instrument).where(
        Instrument.organisation_id.in_(owners))) == demo.CITY_INSTRUMENTS
    assert not db.session.scalar(select(func.count()).select_from(Instrument).where(
        Instrument.lab_en == ""))
    page = directory.search(directory.DirectoryQuery(q="电镜"), directory.Viewer(), now_utc())
    assert page.total > 10
