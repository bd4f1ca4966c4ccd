"""Rankings: public page, bureau dashboard, scorecards, policy weights, exports, ratings."""
from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from booking.accounts.models import Organisation
from booking.core import tables
from booking.core.clock import last_complete_quarter, local_today
from booking.core.money import fen_to_yuan, format_cny, yuan_to_fen
from booking.core.notifications import commit
from booking.core.permissions import require
from booking.core.web import PostForm, attempt, current_locale, flash_form_errors
from booking.extensions import db
from booking.instruments.models import Instrument
from booking.rankings import export, indicators, services
from booking.rankings.forms import (
    AREA_LABELS,
    FLAG_LABELS,
    GRADE_LABELS,
    HOUR_INDICATORS,
    INDICATOR_LABELS,
    INDICATOR_UNITS,
    PERCENT_INDICATORS,
    ClearFlagForm,
    ComputeForm,
    FlagForm,
    RewardPoolForm,
    policy_form,
)
from booking.rankings.models import RankingFlag, RankingSnapshot
from booking.rankings.policy import INDICATORS, completed, target_key
from booking.rankings.rules import largest_gaps, parse_period, reward_cap_fen

bp = Blueprint("rankings", __name__)

SORT_KEYS = ("rank", "score", *INDICATORS)


@bp.context_processor
def _labels():
    return {"indicator_labels": INDICATOR_LABELS, "indicator_units": INDICATOR_UNITS,
            "grade_labels": GRADE_LABELS, "area_labels": AREA_LABELS,
            "percent_indicators": PERCENT_INDICATORS, "hour_indicators": HOUR_INDICATORS,
            "flag_labels": FLAG_LABELS, "indicators": INDICATORS, "target_key": target_key}


def _snapshot_or_404(period: str):
    snapshot = services.get_snapshot(period.upper())
    if snapshot is None or not snapshot.can_view(current_user):
        abort(404)
    return snapshot


def _trend(snapshot) -> dict[int, dict]:
    previous = services.previous_snapshot(snapshot)
    if previous is None or (snapshot.is_published and not previous.is_published):
        return {}
    before = {row["org_id"]: row for row in previous.rows}
    return {row["org_id"]: {"score": round(row["score"] - before[row["org_id"]]["score"], 2),
                            "rank": before[row["org_id"]]["rank"] - row["rank"],
                            "period": previous.period}
            for row in snapshot.rows if row["org_id"] in before}


def _org_names(snapshot) -> dict[int, str]:
    """Each ranked institution's name in the reader's language: a snapshot keeps the Chinese
    name each had when it was computed, which is what a reader of Chinese sees."""
    if snapshot is None:
        return {}
    names = {row["org_id"]: row["org_name"] for row in snapshot.rows}
    if current_locale() == "en":
        names.update(db.session.execute(select(Organisation.id, Organisation.name_en).where(
            Organisation.id.in_(list(names)), Organisation.name_en != "")).all())
    return names


# --- public ----------------------------------------------------------------------------------
@bp.route("/rankings")
def public():
    published = [s for s in services.snapshots() if s.is_published]
    wanted = request.args.get("period", "").upper()
    snapshot = next((s for s in published if s.period == wanted), None) or \
        (published[0] if published else None)
    return render_template("rankings/public.html", snapshot=snapshot, published=published,
                           trend=_trend(snapshot) if snapshot else {},
                           org_names=_org_names(snapshot),
                           reward_note=_reward_note(snapshot) if snapshot else None)


def _reward_note(snapshot) -> str | None:
    """How the pool was split, in words: who shares it, by what, and the cap."""
    if not snapshot.reward_pool_fen:
        return None
    rewards = snapshot.rules["rewards"]
    note = _("Reward pool %(pool)s: institutions graded %(grades)s share it in proportion to "
             "%(basis)s, each at most %(share)s%% of the pool (%(cap)s).",
             pool=format_cny(snapshot.reward_pool_fen),
             grades=_(", ").join(str(GRADE_LABELS[g]) for g in rewards["eligible_grades"]),
             basis=_("grade weight × score") if rewards.get("within_grade", "score") == "score"
             else _("grade weight"),
             share=format_decimal(Decimal(str(rewards["max_share_per_institution"])) * 100),
             cap=format_cny(reward_cap_fen(snapshot.reward_pool_fen, snapshot.rules)))
    rest = format_cny(snapshot.reward_remainder_fen)
    if not snapshot.reward_remainder_fen:
        then = _("What a cap cuts off goes to the others in the same proportion.")
    elif any(row.get("reward_fen") for row in snapshot.rows):
        then = _("Every one of them reached the cap: %(rest)s is not awarded.", rest=rest)
    else:
        then = _("None was graded so: %(rest)s is not awarded.", rest=rest)
    gap = "" if current_locale() == "zh_CN" else " "  # Chinese sentences run on
    return note + gap + then


@bp.route("/rankings/<period>/export.<fmt>")
def export_snapshot(period, fmt):
    snapshot = _snapshot_or_404(period)
    if fmt not in tables.FORMATS:
        abort(404)
    header, *rows = export.table(snapshot)
    return tables.download(fmt, f"ranking-{snapshot.period}", header, rows, freeze="D2",
                           sheet=snapshot.period)


# --- bureau dashboard ------------------------------------------------------------------------
@bp.route("/bureau/rankings")
@login_required
def dashboard():
    require(RankingSnapshot.can_manage(current_user))
    all_snapshots = services.snapshots()
    wanted = request.args.get("period", "").upper()
    snapshot = next((s for s in all_snapshots if s.period == wanted), None) or \
        (all_snapshots[0] if all_snapshots else None)
    if wanted and snapshot is not None and snapshot.period != wanted:  # a typed address
        flash(_("No ranking of %(wanted)s is computed: %(shown)s is shown. Compute one below.",
                wanted=wanted[:12], shown=snapshot.period), "info")
    sort = request.args.get("sort", "rank")
    sort = sort if sort in SORT_KEYS else "rank"
    compute_form = ComputeForm(period=snapshot.period if snapshot else
                               last_complete_quarter(local_today()).label)
    pool_form = RewardPoolForm(amount_yuan=fen_to_yuan(snapshot.reward_pool_fen) if snapshot else 0)
    period = compute_form.period.data
    names = _org_names(snapshot)
    return render_template("rankings/dashboard.html", snapshot=snapshot,
                           flags=services.flags_counting_for(period), clear_form=ClearFlagForm(),
                           flag_form=_flag_form(FlagForm(formdata=None, period=period)),
                           snapshots=all_snapshots, rows=_sorted_rows(snapshot, sort),
                           sort=sort, trend=_trend(snapshot) if snapshot else {},
                           compute_form=compute_form, pool_form=pool_form, form=PostForm(),
                           charts=_chart_data(snapshot, names) if snapshot else None,
                           org_names=names, rewarded=snapshot is not None and
                           services.rewarded_period(snapshot.period),
                           flags_changed=snapshot is not None and not snapshot.is_published
                           and services.flags_changed_since(snapshot),
                           no_data=snapshot is not None and
                           not snapshot.is_published and not indicators.has_activity(
                               services.get_period(snapshot.period)))


def _flag_form(form: FlagForm) -> FlagForm:
    form.org_id.choices = [(o.id, o.display_name(current_locale()))
                           for o in services.ranked_organisations()]
    return form


@bp.route("/bureau/rankings/flags", methods=["POST"])
@login_required
def raise_flag():
    require(RankingSnapshot.can_manage(current_user))
    form = _flag_form(FlagForm())
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("rankings.dashboard"))
    organisation = db.get_or_404(Organisation, form.org_id.data)
    attempt(lambda: services.raise_false_data(organisation, form.period.data, form.reason.data,
                                              current_user),
            _("Flag raised: compute the ranking of %(period)s again to apply it.",
              period=form.period.data), "warning")
    return redirect(url_for("rankings.dashboard", period=form.period.data))


@bp.route("/bureau/rankings/flags/<int:flag_id>/clear", methods=["POST"])
@login_required
def clear_flag(flag_id):
    require(RankingSnapshot.can_manage(current_user))
    flag = db.get_or_404(RankingFlag, flag_id)
    form = ClearFlagForm()
    if not form.validate_on_submit():
        flash(_("Give the reason for clearing the flag."), "danger")
    else:
        attempt(lambda: services.clear_flag(flag, form.reason.data, current_user),
                _("Flag cleared: compute the ranking of %(period)s again to apply it.",
                  period=flag.period))
    return redirect(url_for("rankings.dashboard", period=flag.period))


def _sorted_rows(snapshot, sort: str) -> list[dict]:
    if snapshot is None:
        return []
    if sort == "rank":
        return snapshot.rows
    if sort == "score":
        return sorted(snapshot.rows, key=lambda row: -row["score"])
    return sorted(snapshot.rows, key=lambda row: (row["indicators"].get(sort) is None,
                                                  -(row["indicators"].get(sort) or 0)))


def _chart_data(snapshot, org_names: dict[int, str]) -> dict:
    bins = [0] * 10
    for row in snapshot.rows:
        bins[min(int(row["score"] // 10), 9)] += 1
    return {"bins": bins, "labels": [f"{10 * i}–{10 * i + 10}" for i in range(10)],
            "names": [org_names[row["org_id"]] for row in snapshot.rows],
            "utilisation": [round(100 * (row["indicators"]["effective_hours"] or 0), 1)
                            for row in snapshot.rows],
            "external": [round(100 * (row["indicators"]["external_share"] or 0), 1)
                         for row in snapshot.rows]}


@bp.route("/bureau/rankings/compute", methods=["POST"])
@login_required
def compute():
    require(RankingSnapshot.can_manage(current_user))
    form = ComputeForm()
    if not form.validate_on_submit():
        for error in form.period.errors:
            flash(str(error), "danger")
        return redirect(url_for("rankings.dashboard"))
    try:
        snapshot = services.compute_snapshot(form.period.data, current_user)
    except services.RankingError as exc:
        flash(exc.text(), "danger")
        return redirect(url_for("rankings.dashboard", period=form.period.data))
    commit()
    flash(_("Ranking of %(period)s computed: %(count)s institutions. Review it, then publish.",
            period=snapshot.period, count=len(snapshot.rows)), "success")
    return redirect(url_for("rankings.dashboard", period=snapshot.period))


@bp.route("/bureau/rankings/<period>/publish", methods=["POST"])
@login_required
def publish(period):
    require(RankingSnapshot.can_manage(current_user))
    snapshot = _snapshot_or_404(period)
    if PostForm().validate_on_submit():
        attempt(lambda: services.publish_snapshot(snapshot, current_user),
                _("Ranking of %(period)s published.", period=snapshot.period))
    return redirect(url_for("rankings.dashboard", period=snapshot.period))


@bp.route("/bureau/rankings/<period>/pool", methods=["POST"])
@login_required
def reward_pool(period):
    require(RankingSnapshot.can_manage(current_user))
    form = RewardPoolForm()
    if not form.validate_on_submit():  # the field's own words: too large, or 3 decimals
        for error in form.amount_yuan.errors or [_("Enter the reward pool as an amount in CNY "
                                                   "of 0 or more.")]:
            flash(f"{form.amount_yuan.label.text}: {error}", "danger")
        return redirect(url_for("rankings.dashboard", period=period))
    attempt(lambda: services.set_reward_pool(period, yuan_to_fen(form.amount_yuan.data),
                                             current_user), _("Reward pool saved."))
    return redirect(url_for("rankings.dashboard", period=period.upper()))


# --- scorecards ------------------------------------------------------------------------------
@bp.route("/rankings/<period>/institutions/<int:org_id>")
@login_required
def scorecard(period, org_id):
    snapshot = _snapshot_or_404(period)
    require(snapshot.can_view_scorecard(current_user, org_id))
    row = snapshot.row_for(org_id)
    if row is None:
        abort(404)
    period_obj = parse_period(snapshot.period)
    instruments = indicators.instrument_usage(org_id, period_obj, snapshot.rules)
    clients = indicators.external_clients(org_id, period_obj,
                                          snapshot.rules["min_original_value_fen"])
    return render_template("rankings/scorecard.html", snapshot=snapshot, row=row,
                           rules=snapshot.rules, gaps=largest_gaps(row, snapshot.rules),
                           trend=_trend(snapshot).get(org_id), instruments=instruments,
                           clients=clients, ranked=len(snapshot.rows),
                           org_name=_org_names(snapshot)[org_id],
                           instrument_names=_instrument_names([i.id for i in instruments]))


def _instrument_names(ids: list[int]) -> dict[int, str]:
    """The drill-down's instruments by name in the reader's language."""
    locale = current_locale()
    return {i.id: i.display_name(locale)
            for i in db.session.scalars(select(Instrument).where(Instrument.id.in_(ids)))}


@bp.route("/rankings/mine")
@login_required
def my_scorecard():
    managed = current_user.managed_organisation_ids()
    snapshot = services.latest_published()
    org_id = next((row["org_id"] for row in snapshot.rows if row["org_id"] in managed),
                  None) if snapshot else None
    if org_id is None:
        flash(_("No published ranking includes an institution you manage yet."), "info")
        return redirect(url_for("rankings.public"))
    return redirect(url_for("rankings.scorecard", period=snapshot.period, org_id=org_id))


# --- policy ----------------------------------------------------------------------------------
@bp.route("/bureau/rankings/policy", methods=["GET", "POST"])
@login_required
def policy():
    require(RankingSnapshot.can_manage(current_user))
    draft = services.draft_policy()
    rules = completed((draft or services.current_policy()).rules)  # older: new ones at 0
    form = policy_form(rules)
    problems = []
    if form.validate_on_submit():
        try:
            services.save_draft(form.weights(), form.targets(), current_user)
        except services.PolicyRefused as exc:
            problems = exc.problems
        else:
            commit()
            flash(_("Draft saved. Publish it to use it for the next computation."), "success")
            return redirect(url_for("rankings.policy"))
    return render_template("rankings/policy.html", form=form, draft=draft, rules=rules,
                           current=services.current_policy(),
                           versions=services.policy_versions(), problems=problems,
                           publish_form=PostForm()), 422 if problems else 200


@bp.route("/bureau/rankings/policy/publish", methods=["POST"])
@login_required
def publish_policy():
    require(RankingSnapshot.can_manage(current_user))
    draft = services.draft_policy()
    if draft is None:
        abort(404)
    if PostForm().validate_on_submit():
        attempt(lambda: services.publish_policy(draft, current_user),
                _("Policy version %(version)s published.", version=draft.version))
    return redirect(url_for("rankings.policy"))
