"""The bureau's monthly and quarterly bulletin (月调度、季通报): per providing institution and
in total, for a period and the one before it: bookings (begun in the period by now, not
refused, cancelled or expired: a period under way counts no booking still to come), effective
hours of use and their external share (as the rankings count them), voucher money redeemed in
the period (shares of paid invoices, less what credit notes and clawbacks took back: as the
voucher dashboard and the reimbursement statements count it), instruments newly listed, and
listings not reviewed for 180 days at the period's end."""
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import func, select

from booking.accounts.models import Organisation
from booking.accounts.rules import PROVIDER_KINDS
from booking.bookings.models import Booking
from booking.core.clock import Period, now_utc
from booking.extensions import db
from booking.instruments.models import Instrument
from booking.instruments.rules import STALE_AFTER_DAYS
from booking.rankings.indicators import _sessions_in
from booking.reports import rules
from booking.reports.rules import Figures, Line
from booking.subsidies.models import Redemption

COUNTED_STATES = ("pending", "approved", "in_use", "completed", "no_show")


def _providers() -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).where(
        Organisation.kind.in_(PROVIDER_KINDS)).order_by(Organisation.name_zh)))


def _bookings(period: Period) -> dict[int, int]:
    return dict(db.session.execute(
        select(Instrument.organisation_id, func.count(Booking.id))
        .join(Instrument, Instrument.id == Booking.instrument_id)
        .where(Booking.start_at >= period.start,
               Booking.start_at < min(period.end, now_utc()), Booking.state.in_(COUNTED_STATES))
        .group_by(Instrument.organisation_id)).all())


def _hours(period: Period) -> tuple[dict, dict]:
    sessions = _sessions_in(period)
    hours, external = defaultdict(float), defaultdict(float)
    for owner, client, total in db.session.execute(
            select(Instrument.organisation_id, sessions.c.client_id, func.sum(sessions.c.hours))
            .join(Instrument, Instrument.id == sessions.c.instrument_id)
            .group_by(Instrument.organisation_id, sessions.c.client_id)):
        hours[owner] += total or 0
        if client != owner:
            external[owner] += total or 0
    return hours, external


def _vouchers(period: Period) -> dict[int, int]:
    return {provider: int(amount) for provider, amount in db.session.execute(
        select(Redemption.provider_id, func.sum(Redemption.amount_fen))
        .where(Redemption.state == "redeemed", Redemption.redeemed_at >= period.start,
               Redemption.redeemed_at < period.end)
        .group_by(Redemption.provider_id))}


def _new_instruments(period: Period) -> dict[int, int]:
    return dict(db.session.execute(
        select(Instrument.organisation_id, func.count())
        .where(Instrument.created_at >= period.start, Instrument.created_at < period.end)
        .group_by(Instrument.organisation_id)).all())


def _stale(period: Period) -> dict[int, int]:
    cutoff = period.end - timedelta(days=STALE_AFTER_DAYS)
    return dict(db.session.execute(
        select(Instrument.organisation_id, func.count())
        .where(Instrument.status != "retired", Instrument.is_public.is_(True),
               Instrument.created_at < period.end, Instrument.info_updated_at <= cutoff)
        .group_by(Instrument.organisation_id)).all())


def figures(period: Period) -> dict[int, Figures]:
    bookings, (hours, external) = _bookings(period), _hours(period)
    vouchers, new, stale = _vouchers(period), _new_instruments(period), _stale(period)
    ids = set(bookings) | set(hours) | set(vouchers) | set(new) | set(stale)
    return {org_id: Figures(bookings.get(org_id, 0), round(hours.get(org_id, 0.0), 1),
                            round(external.get(org_id, 0.0), 1), vouchers.get(org_id, 0) or 0,
                            new.get(org_id, 0), stale.get(org_id, 0)) for org_id in ids}


def bulletin(period: Period, locale: str = "zh_CN") -> tuple[list[Line], Line]:
    """Lines per providing institution (those with anything to report in either period) and
    the total, each with its change from the previous period."""
    now, before = figures(period), figures(period.previous())
    lines = []
    for org in _providers():
        if org.id not in now and org.id not in before:
            continue
        a, b = now.get(org.id, Figures()), before.get(org.id, Figures())
        lines.append(Line(org.id, org.display_name(locale), a, b, rules.changes(a, b)))
    return lines, rules.total(lines, "合计" if locale != "en" else "Total")
