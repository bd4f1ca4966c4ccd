"""Demo bookings: a year of realistic use of every demo instrument, in mixed states.

Runs after the instruments' seed (`flask demo seed`); without instruments it does nothing.
Idempotent: instruments that already have bookings are left alone. Bookings are written
directly (history does not pass today's lead-time rules) but never overlap, so the database's
no-overlap guard holds.
"""
import random
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import NamedTuple

from sqlalchemy import select

from booking.accounts.models import Organisation, Role, User
from booking.bookings import rules
from booking.bookings.calendar import opening_calendar
from booking.bookings.models import Booking, Rating
from booking.core.clock import now_utc
from booking.core.db import bulk_insert, chunks
from booking.extensions import db
from booking.instruments import demo as instruments_demo
from booking.instruments.demo import SHARING
from booking.instruments.models import Instrument

DAYS_BACK, DAYS_AHEAD = 300, 60
# Chance that an opening period (usually one day) of an instrument gets any booking. City:
# about 50,000 bookings on 200 instruments, the peer benchmark's volume; province: about
# 1,000,000 on 20,200 instruments.
DENSITY = {"small": 0.55, "city": 0.65, "province": 0.135}
INSTRUMENTS_PER_LOAD = 1000
PURPOSES = (
    "催化剂样品 XRD 物相分析", "纳米颗粒形貌与粒径表征", "合金断口 SEM 观察与能谱分析",
    "蛋白质样品质谱鉴定", "高分子薄膜 DSC 热分析", "锂电正极材料元素含量测定",
    "土壤重金属 ICP-MS 检测", "涂层厚度与成分分析", "有机合成产物核磁结构确认",
    "钢材金相组织观察", "水样有机污染物 GC-MS 筛查", "陶瓷材料力学性能测试",
    "Thin-film XPS depth profile", "Raman mapping of graphene samples",
)


def seed(scale: str) -> None:
    _seed_bookings(scale)
    _seed_ratings(RATED_SHARE.get(scale, RATED_SHARE["small"]))


def _seed_bookings(scale: str) -> None:
    instruments = _instruments_without_bookings()
    if not instruments:
        return
    rng = random.Random(2026)  # the same demo every time
    bookers = _bookers()
    managers = _managers()
    usual = Pace(DENSITY.get(scale, DENSITY["small"]), (1, 20))
    paces = _paces()
    now = now_utc()
    for some in chunks(instruments, INSTRUMENTS_PER_LOAD):
        # generated first (each instrument's opening calendar is a query), then loaded at once
        rows = [row for instrument in some
                for row in _bookings_for(instrument, bookers,
                                         managers.get(instrument.organisation_id),
                                         paces.get(instrument.organisation_id, usual), now, rng)]
        bulk_insert(db.session, Booking.__table__, rows)


def _instruments_without_bookings() -> list[Instrument]:
    booked = select(Booking.instrument_id).distinct()
    return list(db.session.scalars(select(Instrument).where(
        Instrument.status != "retired", Instrument.id.not_in(booked)).order_by(Instrument.id)))


class Pace(NamedTuple):
    density: float  # chance that an opening period gets any booking
    decide_hours: tuple[int, int]  # how long a request waits for the manager


def _paces() -> dict[int, Pace]:
    """The other providers' own pace (instruments.demo.SHARING), by organisation id."""
    paces = {}
    for key, sharing in SHARING.items():
        organisation = instruments_demo._organisation(key)
        if organisation is not None:
            paces[organisation.id] = Pace(sharing.activity, sharing.decide_hours)
    return paces


def _bookers() -> list[tuple[int, int]]:
    """(user id, organisation id) of everyone who may book."""
    return list(db.session.execute(select(User.id, User.organisation_id).join(User.organisation)
                                   .where(User.active.is_(True), User.membership_confirmed.is_(True),
                                          Organisation.verified.is_(True),
                                          Organisation.kind != "bureau").order_by(User.id)))


def _managers() -> dict[int, int]:
    rows = db.session.execute(select(Role.organisation_id, Role.user_id)
                              .where(Role.name == "lab_manager").order_by(Role.id))
    return {org_id: user_id for org_id, user_id in rows}


def _bookings_for(instrument: Instrument, bookers, manager_id, pace: Pace, now, rng):
    start, end = now - timedelta(days=DAYS_BACK), now + timedelta(days=DAYS_AHEAD)
    calendar = opening_calendar(instrument, start, end)
    owner = instrument.organisation_id
    candidates = bookers if instrument.is_public else [b for b in bookers if b[1] == owner]
    if not candidates:
        return
    instrument = SimpleNamespace(**{name: getattr(instrument, name) for name in PLAIN})
    for open_at, close_at in rules.subtract(rules.opening_intervals(calendar, start, end),
                                            calendar.blackouts):
        if rng.random() < pace.density:
            yield from _fill(instrument, open_at, close_at, candidates, manager_id, pace, now,
                             rng)


# What _fill and _row read of an instrument, copied once (ORM attribute reads add up over a
# million rows).
PLAIN = ("id", "slot_minutes", "min_minutes", "max_minutes", "timezone", "requires_approval",
         "approval_timeout_hours", "allows_staff_operated", "allows_self_operated")


def _fill(instrument, open_at, close_at, candidates, manager_id, pace, now, rng):
    """Place a few non-overlapping bookings on the slot grid inside one opening period."""
    slot = timedelta(minutes=instrument.slot_minutes)
    cursor = rules.ceil_to_grid(open_at, instrument.slot_minutes, instrument.timezone)
    cursor += slot * rng.randint(0, 4)
    while True:
        slots = rng.randint(max(1, instrument.min_minutes // instrument.slot_minutes),
                            max(1, min(instrument.max_minutes, 240) // instrument.slot_minutes))
        finish = cursor + slot * slots
        if finish > close_at:
            return
        user_id, org_id = rng.choice(candidates)
        yield _row(instrument, user_id, org_id, cursor, finish, manager_id, pace, now, rng)
        cursor = finish + slot * rng.randint(0, 6)


def _row(instrument, user_id, org_id, start: datetime, end: datetime, manager_id, pace, now,
         rng):
    state = _state(instrument, start, end, now, rng)
    created = start - timedelta(hours=rng.randint(4, 24 * 14))
    if state == "pending":  # still within the approval timeout, so not yet expired
        created = now - timedelta(hours=rng.randint(1, max(1, instrument.approval_timeout_hours - 1)))
    elif created > now:  # booked within the last two weeks (from the slot: `rng` stays as it was)
        created = now - timedelta(minutes=int(start.timestamp()) // 60 % (14 * 24 * 60) + 1)
    decided = state in ("approved", "in_use", "completed", "rejected", "no_show")
    mode = ("staff_operated" if instrument.allows_staff_operated and
            (not instrument.allows_self_operated or rng.random() < 0.3) else "self_operated")
    # 1-8 samples per staff-operated booking, derived from the slot rather than drawn from
    # `rng`, so the rest of the demo stays the same as before samples were counted
    samples = 1 + (int(start.timestamp()) // 60 + user_id) % 8 if mode == "staff_operated" else 0
    return {
        "instrument_id": instrument.id, "user_id": user_id, "organisation_id": org_id,
        "start_at": start, "end_at": end, "mode": mode, "sample_count": samples,
        "purpose": rng.choice(PURPOSES),
        "state": state, "created_at": created, "updated_at": min(start, now),
        "decided_by_id": manager_id if decided and instrument.requires_approval else None,
        "decided_at": (min(created + timedelta(hours=rng.randint(*pace.decide_hours)), start,
                           now) if decided else None),
        "decision_reason": "该时段需优先保障校内教学实验" if state == "rejected" else "",
        "cancelled_at": min(created + timedelta(hours=2), now) if state == "cancelled" else None,
        "late_cancel": state == "cancelled" and rng.random() < 0.2,
        "sequence": 0 if state == "pending" else 1,
    }


def _state(instrument, start, end, now, rng) -> str:
    roll = rng.random()
    if end <= now:
        for state, share in (("completed", 0.82), ("cancelled", 0.08), ("no_show", 0.04),
                             ("rejected", 0.04)):
            if roll < share:
                return state
            roll -= share
        return "expired"
    if start <= now:
        return "in_use"
    if roll < 0.08:
        return "cancelled"
    return "pending" if instrument.requires_approval and roll < 0.4 else "approved"


RATED_SHARE = {"small": 0.6, "city": 0.4, "province": 0.1}  # completed bookings rated
COMMENTS = ("", "", "老师讲解很耐心，数据质量好。", "预约方便，按时完成。", "样品排队时间略长。",
            "Helpful staff and clean data.", "仪器状态良好。")


def _seed_ratings(share: float) -> None:
    unrated = db.session.execute(
        select(Booking.id, Booking.instrument_id, Booking.user_id, Booking.end_at)
        .outerjoin(Rating, Rating.booking_id == Booking.id)
        .where(Booking.state == "completed", Rating.id.is_(None)).order_by(Booking.id)).all()
    rows = []
    for booking_id, instrument_id, user_id, end_at in unrated:
        rng = random.Random(booking_id)  # the same choice for a booking on every run
        if rng.random() < share:
            rows.append({"booking_id": booking_id, "instrument_id": instrument_id,
                         "user_id": user_id, "created_at": end_at,
                         "stars": rng.choices((5, 4, 3, 2, 1), (50, 30, 12, 5, 3))[0],
                         "comment": rng.choice(COMMENTS)})
    bulk_insert(db.session, Rating.__table__, rows)
