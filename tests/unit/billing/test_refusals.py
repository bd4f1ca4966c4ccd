"""Billing's refusals are core Refused: the API's status and code follow from the problem."""
import pytest

from booking.billing.refusals import BillingRefused, NoRate, PaymentUnavailable
from booking.core.problems import Refused, _l


@pytest.mark.parametrize("refusal,code,status", [
    (BillingRefused.one("not_payable", _l("This invoice is not open for payment.")),
     "not_payable", 409),
    (BillingRefused.one("not_voidable", _l("Only a draft or issued invoice can be voided.")),
     "not_voidable", 409),
    (BillingRefused.one("reason_required", _l("Give a reason for voiding the invoice.")),
     "reason_required", 422),
    (PaymentUnavailable.one("stripe_disabled", _l("Card payment is not available.")),
     "stripe_disabled", 503),
    (NoRate.one("no_rate", _l("The instrument has no rate for your customer class.")),
     "no_rate", 422),
])
def test_refusal_codes_and_statuses(refusal, code, status):
    assert isinstance(refusal, Refused) and isinstance(refusal, BillingRefused)
    assert (refusal.code, refusal.http_status) == (code, status)


def test_message_is_english_with_its_parameters():
    refusal = BillingRefused.one("unknown_invoice", _l("No invoice %(invoice)s for %(intent)s."),
                                 invoice=repr("42"), intent="pi_1")
    assert str(refusal) == "No invoice '42' for pi_1." == refusal.text()
