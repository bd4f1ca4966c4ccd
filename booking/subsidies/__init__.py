"""Innovation-voucher policy, eligibility, applications, redemption and reimbursement."""


def connect_signals() -> None:
    """Vouchers answer billing's questions (billing knows nothing of vouchers): what a voucher
    pays of a quote, the share reserved on each invoice being issued, what a credit note gives
    back of it (followed as it is written, told when it is shown), and the invoices a bulk
    settlement paid."""
    from booking.billing.signals import (
        invoice_credited,
        invoice_issuing,
        invoices_settled,
        quote_requested,
        voucher_returned,
    )
    from booking.subsidies import redemptions

    invoice_issuing.connect(redemptions.answer_invoice_issuing)
    quote_requested.connect(redemptions.answer_quote_requested)
    invoice_credited.connect(redemptions.follow_credit)
    invoices_settled.connect(redemptions.follow_settlement)
    voucher_returned.connect(redemptions.answer_voucher_returned)
