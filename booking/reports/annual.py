"""The annual per-instrument report the national platform (重大科研基础设施和大型科研仪器国家网络
管理平台) asks of every institution: each large instrument's identity, how it is shared and
what it did in the year. One organisation's, or a region's (all of it, or a region code).

Scope: instruments of 500,000 CNY original value or more (the platform's threshold for large
instruments, as booking.instruments.rules.LARGE_INSTRUMENT_MIN_FEN), not retired.
Effective hours are counted exactly as the rankings count them (one definition:
booking.rankings.indicators._sessions_in, effective completed sessions clipped to the year);
external hours and users are those of clients other than the owner; service income is the
invoiced amount (issued or paid invoices of the year, credit notes subtracted); training is the
qualifications granted in the year."""
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, func, or_, select

from booking.accounts.models import Organisation
from booking.billing.models import Invoice, InvoiceLine
from booking.core.clock import Period
from booking.core.tables import yuan
from booking.extensions import db
from booking.instruments import classification
from booking.instruments.models import Instrument, Qualification, Rate
from booking.instruments.rules import LARGE_INSTRUMENT_MIN_FEN, effective_rates
from booking.rankings.indicators import _sessions_in

SHARING = {(True, True): "自主上机/送样", (True, False): "自主上机", (False, True): "送样",
           (False, False): "不共享"}
HEADER = ("资产编号", "仪器名称", "英文名称", "型号", "生产厂家", "分类代码", "分类名称", "原值（元）",
          "购置日期", "所属单位", "统一社会信用代码", "所在地区", "所在实验室", "存放地点", "共享方式",
          "是否对外开放", "收费标准（元/小时）", "有效工作机时", "对外服务机时", "服务外单位用户数",
          "服务收入（元）", "培训人次")


@dataclass
class Scope:
    organisation_id: int | None = None
    region_code: str = ""


def _instruments(period: Period, scope: Scope) -> list[Instrument]:
    """The large instruments in service in the year: not retired, not bought after it."""
    query = (select(Instrument).join(Organisation, Organisation.id == Instrument.organisation_id)
             .where(Instrument.original_value_fen >= LARGE_INSTRUMENT_MIN_FEN,
                    Instrument.status != "retired",
                    or_(Instrument.purchase_date.is_(None),
                        Instrument.purchase_date < period.end_day))
             .order_by(Organisation.name_zh, Instrument.asset_number, Instrument.id))
    if scope.organisation_id:
        query = query.where(Instrument.organisation_id == scope.organisation_id)
    if scope.region_code:
        query = query.where(Organisation.region_code.startswith(scope.region_code,
                                                                autoescape=True))
    return list(db.session.scalars(query))


def _usage(period: Period, ids) -> tuple[dict, dict, dict]:
    """instrument id -> effective hours, external hours, distinct external clients."""
    sessions = _sessions_in(period, ids)
    rows = db.session.execute(
        select(sessions.c.instrument_id, sessions.c.client_id, func.sum(sessions.c.hours),
               Instrument.organisation_id)
        .join(Instrument, Instrument.id == sessions.c.instrument_id)
        .group_by(sessions.c.instrument_id, sessions.c.client_id, Instrument.organisation_id))
    hours, external, clients = defaultdict(float), defaultdict(float), defaultdict(set)
    for instrument_id, client_id, total, owner_id in rows:
        hours[instrument_id] += total or 0
        if client_id != owner_id:
            external[instrument_id] += total or 0
            clients[instrument_id].add(client_id)
    return hours, external, {k: len(v) for k, v in clients.items()}


def _income(period: Period, ids) -> dict[int, int]:
    signed = case((Invoice.kind == "credit_note", -InvoiceLine.amount_fen),
                  else_=InvoiceLine.amount_fen)
    return dict(db.session.execute(
        select(InvoiceLine.instrument_id, func.sum(signed))
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(InvoiceLine.instrument_id.in_(ids), Invoice.state.in_(("issued", "paid")),
               Invoice.issued_at >= period.start, Invoice.issued_at < period.end)
        .group_by(InvoiceLine.instrument_id)).all())


def _training(period: Period, ids) -> dict[int, int]:
    return dict(db.session.execute(
        select(Qualification.instrument_id, func.count())
        .where(Qualification.instrument_id.in_(ids), Qualification.granted_at >= period.start,
               Qualification.granted_at < period.end)
        .group_by(Qualification.instrument_id)).all())


def _fees(period: Period, ids) -> dict[int, int]:
    """The enterprise rate in force at the year's end (what an outside user pays an hour)."""
    rates = defaultdict(list)
    for rate in db.session.scalars(select(Rate).where(Rate.instrument_id.in_(ids))):
        rates[rate.instrument_id].append(rate)
    fees = {}
    for instrument_id, found in rates.items():
        # the last moment of the year: its end is the next year's first, whose rates it is not
        current = effective_rates(found, period.end - timedelta(microseconds=1))
        rate = current.get("enterprise") or current.get("academic") or current.get("internal")
        if rate is not None:
            fees[instrument_id] = rate.hourly_fen
    return fees


def rows(period: Period, scope: Scope) -> list[tuple]:
    instruments = _instruments(period, scope)
    ids = select(Instrument.id).where(Instrument.id.in_([i.id for i in instruments])) \
        if instruments else select(Instrument.id).where(False)
    hours, external, clients = _usage(period, ids)
    income, training, fees = _income(period, ids), _training(period, ids), _fees(period, ids)
    table = []
    for i in instruments:
        org = i.organisation
        table.append((
            i.asset_number or "", i.name_zh, i.name_en, i.model, i.manufacturer,
            i.national_class or "", classification.label(i.national_class),
            yuan(i.original_value_fen), i.purchase_date.isoformat() if i.purchase_date else "",
            org.name_zh, org.credit_code, org.region_code,
            i.display_lab(), i.location, SHARING[(i.allows_self_operated, i.allows_staff_operated)],
            "是" if i.is_listed else "否",
            yuan(fees[i.id]) if i.id in fees else None,
            round(hours.get(i.id, 0.0), 1), round(external.get(i.id, 0.0), 1),
            clients.get(i.id, 0), yuan(income.get(i.id, 0) or 0), training.get(i.id, 0)))
    return table


def file_name(period: Period, scope: Scope) -> str:
    where = f"org{scope.organisation_id}" if scope.organisation_id else \
        f"region{scope.region_code}" if scope.region_code else "all"
    return f"nrii-{period.label}-{where}"
