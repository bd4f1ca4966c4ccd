"""Report pages: the bureau's bulletin (page with charts, PDF) and the national platform's
annual report (XLSX, CSV), which lab managers also download for their own organisation."""
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from booking.accounts.models import Organisation
from booking.accounts.rules import PROVIDER_KINDS
from booking.core import tables
from booking.core.clock import PeriodError, local_today, month_period, now_utc, parse_period
from booking.core.permissions import require
from booking.core.web import current_locale, query_int
from booking.extensions import db
from booking.reports import annual, bulletin, pdf

bp = Blueprint("reports", __name__, url_prefix="/reports")


def can_read_bulletin(user) -> bool:
    return user.is_authenticated and user.is_bureau


def can_read_annual(user, organisation_id: int | None) -> bool:
    """The bureau reads any scope; a lab manager their organisation's."""
    if not user.is_authenticated:
        return False
    return user.is_bureau or (organisation_id is not None and
                              organisation_id in user.managed_organisation_ids())


def _last_month() -> str:
    """A bulletin's default: the last whole month (one under way would compare a few days
    with a whole month)."""
    return month_period(*local_today().timetuple()[:2]).previous().label


class _Elsewhere(Exception):
    """A period in the address that is no period, or has not begun: the bulletin of last
    month instead, with a word on why (the address is typed or edited by hand)."""


def _period():
    text = request.args.get("period") or _last_month()
    try:
        period = parse_period(text, "month", "quarter")
    except PeriodError:
        flash(_("The period must be YYYY-MM or YYYYQn: here is last month's bulletin."),
              "warning")
        raise _Elsewhere from None
    if period.start > now_utc():
        flash(_("%(period)s has not begun: here is last month's bulletin.",
                period=period.label), "warning")
        raise _Elsewhere
    return period


@bp.errorhandler(_Elsewhere)
def _to_last_month(_error):
    return redirect(url_for("reports.bulletin_page"))


def _bulletin_title(period) -> str:
    kind = _("Monthly bulletin") if period.kind == "month" else _("Quarterly bulletin")
    return _("%(kind)s of instrument sharing, %(period)s", kind=kind, period=period.label)


@bp.route("/")
@login_required
def index():
    require(current_user.is_bureau or bool(current_user.managed_organisation_ids()))
    query = select(Organisation).where(Organisation.kind.in_(PROVIDER_KINDS)).order_by(
        Organisation.name_zh)
    if not current_user.is_bureau:
        query = query.where(Organisation.id.in_(current_user.managed_organisation_ids()))
    today = local_today()
    return render_template("reports/index.html", organisations=db.session.scalars(query).all(),
                           year=today.year, month=_last_month())


@bp.route("/bulletin")
@login_required
def bulletin_page():
    require(can_read_bulletin(current_user))
    period = _period()
    lines, total = bulletin.bulletin(period, current_locale())
    charts = {"names": [line.name for line in lines],
              "hours": [line.now.hours for line in lines],
              "hours_before": [line.before.hours for line in lines],
              "external": [round((line.now.external_share or 0) * 100, 1) for line in lines],
              "bookings": [line.now.bookings for line in lines]}
    return render_template("reports/bulletin.html", period=period, previous=period.previous(),
                           lines=lines, total=total, charts=charts,
                           title=_bulletin_title(period), under_way=period.end > now_utc())


@bp.route("/bulletin.pdf")
@login_required
def bulletin_pdf():
    require(can_read_bulletin(current_user))
    period = _period()
    lines, total = bulletin.bulletin(period, current_locale())
    body = pdf.bulletin_pdf(_bulletin_title(period), period.label, period.previous().label,
                            lines, total, under_way=period.end > now_utc())
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="bulletin-{period.label}.pdf"'})


@bp.route("/nrii.<any(csv, xlsx):fmt>")
@login_required
def nrii(fmt):
    try:
        period = parse_period(request.args.get("year") or str(local_today().year), "year")
    except PeriodError:
        period = None
    if period is None or period.start > now_utc():
        flash(_("The report covers a year up to this one, written YYYY."), "warning")
        return redirect(url_for("reports.index"))
    org_id = query_int("org", None, 1)
    region = (request.args.get("region") or "").strip()
    if region and not (region.isdigit() and len(region) <= 6):
        abort(400, _("Region code must be 2 to 6 digits, e.g. 2102 for Dalian."))
    require(can_read_annual(current_user, org_id))
    if org_id is not None and db.session.get(Organisation, org_id) is None:
        abort(404)
    scope = annual.Scope(organisation_id=org_id, region_code=region)
    return tables.download(fmt, annual.file_name(period, scope), annual.HEADER,
                           annual.rows(period, scope), freeze="C2", sheet=period.label)
