"""Reads for the vouchers' pages: what a voucher paid, invoice by invoice, and the bureau's
clawbacks a provider's statements take back (redemptions.py writes them)."""
from collections import defaultdict
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from booking.billing.models import Invoice
from booking.extensions import db
from booking.subsidies.models import Redemption, Voucher
from booking.subsidies.redemptions import CLAWBACK, is_clawback


def pending_clawbacks(provider_id: int) -> list[tuple[Redemption, str]]:
    """The bureau's clawbacks of the provider's claims that no statement has deducted yet,
    with their invoices' numbers."""
    return db.session.execute(select(Redemption, Invoice.number).join(
        Invoice, Invoice.id == Redemption.invoice_id).where(
        Redemption.provider_id == provider_id, Redemption.reimbursement_id.is_(None),
        Redemption.entry == "reversal", is_clawback()).order_by(Redemption.id)).all()


def clawbacks_of(claim_ids) -> dict[int, Redemption]:
    """The clawback of each of these claims that has one (a claim is clawed back once)."""
    ids = list(claim_ids)
    return {entry.reverses_id: entry for entry in db.session.scalars(select(Redemption).where(
        Redemption.reverses_id.in_(ids), is_clawback()))} if ids else {}


class VoucherUse(NamedTuple):
    """One invoice a voucher paid part of: its claim, the reversals that gave part back to
    the voucher (credit notes, voids) and the bureau's clawback, if any."""

    claim: Redemption
    invoice_id: int
    invoice_number: str
    issued_at: datetime | None
    given_back: list[Redemption]
    clawback: Redemption | None

    @property
    def kept_fen(self) -> int:
        """What of the share the voucher still pays (a released claim: nothing)."""
        if self.claim.state == "released":
            return 0
        return self.claim.amount_fen + sum(entry.amount_fen for entry in self.given_back)


def history_of(voucher: Voucher) -> list[VoucherUse]:
    """Every invoice the voucher paid part of, newest first, from one read of its entries."""
    entries = db.session.execute(
        select(Redemption, Invoice.number, Invoice.issued_at)
        .join(Invoice, Invoice.id == Redemption.invoice_id)
        .where(Redemption.voucher_id == voucher.id)
        .options(selectinload(Redemption.provider)).order_by(Redemption.id)).all()
    reversals = defaultdict(list)
    for entry, _number, _issued_at in entries:
        if entry.entry == "reversal":
            reversals[entry.reverses_id].append(entry)
    uses = []
    for claim, number, issued_at in entries:
        if claim.entry != "claim":
            continue
        back = reversals[claim.id]
        clawback = next((e for e in back if e.reason.startswith(CLAWBACK)), None)
        uses.append(VoucherUse(claim, claim.invoice_id, number or f"#{claim.invoice_id}",
                               issued_at, [e for e in back if e is not clawback], clawback))
    return uses[::-1]
