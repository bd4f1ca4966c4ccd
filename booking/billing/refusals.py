"""What billing says when it refuses. The API answers with the problem's code: 409 when the
invoice's state does not allow the action (it changed under the caller), 503 when card payment
is not configured, 422 otherwise."""
from booking.core.problems import Refused


class BillingRefused(Refused):
    """A billing action is not allowed (nothing was changed)."""

    conflicts = frozenset({"not_payable", "has_payments", "not_creditable", "not_voidable"})


class PaymentUnavailable(BillingRefused):
    """Card payment is not configured (no Stripe keys)."""

    status = 503


class NoRate(BillingRefused):
    """The instrument has no rate for this customer class at that time."""
