"""Voucher-eligible enterprises and vouchers (through the real services)."""
from datetime import date

from booking.accounts.models import Organisation, User
from booking.extensions import db
from tests.factories.accounts import create_organisation, create_user


def create_enterprise(**fields) -> Organisation:
    """A verified science-based SME registered in Dalian (voucher-eligible)."""
    defaults = dict(sme_certified=True, founded_on=date(2019, 5, 16), staff_count=46,
                    annual_revenue_fen=1_850_000_000, total_assets_fen=2_400_000_000,
                    registered_capital_fen=1_000_000_000)
    return create_organisation(kind="enterprise", **{**defaults, **fields})


def create_voucher(user=None, amount_fen=5_000_000, approve=True, bureau=None):
    """A voucher applied for (and approved) through the real services."""
    from booking.subsidies import services

    user = user or dummy_sme_member()
    voucher = services.apply_for_voucher(
        user, amount_fen=amount_fen, project="SEM of composite samples",
        declared_class="sme_science_based", declaration={})
    if approve:
        services.approve_voucher(voucher, bureau or create_user(role="bureau_staff"))
    db.session.commit()
    return voucher


def dummy_sme_member(**fields) -> User:
    """A member of a new voucher-eligible SME."""
    return create_user(organisation=create_enterprise(), **fields)
