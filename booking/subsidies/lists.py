"""The bureau's long voucher lists: the review queue (pending applications, in order of
arrival) and every voucher, filtered, searched and paged by the database (a count and one
LIMIT/OFFSET read, see api.paging); only the rows of the page shown are checked against the
policy."""
from datetime import datetime
from decimal import Decimal

import marshmallow as ma
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from booking.accounts.models import Organisation
from booking.api.fields import SearchText
from booking.api.paging import PageArgs
from booking.core.clock import local_today
from booking.core.db import id_in
from booking.core.money import fen_to_yuan
from booking.extensions import db
from booking.subsidies.forms import CLASS_LABELS
from booking.subsidies.models import VOUCHER_STATES, Voucher, in_state_as_of
from booking.subsidies.policy import ENTERPRISE_CLASSES
from booking.subsidies.rules import percent
from booking.subsidies.services import check_enterprise, current_policy


class VoucherFilters(PageArgs):
    """A search (enterprise name or voucher number) and the enterprise class."""

    q = SearchText()
    enterprise_class = ma.fields.String(data_key="class",
                                        validate=ma.validate.OneOf(ENTERPRISE_CLASSES))


class VoucherListArgs(VoucherFilters):
    state = ma.fields.String(validate=ma.validate.OneOf(VOUCHER_STATES))
    year = ma.fields.Integer(validate=ma.validate.Range(2000, 2100))


REVIEW_ARGS = VoucherFilters()
VOUCHER_LIST_ARGS = VoucherListArgs()


def _filtered(query: Select, args: dict) -> Select:
    query = query.join(Voucher.enterprise)
    if args.get("enterprise_class"):
        query = query.where(Voucher.enterprise_class == args["enterprise_class"])
    if args.get("q"):
        text = args["q"]
        matches = [Organisation.name_zh.icontains(text, autoescape=True),
                   Organisation.name_en.icontains(text, autoescape=True)]
        number = id_in(text.removeprefix("#"))
        if number is not None:
            matches.append(Voucher.id == number)
        query = query.where(or_(*matches))
    return query


# --- the review queue ----------------------------------------------------------------------------
def review_queue(args: dict) -> Select:
    """This year's undecided applications matching `args`, in order of arrival (first come,
    first served); those of past years have lapsed and are no longer for review."""
    return _filtered(select(Voucher).where(
        Voucher.state == "applied", Voucher.year >= local_today().year).options(
        selectinload(Voucher.policy), selectinload(Voucher.enterprise))
        .order_by(Voucher.created_at, Voucher.id), args)


def with_checks(vouchers: list[Voucher]) -> list[tuple[Voucher, object]]:
    """Each application with how it stands against today's rules and caps (the page's rows
    only: a check reads the enterprise's ledger)."""
    policies = {year: current_policy(year) for year in {v.year for v in vouchers}}
    return [(v, check_enterprise(v.enterprise, v.enterprise_class, v.declaration,
                                 policies[v.year])) for v in vouchers]


# --- every voucher -------------------------------------------------------------------------------
def all_vouchers(args: dict, now: datetime) -> Select:
    """Every voucher and application matching `args` (VoucherListArgs), newest first."""
    query = select(Voucher).options(selectinload(Voucher.policy),
                                    selectinload(Voucher.enterprise),
                                    selectinload(Voucher.decided_by))
    if args.get("state"):
        query = query.where(in_state_as_of(args["state"], now))
    if args.get("year"):
        query = query.where(Voucher.year == args["year"])
    return _filtered(query, args).order_by(Voucher.created_at.desc(), Voucher.id.desc())



STATE_LABELS = {"applied": _l("under review"), "issued": _l("issued"),
                "exhausted": _l("used up"), "expired": _l("expired"),
                "rejected": _l("rejected")}
EXPORT_LIMIT = 50_000  # rows in one export: every voucher of a city's several years
EXPORT_HEADER = (
    _l("Number"), _l("Enterprise"), _l("Credit code"), _l("Class"), _l("Share paid (%)"),
    _l("Year"), _l("Applied for (CNY)"), _l("Face value (CNY)"), _l("Used (CNY)"),
    _l("Remaining (CNY)"), _l("Policy"), _l("Status"), _l("Applied at"), _l("Decided at"),
    _l("Decided by"), _l("Reason"), _l("Valid until"))


def export_header() -> list[str]:
    return [str(label) for label in EXPORT_HEADER]


def export_rows(query: Select, now: datetime):
    """The vouchers of `query` (all_vouchers) as spreadsheet rows, in the reader's language;
    read in batches, so a long list does not sit in memory as ORM objects."""
    locale = str(get_locale() or "zh_CN")
    for voucher in db.session.scalars(query.limit(EXPORT_LIMIT).execution_options(
            yield_per=500)):
        issued = bool(voucher.face_value_fen)
        state = voucher.state_at(now)
        yield (voucher.id, voucher.enterprise.display_name(locale), voucher.enterprise.credit_code,
               str(CLASS_LABELS.get(voucher.enterprise_class, voucher.enterprise_class)),
               Decimal(percent(voucher.rate)), voucher.year,
               fen_to_yuan(voucher.requested_fen),
               fen_to_yuan(voucher.face_value_fen) if issued else None,
               fen_to_yuan(voucher.used_fen) if issued else None,
               fen_to_yuan(voucher.remaining_fen) if issued else None,
               voucher.policy.label, str(STATE_LABELS.get(state, state)), voucher.created_at,
               voucher.decided_at, voucher.decided_by.name if voucher.decided_by else "",
               voucher.decision_reason or "", voucher.last_valid_day)
