"""What customers are told about their invoices. Each message is composed inside the
customer's locale and timezone and queued in the same transaction (sent after commit)."""
from collections import defaultdict

from flask_babel import force_locale
from flask_babel import gettext as _

from booking.accounts.models import User
from booking.billing.models import Invoice
from booking.core.clock import to_local
from booking.core.money import format_cny
from booking.core.notifications import notify, queue_messages

KIND = "invoice.issued"


def _issued(invoice: Invoice, user: User) -> tuple[str, str]:
    """Subject and body about an issued invoice; the caller has set the user's locale."""
    return (_("Invoice %(number)s", number=invoice.number),
            _("%(provider)s issued invoice %(number)s: %(amount)s due by %(due)s. "
              "View, print and pay it under My invoices (/invoices/%(id)s).",
              provider=invoice.provider.display_name(user.locale),
              number=invoice.number, amount=format_cny(invoice.amount_due_fen),
              due=to_local(invoice.due_at, user.timezone).strftime("%Y-%m-%d"), id=invoice.id))


def notify_invoice_issued(invoice: Invoice) -> None:
    """Tell the user an invoice names that it was issued (one without a user: nobody)."""
    user = invoice.customer_user
    if user is not None:
        notify(user, KIND, lambda: _issued(invoice, user))


def notify_invoices_issued(invoices: list[Invoice]) -> None:
    """notify_invoice_issued for a batch (a month close's): one locale switch per language
    and one executemany INSERT. Load the invoices with their customer user and provider."""
    by_locale: dict[str, list[Invoice]] = defaultdict(list)
    for invoice in invoices:
        if invoice.customer_user is not None:
            by_locale[invoice.customer_user.locale].append(invoice)
    messages = []
    for locale, group in by_locale.items():
        with force_locale(locale):
            for invoice in group:
                subject, body = _issued(invoice, invoice.customer_user)
                messages.append({"recipient": invoice.customer_user.email, "kind": KIND,
                                 "subject": subject, "body": body})
    queue_messages(messages)
