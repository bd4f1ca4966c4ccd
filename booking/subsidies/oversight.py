"""Oversight: budget burn-down by quarter, vouchers by class, top providers, a reproducible
random sample of redemptions for re-checking, and clawback by reversing entry."""
import random
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from booking.accounts.models import Organisation, User
from booking.billing.models import Invoice
from booking.core import audit
from booking.core.clock import month_period, now_utc, quarter_period, year_period
from booking.core.problems import Refused, _l
from booking.extensions import db
from booking.subsidies import notifications, rules
from booking.subsidies.models import BUDGET_STATES, Redemption, Voucher
from booking.subsidies.policy import decimal_at
from booking.subsidies.redemptions import claw_back_claim, clawback_of
from booking.subsidies.services import current_policy


class OversightError(Refused):
    pass


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    period = year_period(year)
    return period.start, period.end


def _redeemed_between(start: datetime, end: datetime) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(Redemption.amount_fen), 0)).where(
        Redemption.state == "redeemed", Redemption.redeemed_at >= start,
        Redemption.redeemed_at < end)) or 0


def burn_down(year: int) -> list[dict]:
    """Per quarter, cumulative: budget released, committed by approvals, redeemed, what the
    released budget still allows to approve (open) and what is left of the year's (remaining);
    and what was redeemed in the quarter alone."""
    policy = current_policy(year)
    committed = dict(db.session.execute(select(Voucher.quarter, func.sum(Voucher.face_value_fen))
                                        .where(Voucher.year == year,
                                               Voucher.state.in_(BUDGET_STATES))
                                        .group_by(Voucher.quarter)).all())
    rows, total_committed, total_redeemed = [], 0, 0
    for quarter in range(1, 5):
        total_committed += committed.get(quarter, 0) or 0
        period = quarter_period(year, quarter)
        redeemed = _redeemed_between(period.start, period.end)
        total_redeemed += redeemed
        released = rules.budget_allowance_fen(policy.rules, quarter)
        rows.append({"quarter": f"Q{quarter}", "released_fen": released,
                     "committed_fen": total_committed, "redeemed_fen": total_redeemed,
                     "redeemed_in_quarter_fen": redeemed,
                     "open_fen": max(0, released - total_committed),
                     "remaining_fen": policy.budget_fen - total_committed})
    return rows


def vouchers_by_class(year: int) -> list[dict]:
    rows = db.session.execute(select(Voucher.enterprise_class, func.count(),
                                     func.sum(Voucher.face_value_fen))
                              .where(Voucher.year == year, Voucher.state.in_(BUDGET_STATES))
                              .group_by(Voucher.enterprise_class)
                              .order_by(Voucher.enterprise_class))
    return [{"enterprise_class": c, "count": n, "face_value_fen": v or 0} for c, n, v in rows]


def top_providers(year: int, limit: int = 10) -> list[dict]:
    start, end = _year_bounds(year)
    total = func.sum(Redemption.amount_fen)
    rows = db.session.execute(select(Organisation, total).join(
        Redemption, Redemption.provider_id == Organisation.id).where(
        Redemption.state == "redeemed", Redemption.redeemed_at >= start,
        Redemption.redeemed_at < end).group_by(Organisation.id).order_by(total.desc())
        .limit(limit))
    return [{"provider": org, "redeemed_fen": amount} for org, amount in rows]


def sample_windows(year: int) -> list[tuple[int, int, int]]:
    """The year's sampling periods (number, first month, last month): every
    `sample_every_months` months of the year's policy."""
    return rules.sample_windows(int(current_policy(year).rules["oversight"]
                                    ["sample_every_months"]))


def draw_sample(year: int, window: int, actor: User) -> list[Redemption]:
    """Flag the policy's share of a sampling period's redeemed claims for re-checking. The
    draw is seeded by the period, so it is reproducible; drawing again flags nothing new."""
    windows = {n: (first, last) for n, first, last in sample_windows(year)}
    if window not in windows:
        raise OversightError.one("bad_window", _l("No such sampling period this year."))
    first, last = windows[window]
    start, end = month_period(year, first).start, month_period(year, last).end
    claims = list(db.session.scalars(select(Redemption).where(
        Redemption.entry == "claim", Redemption.state == "redeemed",
        Redemption.redeemed_at >= start, Redemption.redeemed_at < end).order_by(Redemption.id)))
    size = rules.sample_size(len(claims), decimal_at(current_policy(year).rules, "oversight",
                                                     "sample_rate"))
    picked = random.Random(f"voucher-sample-{year}-{first:02d}-{last:02d}").sample(claims, size)
    for claim in picked:
        if claim.flagged_at is None:
            claim.flagged_at = now_utc()
    audit.record("vouchers.sampled", actor=actor, year=year, months=[first, last],
                 population=len(claims), flagged=[c.id for c in picked])
    return sorted(picked, key=lambda c: c.id)


def confirm_checked(claim: Redemption, actor: User) -> None:
    """The re-check found the claim sound: its outcome is recorded."""
    if claim.flagged_at is None or claim.check_outcome is not None:
        raise OversightError.one("not_to_check", _l("This claim is not waiting for a check."))
    claim.checked_at, claim.check_outcome = now_utc(), "confirmed"
    audit.record("voucher.check_confirmed", actor=actor, obj=claim)


def flagged(year: int) -> list[Redemption]:
    start, end = _year_bounds(year)
    return list(db.session.scalars(select(Redemption).where(
        Redemption.flagged_at.is_not(None), Redemption.redeemed_at >= start,
        Redemption.redeemed_at < end).order_by(Redemption.id).options(  # the page names both
        selectinload(Redemption.provider),
        selectinload(Redemption.voucher).selectinload(Voucher.enterprise))))


def open_checks(year: int) -> int:
    """Claims of the year drawn for re-check and not checked yet."""
    start, end = _year_bounds(year)
    return db.session.scalar(select(func.count()).select_from(Redemption).where(
        Redemption.flagged_at.is_not(None), Redemption.check_outcome.is_(None),
        Redemption.redeemed_at >= start, Redemption.redeemed_at < end))


def invoice_numbers(claims: list[Redemption]) -> dict[int, str]:
    """The number of each claim's invoice (by claim id): what the re-check looks up."""
    ids = {c.invoice_id for c in claims}
    numbers = dict(db.session.execute(select(Invoice.id, Invoice.number).where(
        Invoice.id.in_(ids))).all()) if ids else {}
    return {c.id: numbers.get(c.invoice_id, "") for c in claims}


def claw_back(claim: Redemption, actor: User, reason: str) -> Redemption:
    """A false or unsupported claim: append its reversal (the provider's next statement is
    reduced by it); the voucher is not refilled."""
    if not reason.strip():
        raise OversightError.one("reason", _l("Give a reason for the clawback."))
    if claim.entry != "claim" or claim.state != "redeemed":
        raise OversightError.one("not_redeemed",
                                 _l("Only a redeemed claim can be clawed back."))
    if clawback_of(claim) is not None:
        raise OversightError.one("already_reversed", _l("This claim was already reversed."))
    reversal = claw_back_claim(claim, reason.strip())
    if claim.flagged_at is not None:
        claim.checked_at, claim.check_outcome = now_utc(), "clawed_back"
    db.session.flush()
    # what is taken back: the share as credit notes left it, not as first claimed
    audit.record("voucher.clawed_back", actor=actor, obj=reversal, claim_id=claim.id,
                 amount_fen=-reversal.amount_fen, reason=reason.strip())
    invoice = db.session.get(Invoice, claim.invoice_id)
    notifications.notify_clawed_back(claim, -reversal.amount_fen,
                                     invoice.number or f"#{invoice.id}", reason.strip())
    return reversal
