"""Demo vouchers: the published policy of the year and an approved voucher for sme@demo.cn."""
from sqlalchemy import select

from booking.accounts.models import User
from booking.extensions import db
from booking.subsidies import services
from booking.subsidies.models import Voucher

DEMO_VOUCHER_FEN = 5_000_000  # 50,000 CNY


def seed(scale: str) -> None:
    policy = services.current_policy()
    sme = db.session.scalar(select(User).where(User.email == "sme@demo.cn"))
    bureau = db.session.scalar(select(User).where(User.email == "bureau@demo.cn"))
    if sme is None or bureau is None or db.session.scalar(select(Voucher.id).where(
            Voucher.enterprise_id == sme.organisation_id, Voucher.year == policy.year)):
        return
    voucher = services.apply_for_voucher(
        sme, amount_fen=DEMO_VOUCHER_FEN, project="新型复合材料微观结构表征（扫描电镜、XRD）",
        declared_class="sme_science_based",
        declaration={})
    services.approve_voucher(voucher, bureau)
