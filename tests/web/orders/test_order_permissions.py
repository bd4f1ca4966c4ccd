"""Who may see and do what with an order: role × page or action. Anonymous visitors are sent
to the login form; who may not see an order (neither its customer nor its lab) is told it does
not exist (404, as for its samples); who sees it but may not act gets 403."""
import io
from datetime import timedelta

import pytest
from freezegun import freeze_time
from werkzeug.datastructures import FileStorage

from booking.extensions import db
from booking.orders import files, services
from tests.moments import MONDAY_7_DEC_9AM

ROLES = ("anonymous", "customer", "colleague", "stranger", "lab_manager", "other_lab",
         "admin")
OK, LOGIN = 200, "login"

#: (method, path, state the order is in first, answers per role in the order of ROLES)
MATRIX = {
    "order page": ("GET", "/orders/{id}", "submitted",
                   (LOGIN, OK, 404, 404, OK, 404, OK)),
    "accept": ("POST", "/orders/{id}/accept", "submitted",
               (LOGIN, 403, 404, 404, 302, 404, 302)),
    "decline": ("POST", "/orders/{id}/decline", "submitted",
                (LOGIN, 403, 404, 404, 302, 404, 302)),
    "cancel": ("POST", "/orders/{id}/cancel", "submitted",
               (LOGIN, 302, 404, 404, 403, 404, 403)),
    "receive": ("POST", "/orders/{id}/receive", "accepted",
                (LOGIN, 403, 404, 404, 302, 404, 302)),
    "schedule": ("POST", "/orders/{id}/schedule", "accepted",
                 (LOGIN, 403, 404, 404, 302, 404, 302)),
    "labels": ("GET", "/orders/{id}/labels", "received",
               (LOGIN, 403, 404, 404, OK, 404, OK)),
    # a sample's code exists only for the lab running its order
    "sample page": ("GET", "/orders/samples/{code}", "received",
                    (LOGIN, 404, 404, 404, OK, 404, OK)),
    "start testing": ("POST", "/orders/{id}/start-testing", "scheduled",
                      (LOGIN, 403, 404, 404, 302, 404, 302)),
    "report": ("POST", "/orders/{id}/report", "testing",
               (LOGIN, 403, 404, 404, 302, 404, 302)),
    "report file": ("GET", "/orders/{id}/files/{file}", "report_ready",
                    (LOGIN, OK, 404, 404, OK, 404, OK)),
    "close": ("POST", "/orders/{id}/close", "report_ready",
              (LOGIN, 403, 404, 404, 302, 404, 302)),
    "lab queue": ("GET", "/orders/lab", "submitted",
                  (LOGIN, 403, 403, 403, OK, OK, OK)),
    "settings": ("GET", "/orders/instruments/{instrument}/settings", "submitted",
                 (LOGIN, 403, 403, 403, OK, 403, OK)),
    "my orders": ("GET", "/orders/", "submitted", (LOGIN, OK, OK, OK, OK, OK, OK)),
    "order form": ("GET", "/orders/new/{instrument}", "submitted",
                   (LOGIN, OK, OK, OK, OK, OK, OK)),
    "verify": ("GET", "/orders/verify", "submitted", (OK,) * 7),
}


@pytest.fixture
def frozen():
    with freeze_time(MONDAY_7_DEC_9AM) as clock:
        yield clock


def _advance(order, lab, clock, state):
    """Move a fresh order to `state` through the services ("scheduled": received, with its
    booking due)."""
    steps = ["accepted", "received", "scheduled", "testing", "report_ready"]
    for step in steps[:steps.index(state) + 1] if state in steps else []:
        if step == "accepted":
            services.accept_order(order, lab.manager)
        elif step == "received":
            services.receive_order(order, lab.manager, condition="ok")
        elif step == "scheduled":
            start = MONDAY_7_DEC_9AM + timedelta(minutes=30)
            services.schedule_booking(order, lab.manager, start=start,
                                      end=start + timedelta(hours=1))
            clock.move_to(start)
        elif step == "testing":
            services.start_testing(order, lab.manager)
        else:
            files.store(order, FileStorage(io.BytesIO(b"%PDF-1.4\n"), "r.pdf"), "report",
                        lab.manager)
            services.complete_with_report(order, lab.manager, "LAB")
    db.session.commit()


def _people(make, lab, customer):
    return {"customer": customer,
            "colleague": make.user(organisation=customer.organisation),
            "stranger": make.user(),
            "lab_manager": lab.manager,
            "other_lab": make.testing_lab().manager,
            "admin": make.user(role="admin")}


def _data(action: str, order) -> dict:
    return {"decline": {"reason": "not our field"}, "receive": {"condition": "ok"},
            "schedule": {"start": "2026-12-07T11:00", "minutes": "60"},  # Shanghai time
            "close": {"outcome": "return"},
            "report": {"report": (io.BytesIO(b"%PDF-1.4\n"), "r.pdf")}}.get(action, {})


@pytest.mark.parametrize("action", list(MATRIX))
@pytest.mark.parametrize("role", ROLES)
def test_matrix(frozen, client, login, make, role, action):
    method, path, state, answers = MATRIX[action]
    lab = make.testing_lab()
    customer = make.voucher().applicant
    order = make.order(lab.instrument, customer)
    _advance(order, lab, frozen, state)
    before, booked = order.state, len(order.bookings)
    url = path.format(id=order.id, instrument=lab.instrument.id,
                      code=order.samples[0].code,
                      file=order.files[0].id if order.files else 0)
    if role != "anonymous":
        login(_people(make, lab, customer)[role])
    if method == "GET":
        response = client.get(url)
    else:
        data = _data(action, order)
        response = client.post(url, data=data, content_type="multipart/form-data"
                               if action == "report" else None)
    expected = answers[ROLES.index(role)]
    if expected == LOGIN:
        assert response.status_code == 302 and "/login" in response.location
    else:
        assert response.status_code == expected, response.get_data(as_text=True)[:300]
    if method == "POST" and expected == 302:  # the action went through, not just a redirect
        db.session.refresh(order)
        assert order.state != before or (action == "schedule" and len(order.bookings) == 1)
    elif method == "POST":
        db.session.refresh(order)
        assert (order.state, len(order.bookings)) == (before, booked)
