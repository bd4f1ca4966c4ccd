"""Sharing indicators of every provider institution over a period, by set-based SQL.

The one place the indicators are defined. Period: [start, end) in China time (rules.Period).

Scope: instruments of universities and institutes whose original value is at least the
policy's min_original_value_fen, not retired, in service before the period ends (in service
from the purchase date, or the listing date when none is recorded). An institution with no
instrument in scope is not ranked. Pro-rating: an instrument counts for the share of the
period it was in service (active days / days of the year for rated hours and value).

open_rate          listed instruments (public and active, i.e. bookable) / instruments in scope
directory_quality  mean over listed instruments in scope of completeness (the catalogue's
                   weighted field score, 0..1) x freshness (1 when the listing was reviewed
                   within fresh_days before the period's end, 0 from stale_days, linear)
decision_speed     median hours from request to a manager's decision (approve or reject) for
                   requests made in the period; automatic approvals and expired requests
                   are not decisions
turnaround         median hours from the samples' receipt to the report ready, over test orders
                   (送样) on the institution's large instruments whose report became ready in
                   the period (the receipt and report times the lab's orders page shows)
effective_hours    mean over instruments of effective hours / rated hours, where effective hours
                   are the effective (uncorrected, not void) completed usage sessions, clipped
                   to the period, and rated hours are rated_hours_general per year
                   (rated_hours_special for special_categories), pro-rated
idle_rate          share of instruments in scope with no effective hours in the period
outcomes           voucher-backed services (issued or paid invoices with a voucher deduction,
                   issued in the period, on instruments in scope) per instrument in scope
external_share     effective hours of users outside the institution / all effective hours
                   (the client is the session's customer: the booking's paying organisation,
                   else the user's at the time of use)
sme_reach          distinct external science-based SME clients (sme_certified) per 10
                   instruments in scope; clients are counted from effective usage sessions
user_rating        mean stars (1..5) of ratings given in the period on instruments in scope
external_income    (internal + 1.5 x external invoiced amount) / original value, pro-rated to
                   the period; amounts are invoice lines on instruments in scope of invoices
                   issued in the period (issued or paid; credit notes subtract)

Red flag no_listed_instruments: none of the instruments in scope is listed.
"""
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import fmean

from sqlalchemy import Numeric, and_, case, cast, distinct, exists, func, literal, or_, select

from booking.accounts.models import Organisation
from booking.accounts.rules import PROVIDER_KINDS
from booking.billing.models import Invoice, InvoiceLine
from booking.bookings.models import Booking, Rating
from booking.core.db import UTCDateTime
from booking.extensions import db
from booking.instruments.models import Instrument, OpeningHours, Rate
from booking.instruments.rules import COMPLETENESS_FIELDS, completeness_of
from booking.metering.models import UsageSession
from booking.orders.models import Order
from booking.rankings.models import RankingFlag
from booking.rankings.rules import OrgIndicators, Period, freshness, histogram_median

INCOME_STATES = ("issued", "paid")
EXTERNAL_INCOME_FACTOR = 1.5


@dataclass
class InstrumentFacts:
    id: int
    org_id: int
    name: str
    listed: bool
    rated_hours: float
    value_share_fen: float  # original value x share of the year in service during the period
    directory: float | None  # completeness x freshness when listed
    hours: float = 0.0
    external_hours: float = 0.0


@dataclass
class OrgFacts:
    org_id: int
    name: str
    instruments: list[InstrumentFacts] = field(default_factory=list)
    clients: float = 0
    sme_clients: float = 0
    voucher_orders: float = 0
    income_internal_fen: float = 0
    income_external_fen: float = 0
    mean_rating: float | None = None
    median_decision_hours: float | None = None
    median_turnaround_hours: float | None = None


def compute(period: Period, rules: dict,
            progress: Callable[[str], None] | None = None) -> dict[int, OrgIndicators]:
    """Indicators of every provider institution with instruments in scope."""
    flagged = false_data_orgs(period.label)
    return {org_id: facts_to_indicators(facts, org_id in flagged) for org_id, facts in
            collect_facts(period, rules, progress or (lambda step: None)).items()}


def flag_periods(period: str) -> list[str]:
    """The periods whose flags count in `period`'s ranking: its own; a year's quarters (false
    data of a quarter is false data of its year, whose ranking pays the rewards); a quarter's
    year (a flag raised on the year names no quarter)."""
    year = period[:4]
    if len(period) == 4:
        return [period, *(f"{year}Q{quarter}" for quarter in range(1, 5))]
    return [period, year]


def false_data_orgs(period: str) -> set[int]:
    """Institutions with a false_data flag standing for the period (flag_periods)."""
    return set(db.session.scalars(select(RankingFlag.org_id).where(
        RankingFlag.period.in_(flag_periods(period)), RankingFlag.kind == "false_data",
        RankingFlag.cleared_at.is_(None))))


def collect_facts(period: Period, rules: dict,
                  progress: Callable[[str], None]) -> dict[int, OrgFacts]:
    orgs = _scope(period, rules)
    progress("instruments in scope")
    if not orgs:
        return orgs
    _add_usage(orgs, period)
    progress("effective hours and clients")
    threshold = rules["min_original_value_fen"]
    for step, query, names in (
            ("voucher-backed services", _voucher_orders, ("voucher_orders",)),
            ("income", _income, ("income_internal_fen", "income_external_fen")),
            ("ratings", _ratings, ("mean_rating",)),
            ("decision times", _median_decision_hours, ("median_decision_hours",)),
            ("test order turnaround", _median_turnaround_hours, ("median_turnaround_hours",))):
        _add_per_org(orgs, query(period, threshold), names)
        progress(step)
    return orgs


def _add_usage(orgs: dict[int, OrgFacts], period: Period, instrument_ids=None) -> None:
    """Hours per instrument (external ones apart) and the distinct external clients per
    institution, from one pass over the sessions grouped by instrument and client."""
    by_instrument = {i.id: i for org in orgs.values() for i in org.instruments}
    smes = set(db.session.scalars(select(Organisation.id).where(
        Organisation.kind == "enterprise", Organisation.sme_certified.is_(True))))
    clients: dict[int, set[int]] = {org: set() for org in orgs}
    for instrument_id, client_id, hours in _usage_by_client(period, instrument_ids):
        instrument = by_instrument.get(instrument_id)
        if instrument is None:  # not in scope
            continue
        instrument.hours += float(hours)
        if client_id != instrument.org_id:
            instrument.external_hours += float(hours)
            clients[instrument.org_id].add(client_id)
    for org_id, client_ids in clients.items():
        orgs[org_id].clients = len(client_ids)
        orgs[org_id].sme_clients = len(client_ids & smes)


def _add_per_org(orgs: dict[int, OrgFacts], rows, names: tuple[str, ...]) -> None:
    """Numbers come back as int, float or Decimal depending on the database: all floats here."""
    for org_id, *values in rows:
        if org_id in orgs:
            for name, value in zip(names, values, strict=True):
                setattr(orgs[org_id], name, None if value is None else float(value))


def facts_to_indicators(org: OrgFacts, false_data: bool = False) -> OrgIndicators:
    instruments = org.instruments
    count = len(instruments)
    listed = [i for i in instruments if i.listed]
    hours = sum(i.hours for i in instruments)
    value = sum(i.value_share_fen for i in instruments)
    income = org.income_internal_fen + EXTERNAL_INCOME_FACTOR * org.income_external_fen
    values = {
        "open_rate": len(listed) / count,
        "directory_quality": fmean(i.directory for i in listed) if listed else None,
        "decision_speed": org.median_decision_hours,
        "turnaround": org.median_turnaround_hours,
        "effective_hours": fmean(i.hours / i.rated_hours for i in instruments),
        "idle_rate": sum(1 for i in instruments if i.hours <= 0) / count,
        "outcomes": org.voucher_orders / count,
        "external_share": sum(i.external_hours for i in instruments) / hours if hours else None,
        "sme_reach": 10 * org.sme_clients / count,
        "user_rating": org.mean_rating,
        "external_income": income / value if value else None,
    }
    flags = (() if listed else ("no_listed_instruments",)) + (("false_data",) if false_data else ())
    facts = {"instruments": count, "listed": len(listed), "hours": round(hours, 1),
             "external_clients": int(org.clients), "sme_clients": int(org.sme_clients)}
    return OrgIndicators(org.org_id, org.name, values, flags, facts)


# --- scope and directory ---------------------------------------------------------------------
SCOPE_COLUMNS = (Instrument.id, Instrument.organisation_id, Instrument.name_zh,
                 Instrument.category, Instrument.original_value_fen, Instrument.purchase_date,
                 Instrument.created_at, Instrument.is_public, Instrument.status,
                 Instrument.info_updated_at)
# The catalogue's completeness keys, as SQL truth values (booking.instruments.rules).
DIRECTORY_FILLED = {
    "name_en": Instrument.name_en != "", "model": Instrument.model != "",
    "manufacturer": Instrument.manufacturer != "",
    "purchase_date": Instrument.purchase_date.is_not(None),
    "original_value_fen": Instrument.original_value_fen > 0,
    "location": Instrument.location != "",
    "lab": or_(Instrument.lab != "", Instrument.lab_en != ""),
    "contact": and_(Instrument.contact_name != "",
                    or_(Instrument.contact_phone != "", Instrument.contact_email != "")),
    "description": Instrument.description != "", "capabilities": Instrument.capabilities != "",
    "photo": Instrument.photo_path.is_not(None),
    "rates": exists().where(Rate.instrument_id == Instrument.id),
    "hours": exists().where(OpeningHours.instrument_id == Instrument.id),
}
# Their weighted sum, one column instead of thirteen: 20,000 instruments' fields were
# fetched and added up in Python (a quarter of the scope's time).
FILLED_WEIGHT = sum(case((DIRECTORY_FILLED[key], weight), else_=0)
                    for key, weight in COMPLETENESS_FIELDS)


def _scope(period: Period, rules: dict, org_id: int | None = None) -> dict[int, OrgFacts]:
    query = (select(*SCOPE_COLUMNS, Organisation.name_zh.label("org_name"),
                    FILLED_WEIGHT.label("filled_weight"))
             .join(Organisation, Organisation.id == Instrument.organisation_id)
             .where(Organisation.kind.in_(PROVIDER_KINDS),
                    Instrument.original_value_fen >= rules["min_original_value_fen"],
                    Instrument.status != "retired")
             .order_by(Instrument.id))
    if org_id is not None:
        query = query.where(Instrument.organisation_id == org_id)
    result = db.session.execute(query)
    plain = namedtuple("ScopeRow", result.keys())  # a Row's attributes cost 9 times a tuple's
    orgs: dict[int, OrgFacts] = {}
    for row in map(plain._make, result):
        facts = _instrument_facts(row, period, rules)
        if facts is not None:
            orgs.setdefault(facts.org_id, OrgFacts(facts.org_id, row.org_name)).instruments.append(
                facts)
    return orgs


def _instrument_facts(row, period: Period, rules: dict) -> InstrumentFacts | None:
    in_service = row.purchase_date or row.created_at.date()
    active_days = (period.end_day - max(period.first_day, in_service)).days
    if active_days <= 0:
        return None
    year_share = active_days / period.year_days
    special = row.category in rules["special_categories"]
    rated = rules["rated_hours_special" if special else "rated_hours_general"]
    listed = row.is_public and row.status == "active"
    return InstrumentFacts(
        id=row.id, org_id=row.organisation_id, name=row.name_zh, listed=listed,
        rated_hours=rated * year_share, value_share_fen=row.original_value_fen * year_share,
        directory=_directory_score(row, period, rules) if listed else None)


def _directory_score(row, period: Period, rules: dict) -> float:
    spec = rules["indicators"]["directory_quality"]
    age_days = (period.end - row.info_updated_at).total_seconds() / 86400
    return completeness_of(row.filled_weight) / 100 * freshness(
        age_days, spec["fresh_days"], spec["stale_days"])


# --- usage -----------------------------------------------------------------------------------
def _bound(moment):
    return literal(moment, UTCDateTime())


def _hours_between(later, earlier):
    if db.engine.dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 24.0
    return func.date_part("epoch", later - earlier) / 3600.0  # double precision: fast


def _greatest(a, b):
    return func.max(a, b) if db.engine.dialect.name == "sqlite" else func.greatest(a, b)


def _least(a, b):
    return func.min(a, b) if db.engine.dialect.name == "sqlite" else func.least(a, b)


def _sessions_in(period: Period, instrument_ids=None):
    """Effective completed sessions overlapping the period, with the client organisation and
    the hours inside the period; a subquery. Instruments are put in scope by the caller."""
    start, end = _bound(period.start), _bound(period.end)
    clipped = _hours_between(_least(UsageSession.ended_at, end),
                             _greatest(UsageSession.started_at, start))
    query = (select(UsageSession.instrument_id, UsageSession.customer_org_id.label("client_id"),
                    clipped.label("hours"))
             .where(UsageSession.ended_at.is_not(None), UsageSession.started_at < end,
                    UsageSession.ended_at > start, UsageSession.effective_clause()))
    if instrument_ids is not None:
        query = query.where(UsageSession.instrument_id.in_(instrument_ids))
    return query.subquery()


def _usage_by_client(period: Period, instrument_ids=None):
    sessions = _sessions_in(period, instrument_ids)
    # Client first: grouping by instrument first tempts SQLite to walk the sessions through
    # the (instrument, started_at) index, random reads on rows stored in time order; this
    # way it reads the period's range of the started_at index.
    return db.session.execute(
        select(sessions.c.instrument_id, sessions.c.client_id, func.sum(sessions.c.hours))
        .group_by(sessions.c.client_id, sessions.c.instrument_id))


def _large_instruments_of(org_id: int, threshold: int):
    return select(Instrument.id).where(Instrument.organisation_id == org_id,
                                       Instrument.original_value_fen >= threshold)


def external_clients(org_id: int, period: Period, threshold: int):
    """Drill-down: the external organisations that used the institution's large instruments,
    with their hours, most hours first."""
    sessions = _sessions_in(period, _large_instruments_of(org_id, threshold))
    hours = func.sum(sessions.c.hours)
    return db.session.execute(
        select(Organisation, hours.label("hours"))
        .join(sessions, sessions.c.client_id == Organisation.id)
        .where(sessions.c.client_id != org_id)
        .group_by(Organisation.id).order_by(hours.desc())).all()


# --- billing ---------------------------------------------------------------------------------
def _invoices_in(period: Period):
    return and_(Invoice.state.in_(INCOME_STATES), Invoice.issued_at >= _bound(period.start),
                Invoice.issued_at < _bound(period.end))


def _voucher_orders(period: Period, threshold: int):
    on_large = exists().where(InvoiceLine.invoice_id == Invoice.id,
                              InvoiceLine.instrument_id == Instrument.id,
                              Instrument.original_value_fen >= threshold)
    return db.session.execute(
        select(Invoice.provider_id, func.count(distinct(Invoice.id)))
        .where(_invoices_in(period), Invoice.kind == "invoice", Invoice.voucher_fen > 0,
               on_large).group_by(Invoice.provider_id)).all()


def _income(period: Period, threshold: int):
    signed = case((Invoice.kind == "credit_note", -InvoiceLine.amount_fen),
                  else_=InvoiceLine.amount_fen)
    internal = or_(Invoice.customer_class == "internal",
                   Invoice.customer_org_id == Invoice.provider_id)
    return db.session.execute(
        select(Invoice.provider_id, func.sum(case((internal, signed), else_=0)),
               func.sum(case((internal, 0), else_=signed)))
        .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
        .join(Instrument, Instrument.id == InvoiceLine.instrument_id)
        .where(_invoices_in(period), Instrument.original_value_fen >= threshold)
        .group_by(Invoice.provider_id)).all()


# --- service quality -------------------------------------------------------------------------
def _ratings(period: Period, threshold: int):
    return db.session.execute(
        select(Instrument.organisation_id, func.avg(Rating.stars))
        .join(Instrument, Instrument.id == Rating.instrument_id)
        .where(Instrument.original_value_fen >= threshold,
               Rating.created_at >= _bound(period.start), Rating.created_at < _bound(period.end))
        .group_by(Instrument.organisation_id)).all()


def _median_decision_hours(period: Period, threshold: int):
    """Decision times as a histogram per institution (hours rounded to 0.01 h, counted in
    SQL); the median is read off it (rules.histogram_median)."""
    hours = func.round(cast(_hours_between(Booking.decided_at, Booking.created_at), Numeric), 2)
    return _medians(db.session.execute(
        select(Instrument.organisation_id, hours, func.count())
        .join(Instrument, Instrument.id == Booking.instrument_id)
        .where(Instrument.original_value_fen >= threshold,
               Booking.decided_by_id.is_not(None), Booking.decided_at.is_not(None),
               Booking.created_at >= _bound(period.start), Booking.created_at < _bound(period.end))
        .group_by(Instrument.organisation_id, hours)))


def _median_turnaround_hours(period: Period, threshold: int):
    """Test orders' receipt-to-report hours as a histogram per institution, as above."""
    hours = func.round(cast(_hours_between(Order.report_issued_at, Order.received_at), Numeric),
                       2)
    return _medians(db.session.execute(
        select(Instrument.organisation_id, hours, func.count())
        .join(Instrument, Instrument.id == Order.instrument_id)
        .where(Instrument.original_value_fen >= threshold, Order.received_at.is_not(None),
               Order.report_issued_at >= _bound(period.start),
               Order.report_issued_at < _bound(period.end))
        .group_by(Instrument.organisation_id, hours)))


def _medians(rows) -> list[tuple[int, float]]:
    """(org id, median) from (org id, value, count) rows."""
    histograms: dict[int, list[tuple[float, int]]] = {}
    for org_id, value, count in rows:
        histograms.setdefault(org_id, []).append((float(value), count))
    return [(org_id, histogram_median(pairs)) for org_id, pairs in histograms.items()]


def instrument_usage(org_id: int, period: Period, rules: dict) -> list[InstrumentFacts]:
    """Drill-down: one institution's instruments in scope with their hours, most used first."""
    orgs = _scope(period, rules, org_id)
    _add_usage(orgs, period, _large_instruments_of(org_id, rules["min_original_value_fen"]))
    return sorted(orgs[org_id].instruments, key=lambda i: -i.hours) if orgs else []



def has_activity(period: Period) -> bool:
    """Whether anything was booked or used on the platform in the period: a ranking of a
    period without would grade every institution on no data."""
    booked = exists().where(Booking.start_at < period.end, Booking.end_at > period.start)
    used = exists().where(UsageSession.started_at < period.end,
                          or_(UsageSession.ended_at.is_(None),
                              UsageSession.ended_at > period.start))
    return bool(db.session.scalar(select(or_(booked, used))))
