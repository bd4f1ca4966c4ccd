"""Concurrent month closes of one provider never share an invoice number (committing)."""
import threading

import pytest
from sqlalchemy import delete, select

from booking.accounts.models import Organisation, Role, User
from booking.billing import invoicing
from booking.billing.models import Invoice, InvoiceCounter
from booking.extensions import db

pytestmark = pytest.mark.committing
WORKERS, PER_WORKER = 4, 5


@pytest.fixture
def parties(app):
    with app.app_context():
        from tests.factories import Factory

        make = Factory()
        provider = make.organisation(short_code="RACE")
        customer = make.user(organisation=make.organisation(kind="enterprise"))
        ids = {"provider": provider.id, "customer_org": customer.organisation_id,
               "user": customer.id}
    yield ids
    with app.app_context():
        db.session.execute(delete(Invoice).where(Invoice.provider_id == ids["provider"]))
        db.session.execute(delete(InvoiceCounter).where(
            InvoiceCounter.provider_id == ids["provider"]))
        db.session.execute(delete(Role).where(Role.user_id == ids["user"]))
        db.session.execute(delete(User).where(User.id == ids["user"]))
        db.session.execute(delete(Organisation).where(
            Organisation.id.in_([ids["provider"], ids["customer_org"]])))
        db.session.commit()


def _close(app, ids, errors):
    draft = invoicing.Draft({"provider_id": ids["provider"], "customer_org_id": ids["customer_org"],
                            "customer_user_id": ids["user"], "customer_class": "enterprise",
                            "period": None, "kind": "invoice"}, [])
    try:
        with app.app_context():
            invoicing.issue([draft] * PER_WORKER)
            db.session.commit()
    except Exception as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)


def test_concurrent_issuing_allocates_unique_consecutive_numbers(app, parties):
    errors: list[Exception] = []
    threads = [threading.Thread(target=_close, args=(app, parties, errors))
               for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with app.app_context():
        numbers = sorted(db.session.scalars(select(Invoice.number).where(
            Invoice.provider_id == parties["provider"])))
    year = numbers[0].split("-")[1]
    assert numbers == [f"RACE-{year}-{n:06d}" for n in range(1, WORKERS * PER_WORKER + 1)]
