"""Read side of the catalogue: the public directory (search, filters, sorting, pages), the
export rows, and completeness/freshness for the lab console and the bureau's quality view.
Every list is built in a bounded number of queries (no per-row loading)."""
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, exists, func, or_, select
from sqlalchemy.orm import contains_eager

from booking.accounts.models import Organisation
from booking.accounts.rules import city_key
from booking.core.db import MAX_ID
from booking.core.names import in_language
from booking.extensions import db
from booking.instruments import rules, search_index
from booking.instruments.models import Blackout, Instrument, OpeningHours, Rate
from booking.instruments.search import query_tokens

SORTS = ("relevance", "name", "value", "price", "updated")
PER_PAGE = 20


@dataclass
class DirectoryQuery:
    q: str = ""
    category: str = ""
    national_class: str = ""  # a national class code: this class and the classes under it
    org_id: int | None = None
    city: str = ""
    mode: str = ""
    price_min_fen: int | None = None
    price_max_fen: int | None = None
    available_week: bool = False
    sort: str = "relevance"
    page: int = 1
    per_page: int = PER_PAGE

    def __post_init__(self):
        self.city = city_key(self.city)  # 大连, 大连市 and Dalian: one filter, one choice


@dataclass
class Viewer:
    """Whose prices to show: own organisation's instruments at the internal rate, others at
    `outside_class`. Anonymous visitors see enterprise prices."""
    organisation_id: int | None = None
    outside_class: str = "enterprise"

    @classmethod
    def of(cls, user) -> "Viewer":
        if not getattr(user, "is_authenticated", False):
            return cls()
        organisation = user.organisation
        # The class this user has at any other organisation (owner id 0 matches nobody).
        return cls(organisation.id, rules.customer_class(0, organisation.id, organisation.kind))

    def class_for(self, owner_org_id: int) -> str:
        return "internal" if owner_org_id == self.organisation_id else self.outside_class


@dataclass
class Page:
    rows: list = field(default_factory=list)  # (Instrument, hourly_fen or None)
    closed: set = field(default_factory=set)  # ids of those with no opening hours (not bookable)
    total: int = 0
    page: int = 1
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def rate_expr(customer_class: str, now: datetime):
    """The hourly rate in force now for a class (correlated to Instrument)."""
    return (select(Rate.hourly_fen)
            .where(Rate.instrument_id == Instrument.id, Rate.customer_class == customer_class,
                   Rate.valid_from <= now)
            .order_by(Rate.valid_from.desc()).limit(1)
            .correlate(Instrument).scalar_subquery())


def _price_expr(viewer: Viewer, now: datetime):
    outside = rate_expr(viewer.outside_class, now)
    if viewer.organisation_id is None:
        return outside
    return case((Instrument.organisation_id == viewer.organisation_id,
                 rate_expr("internal", now)), else_=outside)


def listed():
    return (Instrument.is_public.is_(True)) & (Instrument.status != "retired")


def _available_week(now: datetime):
    week_end = now + timedelta(days=7)
    has_hours = exists().where(OpeningHours.instrument_id == Instrument.id)
    blacked_out = exists().where(Blackout.instrument_id == Instrument.id,
                                 Blackout.start_at <= now, Blackout.end_at >= week_end)
    return (Instrument.status == "active") & has_hours & ~blacked_out


def _filters(query: DirectoryQuery, price, now: datetime) -> list:
    conditions = [listed()]
    tokens = query_tokens(query.q)
    if tokens:
        conditions.append(Instrument.id.in_(search_index.matching_ids(tokens)))
    if query.category:
        conditions.append(Instrument.category == query.category)
    if query.national_class:
        conditions.append(Instrument.national_class.startswith(query.national_class,
                                                               autoescape=True))
    if query.org_id:
        conditions.append(Instrument.organisation_id == query.org_id)
    if query.city:
        conditions.append(Organisation.city.in_((query.city, f"{query.city}市")))
    if query.mode in rules.SERVICE_MODES:
        conditions.append(getattr(Instrument, f"allows_{query.mode}").is_(True))
    if query.price_min_fen is not None:
        conditions.append(price >= query.price_min_fen)
    if query.price_max_fen is not None:
        conditions.append(price <= query.price_max_fen)
    if query.available_week:
        conditions.append(_available_week(now))
    return conditions


def _by_relevance(statement, query: DirectoryQuery):
    """Exact name (or model) first, then the full-text score."""
    hits = search_index.scores(query_tokens(query.q))
    text = query.q.strip().lower()
    exact = or_(func.lower(Instrument.name_zh) == text, func.lower(Instrument.name_en) == text,
                func.lower(Instrument.model) == text)
    return (statement.join(hits, hits.c.instrument_id == Instrument.id)
            .order_by(case((exact, 0), else_=1), hits.c.score.desc(), Instrument.id))


def _ordered(statement, query: DirectoryQuery, price):
    if query.sort == "name":
        return statement.order_by(Instrument.name_zh, Instrument.id)
    if query.sort == "value":
        return statement.order_by(Instrument.original_value_fen.desc(), Instrument.id)
    if query.sort == "price":
        return statement.order_by(price.is_(None), price, Instrument.id)
    if query.sort == "relevance" and query_tokens(query.q):
        return _by_relevance(statement, query)
    return statement.order_by(Instrument.info_updated_at.desc(), Instrument.id)


def search(query: DirectoryQuery, viewer: Viewer, now: datetime) -> Page:
    """Listed instruments matching the query, one page of (instrument, viewer's hourly rate)."""
    price = _price_expr(viewer, now)
    statement = (select(Instrument, price.label("hourly_fen")).join(Instrument.organisation)
                 .where(*_filters(query, price, now)))
    total = db.session.scalar(select(func.count()).select_from(
        statement.with_only_columns(Instrument.id).subquery()))
    statement = _ordered(statement.options(contains_eager(Instrument.organisation)), query,
                         price)
    if query.per_page:
        statement = statement.limit(query.per_page).offset((query.page - 1) * query.per_page)
    rows = [(instrument, hourly) for instrument, hourly in db.session.execute(statement)]
    ids = {instrument.id for instrument, _ in rows}
    open_ = set(db.session.scalars(select(OpeningHours.instrument_id).where(
        OpeningHours.instrument_id.in_(ids)).distinct())) if ids else set()
    return Page(rows=rows, total=total, page=query.page, per_page=query.per_page or total or 1,
                closed=ids - open_)


SUGGESTIONS = 10


def suggestions(text: str) -> list:
    """The listed instruments a typed name most likely means, best first (an instrument
    picker's list): rows of id, name_zh, name_en and the institution's name_zh, name_en."""
    query = DirectoryQuery(q=text.strip()[:100])
    tokens = query_tokens(query.q)
    if not tokens:
        return []
    hits = search_index.scores(tokens)
    typed = query.q.lower()
    exact = or_(Instrument.name_zh == query.q, func.lower(Instrument.name_en) == typed)
    named = or_(Instrument.name_zh.contains(query.q, autoescape=True),
                func.lower(Instrument.name_en).contains(typed, autoescape=True))
    statement = (select(Instrument.id, Instrument.name_zh, Instrument.name_en,
                        Organisation.name_zh.label("org_zh"),
                        Organisation.name_en.label("org_en"))
                 .join(Instrument.organisation).join(hits, hits.c.instrument_id == Instrument.id)
                 .where(listed())
                 # the name as typed, then names holding it, then what the index found
                 .order_by(case((exact, 0), (named, 1), else_=2), hits.c.score.desc(),
                           Instrument.id))
    return db.session.execute(statement.limit(SUGGESTIONS)).all()


def filter_choices(locale: str) -> tuple[list[tuple[int, str]], list[str]]:
    """(id, name) of the institutions that list instruments, and their cities."""
    rows = db.session.execute(
        select(Organisation.id, Organisation.name_zh, Organisation.name_en, Organisation.city)
        .where(exists().where(Instrument.organisation_id == Organisation.id, listed()))
        .order_by(Organisation.city, Organisation.name_zh)).all()
    names = [(r.id, in_language(r.name_zh, r.name_en, locale)) for r in rows]
    return names, sorted({city_key(r.city) for r in rows if r.city.strip()})


def export_rows(query: DirectoryQuery, now: datetime) -> list[dict]:
    """Every matching listed instrument with its current rate per class (one query)."""
    rates = [rate_expr(c, now).label(c) for c in rules.CUSTOMER_CLASSES]
    statement = (select(Instrument, *rates).join(Instrument.organisation)
                 .options(contains_eager(Instrument.organisation))
                 .where(*_filters(query, rate_expr("enterprise", now), now))
                 .order_by(Organisation.name_zh, Instrument.name_zh, Instrument.id))
    return [{"instrument": row[0], **dict(zip(rules.CUSTOMER_CLASSES, row[1:], strict=True))}
            for row in db.session.execute(statement)]


# --- completeness and freshness ------------------------------------------------------------

@dataclass
class Quality:
    instrument: Instrument
    score: int
    missing: list[str]
    stale: bool


def _has_rates():
    return exists().where(Rate.instrument_id == Instrument.id).label("has_rates")


def _has_hours():
    return exists().where(OpeningHours.instrument_id == Instrument.id).label("has_hours")


def completeness_values(instrument: Instrument, has_rates: bool, has_hours: bool) -> dict:
    values = {key: getattr(instrument, key, None) for key, _w in rules.COMPLETENESS_FIELDS}
    values.update(lab=instrument.lab or instrument.lab_en,
                  contact=instrument.contact_name and (instrument.contact_phone or
                                                       instrument.contact_email),
                  photo=instrument.photo_path, rates=has_rates, hours=has_hours)
    return values


def quality_rows(*conditions, now: datetime) -> list[Quality]:
    statement = (select(Instrument, _has_rates(), _has_hours()).join(Instrument.organisation)
                 .options(contains_eager(Instrument.organisation)).where(*conditions)
                 .order_by(Organisation.name_zh, Instrument.name_zh, Instrument.id))
    result = []
    for instrument, has_rates, has_hours in db.session.execute(statement):
        values = completeness_values(instrument, has_rates, has_hours)
        result.append(Quality(instrument, rules.completeness(values),
                              rules.missing_fields(values),
                              rules.is_stale(instrument.info_updated_at, now)))
    return result


def console_rows(organisation_ids: set[int], now: datetime) -> list[Quality]:
    return quality_rows(Instrument.organisation_id.in_(organisation_ids), now=now)


@dataclass
class InstitutionQuality:
    organisation: Organisation
    instruments: int = 0
    mean_score: float = 0
    stale: int = 0


def institution_quality(rows: list[Quality]) -> list[InstitutionQuality]:
    by_org: dict[int, list[Quality]] = {}
    for row in rows:
        by_org.setdefault(row.instrument.organisation_id, []).append(row)
    summary = [InstitutionQuality(group[0].instrument.organisation, len(group),
                                  round(sum(r.score for r in group) / len(group), 1),
                                  sum(r.stale for r in group))
               for group in by_org.values()]
    return sorted(summary, key=lambda s: (s.mean_score, -s.stale))


def _int_arg(args, name: str) -> int | None:
    value = (args.get(name) or "").strip()
    # an id has at most 10 digits: int() of thousands of them is refused (or slow)
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 10 and \
        int(value) <= MAX_ID else None


def _fen_arg(args, name: str) -> int | None:
    yuan = _int_arg(args, name)
    return None if yuan is None else yuan * 100


def _class_arg(value) -> str:
    """A national class code from the arguments, or "" (unknown codes are ignored)."""
    from booking.instruments import classification

    value = (value or "").strip()
    return value if value in classification.classes() else ""


def query_from_args(args, per_page: int = PER_PAGE) -> DirectoryQuery:
    """A DirectoryQuery from request arguments; malformed values are ignored, not errors.
    Prices are whole CNY in the arguments (price_min, price_max)."""
    sort = args.get("sort", "relevance")
    low, high = _fen_arg(args, "price_min"), _fen_arg(args, "price_max")
    if low is not None and high is not None and low > high:  # typed the wrong way round
        low, high = high, low
    return DirectoryQuery(
        q=(args.get("q") or "").strip()[:100], category=args.get("category", ""),
        national_class=_class_arg(args.get("class")),
        org_id=_int_arg(args, "org"), city=(args.get("city") or "")[:64],
        mode=args.get("mode", ""), price_min_fen=low, price_max_fen=high,
        available_week=args.get("week") == "1",
        sort=sort if sort in SORTS else "relevance",
        page=max(1, min(_int_arg(args, "page") or 1, 10_000)), per_page=per_page)
