"""Invoices written directly (no billing run)."""
from booking.extensions import db
from tests.factories.serial import next_serial


def create_issued_invoice(instrument, customer, amount_fen, issued_at, voucher_fen=0,
                          kind="invoice", state="issued", credits=None, **fields):
    """An invoice of the customer organisation with one usage line on `instrument`.
    `fields`: more Invoice columns, e.g. customer_user_id to issue it to one user."""
    from booking.billing.models import Invoice, InvoiceLine

    provider_id = instrument.organisation_id
    invoice = Invoice(provider_id=provider_id, customer_org_id=customer.id, kind=kind,
                      number=f"R-{next_serial()}", state=state, issued_at=issued_at,
                      customer_class="internal" if customer.id == provider_id else "academic",
                      subtotal_fen=amount_fen, voucher_fen=voucher_fen,
                      amount_due_fen=amount_fen - voucher_fen, credits=credits, **fields)
    invoice.lines.append(InvoiceLine(kind="credit" if credits else "usage",
                                     description="use", amount_fen=amount_fen,
                                     instrument_id=instrument.id))
    db.session.add(invoice)
    db.session.commit()
    return invoice
