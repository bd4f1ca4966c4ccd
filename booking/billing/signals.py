"""The signals billing sends, so that other areas take part without billing importing them.

Voucher deductions: billing never imports the subsidies area. When invoices are issued,
`invoice_issuing` is sent once per batch of up to 1,000 invoices of enterprise customers
(sender: an invoicing.IssuingBatch: the customers' ids, and the Invoices being issued, with
their ids, lines and subtotals, customer_org loaded, of the customers the receiver asks
about, or all of them by iterating). A receiver returns {invoice_id: fen} for the voucher
amounts it commits to pay (and records its own redemptions referring to the invoice ids);
answers are summed per invoice and clamped to the subtotal by rules.totals, so without
receivers the voucher share is 0. One signal per batch, not per invoice, keeps a month close
set-based: the receiver looks up the vouchers of a whole batch in one query.
"""
from blinker import Namespace

signals = Namespace()
#: Sent per batch of invoices about to be issued; receivers return {invoice_id: fen} (see above).
invoice_issuing = signals.signal("invoice-issuing")
#: Sent per quote (sender: the instrument; user, fee_fen, mode and done_by, when the service
#: ends, as keywords); receivers return the share in fen a voucher would pay. Nothing is
#: reserved: a quote is only a forecast.
quote_requested = signals.signal("quote-requested")
#: Sent after a credit note is written (sender: the credit note, flushed, with credits_id):
#: what was given back of an invoice may shrink what others computed from it.
invoice_credited = signals.signal("invoice-credited")
#: Asked to show a credit note (sender: the credit note): receivers return the fen it gave
#: back to a voucher (the voucher's share of the credited invoice shrinks in proportion).
voucher_returned = signals.signal("voucher-returned")
#: Sent after invoices were paid in full by one set-based settlement (sender: their ids; see
#: payments.settle_in_full). Invoices paid one by one are followed through the ORM instead.
invoices_settled = signals.signal("invoices-settled")
