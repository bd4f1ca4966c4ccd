"""The bureau's long voucher lists: the review queue (pending applications, in order of
arrival) and every voucher, filtered, searched and paged by the database (a count and one
LIMIT/OFFSET read, see api.paging); only the rows of the page shown are checked against the
policy."""
from datetime import datetime

import marshmallow as ma
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from booking.accounts.models import Organisation
from booking.api.fields import SearchText
from booking.api.paging import PageArgs
from booking.core.clock import local_today
from booking.core.db import id_in
from booking.subsidies.models import VOUCHER_STATES, Voucher, in_state_as_of
from booking.subsidies.policy import ENTERPRISE_CLASSES
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
                                    selectinload(Voucher.enterprise))
    if args.get("state"):
        query = query.where(in_state_as_of(args["state"], now))
    if args.get("year"):
        query = query.where(Voucher.year == args["year"])
    return _filtered(query, args).order_by(Voucher.created_at.desc(), Voucher.id.desc())

