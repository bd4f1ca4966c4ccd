"""Innovation-voucher policy, eligibility, applications, redemption and reimbursement."""


def connect_signals() -> None:
    """Vouchers answer billing's questions: what a voucher pays of a quote, the share reserved
    on each invoice being issued, and what a credit note gives back of it (billing knows
    nothing of vouchers), and the invoices a bulk settlement paid."""
    from booking.billing.signals import invoice_credited, invoice_issuing, invoices_settled, quote_requested
    from booking.subsidies import redemptions

    invoice_issuing.connect(redemptions.answer_invoice_issuing)
    quote_requested.connect(redemptions.answer_quote_requested)
    invoice_credited.connect(redemptions.follow_credit)
    invoices_settled.connect(redemptions.follow_settlement)
