"""Demo vouchers: the published policy of the year and approved vouchers for two SMEs.

Seeded before billing writes its history (`booking.DEMO_AREAS`): each voucher is approved on
the first working morning of the last quarter, so the month closes since then reserve its share
on the SME's invoices and the payments redeem it, as in life. The bureau finds the last
quarter's claims waiting for its reimbursement statements, and this quarter's building up;
billing's demo credits part of one such invoice, which gives part of its share back to the
voucher. Idempotent: an SME that holds a voucher of the year is left alone.
"""
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from booking.accounts.models import User
from booking.core.clock import from_local, last_complete_quarter, local_today, quarter_of
from booking.extensions import db
from booking.subsidies import services
from booking.subsidies.models import Voucher

# (SME user, the project applied for, the amount asked and granted: the first is used up
# within the quarter, the second goes on)
VOUCHERS = (
    ("sme@demo.cn", "新型复合材料微观结构表征（扫描电镜、XRD）", 5_000_000),
    ("sme.xinghai@demo.cn", "精密零件形貌观察与物相分析", 15_000_000),
)


def seed(scale: str) -> None:
    bureau = _user("bureau@demo.cn")
    if bureau is None:
        return
    policy = services.stored_policy()
    approved = approval_time(local_today(), policy.year)
    for sme_email, project, amount_fen in VOUCHERS:
        sme = _user(sme_email)
        if sme is None or db.session.scalar(select(Voucher.id).where(
                Voucher.enterprise_id == sme.organisation_id, Voucher.year == policy.year)):
            continue
        voucher = services.apply_for_voucher(
            sme, amount_fen=amount_fen, project=project,
            declared_class="sme_science_based", declaration={})
        services.approve_voucher(voucher, bureau)
        voucher.created_at, voucher.decided_at = approved - timedelta(days=2), approved
        voucher.quarter = quarter_of(local_today(approved))  # the quarter's budget it drew on


def approval_time(today: date, year: int) -> datetime:
    """9:00 on the first weekday of the last quarter, within the voucher's year (in its
    first quarter: its first weekday), before today where the year allows."""
    day = max(last_complete_quarter(today).first_day, date(year, 1, 1))
    while day.weekday() >= 5:
        day += timedelta(days=1)
    day = max(min(day, today - timedelta(days=1)), date(year, 1, 1))
    return from_local(datetime.combine(day, time(9)))


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))
