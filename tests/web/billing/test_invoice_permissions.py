"""Who may do what to an invoice in which state: role × state × action, on the pages and the API.

The invoice is an internal one (a researcher of the provider university, named on it, charged
to a project account of their group), so the internal settlement has a path that succeeds.
Card payment is not configured in these tests:
the customer's payment-intent request ends at "card payment is not available" (the Stripe
paths are in test_billing_api.py). Each cell asserts the exact status; where the invoice
changes, the change and its audit row; where it does not, that the invoice, its payments and
credit notes are as they were, no message was queued and nothing was audited.
"""

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from booking.billing.models import Invoice, Payment
from booking.extensions import db
from tests.factories import (
    create_issued_invoice,
    create_user,
    dummy_admin,
    dummy_bureau_staff,
    dummy_lab,
)
from tests.factories.groups import create_group, create_project
from tests.moments import MONDAY_2_MAR_8AM, MONDAY_2_MAR_9AM
from tests.web.matrix import (
    ACTS,
    LOGIN,
    Action,
    assert_status,
    audit_actions,
    flash_categories,
    messages_queued,
    send,
    sign_in,
)

AMOUNT_FEN = 12_000
PAYS = "pays"
ROLES = ("anonymous", "customer", "colleague", "other_user", "lab_manager", "other_lab_manager",
         "finance", "other_finance", "bureau_staff", "admin")
STATES = ("draft", "issued", "paid", "void")




D404 = (LOGIN,) + (404,) * 9  # a draft is "not found" for everyone logged in
A404 = (401,) + (404,) * 9
#          anonymous customer colleague other lab_mgr other_mgr finance other_fin bureau admin
# the provider's lab managers read its invoices (their usage pages link to them)
VIEWERS = (LOGIN, 200, 403, 403, 200, 403, 200, 403, 403, 200)
MANAGERS = (LOGIN, 403, 403, 403, 403, 403, ACTS, 403, 403, ACTS)
PAGES = {
    "view": Action("GET", "/invoices/{id}", None, VIEWERS, draft=D404, done=200),
    "pdf": Action("GET", "/invoices/{id}.pdf", None, VIEWERS, draft=D404, done=200),
    "state_json": Action("GET", "/invoices/{id}/state.json", None, VIEWERS, draft=D404, done=200),
    # Card payment not configured: the customer is told so (PAYS); a draft is hidden
    "payment_intent": Action("POST", "/invoices/{id}/payment-intent", None,
                             (LOGIN, PAYS, 403, 403, 403, 403, 403, 403, 403, 403), draft=D404),
    "bank_transfer": Action("POST", "/invoices/{id}/bank-transfer",
                            {"reference": "BOC-778", "amount": "120.00",
                             "received_on": "2026-03-02"},
                            MANAGERS, draft=D404, moves=frozenset({"issued"}), refused=422),
    "settle_internal": Action("POST", "/invoices/{id}/settle-internal", {},
                              (LOGIN, ACTS, 403, 403, 403, 403, ACTS, 403, 403, ACTS), draft=D404,
                              moves=frozenset({"issued"}), refused=422),
    # voiding a void invoice is refused with a notice (until issue 22 it was a 500)
    "void": Action("POST", "/invoices/{id}/void", {"reason": "billed twice"}, MANAGERS, draft=D404,
                   moves=frozenset({"issued"}), refused=422),
    "credit": Action("POST", "/invoices/{id}/credit", {"amount": "10.00", "reason": "calibration"},
                     MANAGERS, draft=D404, moves=frozenset({"issued", "paid"}), refused=422),
}
API = {
    "api_view": Action("GET", "/api/v1/invoices/{id}", None,
                       (401, 200, 404, 404, 200, 404, 200, 404, 404, 200), draft=A404, done=200),
    # who may not see the invoice is told it does not exist; its provider's people may not
    # pay it
    "api_payment_intent": Action("POST", "/api/v1/invoices/{id}/payment-intent", None,
                                 (401, PAYS, 404, 404, 403, 404, 403, 404, 404, 403), draft=A404),
}
# The customer asking to pay by card, which is off: an open invoice answers "card payment is
# not available" (the page's JSON 409, the API 503); a paid or void one is not open (409).
CARD_OFF = {"payment_intent": 409, "api_payment_intent": 503}
ACTIONS = {**PAGES, **API}


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time(MONDAY_2_MAR_9AM):
        yield


def _invoice(lab, customer, state) -> Invoice:
    fields = {"paid": {"paid_at": MONDAY_2_MAR_8AM},
              "void": {"voided_at": MONDAY_2_MAR_8AM, "void_reason": "duplicate"}}.get(state, {})
    pi = create_user(organisation=lab.organisation)
    project = create_project(create_group(pi, members=[customer]), number="G-2026-7")
    invoice = create_issued_invoice(lab.instrument, lab.organisation, AMOUNT_FEN, MONDAY_2_MAR_8AM,
                                    state=state, customer_user_id=customer.id,
                                    project_id=project.id, **fields)
    if state == "paid":
        db.session.add(Payment(invoice=invoice, method="bank_transfer", amount_fen=AMOUNT_FEN,
                               reference="BOC-1"))
        db.session.commit()
    return invoice


ACTORS = {  # role -> who plays it, made only when that role is asked for
    "anonymous": lambda lab, customer: None,
    "customer": lambda lab, customer: customer,
    "colleague": lambda lab, customer: create_user(organisation=lab.organisation),
    "other_user": lambda lab, customer: create_user(),
    "lab_manager": lambda lab, customer: lab.manager,
    "other_lab_manager": lambda lab, customer: create_user(role="lab_manager"),
    "finance": lambda lab, customer: create_user(role="finance", organisation=lab.organisation),
    "other_finance": lambda lab, customer: create_user(role="finance"),
    "bureau_staff": lambda lab, customer: dummy_bureau_staff(),
    "admin": lambda lab, customer: dummy_admin(),
}


def _credit_notes(invoice) -> list[tuple]:
    return [(n.state, n.amount_due_fen) for n in db.session.scalars(
        select(Invoice).where(Invoice.credits_id == invoice.id).order_by(Invoice.id))]


def _snapshot(invoice) -> dict:
    db.session.expire_all()
    invoice = db.session.get(Invoice, invoice.id)
    return {"invoice": (invoice.state, invoice.paid_at, invoice.voided_at, invoice.void_reason,
                        invoice.stripe_payment_intent_id, invoice.payment_error,
                        invoice.amount_due_fen),
            "payments": [(p.method, p.amount_fen, p.reference) for p in invoice.payments],
            "credit_notes": _credit_notes(invoice),
            "invoices": db.session.scalar(select(func.count()).select_from(Invoice)),
            "messages": messages_queued(), "audit": audit_actions(invoice)}


@pytest.mark.parametrize("action_name", ACTIONS)
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
def test_invoice_permission_matrix(client, login, api_token, role, state, action_name):
    action = ACTIONS[action_name]
    lab = dummy_lab(requires_approval=False)
    customer = create_user(organisation=lab.organisation)  # internal customer, named on it
    invoice = _invoice(lab, customer, state)
    actor = ACTORS[role](lab, customer)
    headers = sign_in(client, login, api_token, actor, action_name in API)
    before = _snapshot(invoice)

    response = send(client, action.method, action.path.format(id=invoice.id), action.body,
                    headers, action_name in API)

    access = (action.draft or action.access) if state == "draft" else action.access
    access = access[ROLES.index(role)]
    if access == PAYS:
        status, code = (CARD_OFF[action_name], "stripe_disabled") if state == "issued" else \
            (409, "not_payable")
        assert_status(response, status)
        assert response.get_json()["error"]["code"] == code and _snapshot(invoice) == before
        return
    if access == ACTS and state in action.moves:
        assert_status(response, action.done)
        assert flash_categories(client) == ["success"]
        _assert_changed(action_name, invoice, before)
        return
    assert_status(response, action.refused if access == ACTS else access)
    assert _snapshot(invoice) == before
    if access == ACTS:  # said on the invoice page, shown again with the refused form
        assert 'class="alert alert-danger' in response.get_data(as_text=True)
    elif access == 200:
        _assert_shows(response, invoice, state)
    elif access == 403 and response.is_json:
        assert response.get_json()["error"]["code"] == "forbidden"


def _assert_changed(action_name, invoice, before):
    after = _snapshot(invoice)
    if action_name == "credit":
        # the invoice's project got the money back at once: nothing left to refund; an open
        # invoice asks that much less of its internal transfer
        assert after["credit_notes"] == [*before["credit_notes"], ("paid", 1_000)]
        note = db.session.scalar(select(Invoice).where(Invoice.credits_id == invoice.id))
        deducted = [("credit_note", 1_000, note.number)] if before["invoice"][0] == "issued" \
            else []
        assert after["invoice"] == before["invoice"]
        assert after["payments"] == before["payments"] + deducted
        assert audit_actions(note)[-1] == "invoice.credited"
        # the invoice's own trail is untouched; the customer is told of the credit note
        assert (after["audit"], after["messages"]) == (before["audit"], before["messages"] + 1)
        return
    state, method, action = {"bank_transfer": ("paid", "bank_transfer", "invoice.paid"),
                             "settle_internal": ("paid", "internal", "invoice.paid"),
                             "void": ("void", None, "invoice.voided")}[action_name]
    assert after["invoice"][0] == state
    reference = {"bank_transfer": "BOC-778", "settle_internal": "G-2026-7"}.get(action_name)
    new_payments = [(method, AMOUNT_FEN, reference)] if method else []
    assert after["payments"] == before["payments"] + new_payments
    assert after["audit"] == [*before["audit"], action]
    assert after["credit_notes"] == before["credit_notes"] == []
    told = 1 if method else 0  # a payment recorded is told to the customer (invoice.paid)
    assert (after["invoices"], after["messages"]) == (before["invoices"],
                                                      before["messages"] + told)


def _assert_shows(response, invoice, state):
    if response.mimetype == "application/pdf":
        assert response.data.startswith(b"%PDF") and invoice.number.encode() in response.data
    elif response.is_json:
        body = response.get_json()
        assert body["state"] == state
        if "number" in body:
            assert (body["number"], body["amount_due_fen"]) == (invoice.number, AMOUNT_FEN)
    else:
        assert invoice.number in response.get_data(as_text=True)
