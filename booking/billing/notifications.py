"""What customers are told about their invoices. Each message is composed inside the
customer's locale and timezone and queued in the same transaction (sent after commit)."""
from collections import defaultdict

from flask_babel import force_locale
from flask_babel import gettext as _

from booking.accounts.models import User
from booking.billing.models import Invoice, Payment
from booking.billing.reports import voucher_returned_fen
from booking.core.clock import to_local
from booking.core.money import format_cny
from booking.core.notifications import Notice, deliver, notify
from booking.core.security import external_of, site_path
from booking.core.web import sentences
from booking.labels import payment_method_label

KIND = "invoice.issued"
PAID_KIND = "invoice.paid"
CREDIT_KIND = "invoice.credited"


def _issued_texts() -> tuple[str, str, str]:
    """The issued invoice's subject, body and voucher sentence in the current locale, to be
    filled in (a month close fills them for every invoice: translated once, not once per
    invoice)."""
    return (_("Invoice %(number)s"),
            _("%(provider)s issued invoice %(number)s: %(amount)s due by %(due)s. "
              "View, print and pay it under My invoices: %(url)s"),
            _("Your innovation voucher pays %(voucher)s of the %(fee)s fee; %(amount)s is "
              "yours to pay."))


def _issued(invoice: Invoice, user: User, texts: tuple[str, str, str], link: str
            ) -> tuple[str, str]:
    """Subject and body about an issued invoice, from _issued_texts in the user's locale;
    `link`: its page (_link). A voucher's share is said, or the amount due looks wrong."""
    subject, body, voucher = texts
    amount = format_cny(invoice.amount_due_fen)
    text = body % {"provider": invoice.provider.display_name(user.locale),
                   "number": invoice.number, "amount": amount,
                   "due": to_local(invoice.due_at, user.timezone).strftime("%Y-%m-%d"),
                   "url": external_of(link)}
    if invoice.voucher_fen:
        text += "\n" + voucher % {"voucher": format_cny(invoice.voucher_fen),
                                  "fee": format_cny(invoice.subtotal_fen), "amount": amount}
    return subject % {"number": invoice.number}, text


def notify_invoice_issued(invoice: Invoice) -> None:
    """Tell the user an invoice names that it was issued (one without a user: nobody)."""
    user = invoice.customer_user
    if user is not None:
        link = _link(invoice)
        notify(user, KIND, lambda: _issued(invoice, user, _issued_texts(), link), link=link)


def notify_invoices_issued(invoices: list[Invoice]) -> None:
    """notify_invoice_issued for a batch (a month close's): one locale switch per language
    and one executemany INSERT each for the inbox and the e-mails. Load the invoices with
    their customer user and provider."""
    by_locale: dict[str, list[Invoice]] = defaultdict(list)
    for invoice in invoices:
        if invoice.customer_user is not None:
            by_locale[invoice.customer_user.locale].append(invoice)
    notices = []
    for locale, group in by_locale.items():
        with force_locale(locale):
            texts = _issued_texts()
            for invoice in group:
                link = _link(invoice)
                subject, body = _issued(invoice, invoice.customer_user, texts, link)
                notices.append(Notice(invoice.customer_user, KIND, subject, body, link))
    deliver(notices)


def notify_payment_recorded(payment: Payment) -> None:
    """Tell the user an invoice names that their payment was recorded (by finance staff, a
    grant code or a card payment's webhook)."""
    invoice = payment.invoice
    user = invoice.customer_user
    if user is None:
        return
    def compose():
        text = _("%(provider)s recorded your payment of %(amount)s for invoice %(number)s "
                 "(%(method)s) on %(date)s. Thank you.",
                 provider=invoice.provider.display_name(user.locale), number=invoice.number,
                 amount=format_cny(payment.amount_fen),
                 method=payment_method_label(payment.method), date=_paid_on(payment, user))
        if invoice.state == "issued" and invoice.outstanding_fen:  # a part payment
            text = sentences(text, _("%(left)s is still to pay.",
                                     left=format_cny(invoice.outstanding_fen)))
        return _("Payment received for invoice %(number)s", number=invoice.number), text

    notify(user, PAID_KIND, compose, link=_link(invoice))


def notify_credit_note(note: Invoice) -> None:
    """Tell the customer a credit note gives back part of their invoice: how much, why, how
    the money comes back, and what returns to their innovation voucher."""
    user = note.customer_user
    if user is None:
        return

    def compose():
        original = note.credits
        text = [_("%(provider)s issued credit note %(number)s: %(amount)s of invoice "
                  "%(invoice)s is credited. Reason: %(reason)s",
                  provider=note.provider.display_name(user.locale), number=note.number,
                  amount=format_cny(note.amount_due_fen), invoice=original.number,
                  reason=note.lines[0].description)]
        if note.project is not None:
            text.append(_("It is credited to project %(project)s.", project=note.project.label))
        elif note.deducted_fen:
            text.append(_deduction_text(note, original))
        elif note.state == "paid":
            text.append(_("The money has been refunded to you."))
        else:
            text.append(_("The provider will refund it to you and record the refund."))
        returned = voucher_returned_fen(note)
        if returned:
            text.append(_("Your innovation voucher gets back %(amount)s of its share.",
                          amount=format_cny(returned)))
        text.append(_("Details: %(url)s", url=external_of(_link(note))))
        return _("Credit note %(number)s for invoice %(invoice)s", number=note.number,
                 invoice=original.number), "\n".join(text)

    notify(user, CREDIT_KIND, compose, link=_link(note))


def _deduction_text(note: Invoice, original: Invoice) -> str:
    """What a credit note written while its invoice was open did to it, and what is left."""
    if original.state == "paid":
        text = _("%(amount)s of it is deducted from invoice %(invoice)s, which is now settled.",
                 amount=format_cny(note.deducted_fen), invoice=original.number)
    else:
        text = _("%(amount)s of it is deducted from invoice %(invoice)s: %(left)s is left to "
                 "pay.", amount=format_cny(note.deducted_fen), invoice=original.number,
                 left=format_cny(original.outstanding_fen))
    if note.to_refund_fen:
        text = sentences(text, _("The provider will refund the other %(amount)s to you and "
                                 "record the refund.", amount=format_cny(note.to_refund_fen)))
    return text


def _paid_on(payment: Payment, user: User) -> str:
    """The day the money arrived (a part payment leaves the invoice's paid_at empty)."""
    if payment.received_on is not None:
        return payment.received_on.isoformat()
    return to_local(payment.invoice.paid_at or payment.created_at, user.timezone
                    ).strftime("%Y-%m-%d")


DUNNING_KIND = "invoice.overdue"


def notify_dunning(invoice: Invoice, stage: str, days_overdue: int) -> None:
    """Remind the customer of an unpaid invoice: at its due date, then 14 and 30 days on."""
    user = invoice.customer_user
    if user is None:
        return

    def compose():
        # the first reminder goes out on the due date, or as soon as the daily job runs after
        # it: "due today" only when it is today
        subject = _("Invoice %(number)s is due", number=invoice.number) if not days_overdue \
            else _("Reminder: invoice %(number)s is %(days)s days overdue",
                   number=invoice.number, days=days_overdue)
        return subject, _(
            "%(provider)s has not yet received %(amount)s for invoice %(number)s, due on "
            "%(due)s. Please pay it under My invoices: %(url)s",
            provider=invoice.provider.display_name(user.locale), number=invoice.number,
            amount=format_cny(invoice.outstanding_fen), url=external_of(_link(invoice)),
            due=to_local(invoice.due_at, user.timezone).strftime("%Y-%m-%d"))

    notify(user, DUNNING_KIND, compose, link=_link(invoice))


def _link(invoice: Invoice) -> str:
    return site_path("billing.invoice", invoice_id=invoice.id)
