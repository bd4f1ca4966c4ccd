"""Issue 19 in Chromium. The PI path: a student books against the group's project (default
preselected, the quote shows the budget), the PI approves from the link in the e-mail, the lab
approves, the session is recorded, the invoice is charged to the project and its budget drops.
The finance path: a part bank transfer, then the rest, a credit note after a confirmation with
a link to it, the month close preview and the overdue list."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from booking.core.clock import now_utc, to_local
from booking.extensions import db
from tests.browser.helpers import follow, shot
from tests.factories import Factory
from tests.factories.groups import create_group, create_project

pytestmark = [pytest.mark.browser, pytest.mark.committing]


def _english(page, base):
    page.goto(base + "/")
    page.click("#language-switch button[value=en]")


def _log_in(page, base, email):
    page.context.clear_cookies()
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", Factory.PASSWORD)
    page.click("form button[type=submit]")
    page.locator("#user-menu").wait_for()
    _english(page, base)


@pytest.fixture
def lab_and_group(live_app):
    with live_app.app_context():
        make = Factory()
        owner = make.organisation(short_code="DLUTG", name_zh="大连理工大学（课题组测试）")
        instrument = make.instrument(organisation=owner, requires_approval=True, hours="always")
        manager = make.user(role="lab_manager", organisation=owner)
        pi = make.user(role="member", organisation=owner, name="王导师")
        student = make.user(role="student", organisation=owner, name="李同学")
        group = create_group(pi, members=[student], approval_mode="always")
        project = create_project(group, budget_fen=50_000, over_budget="pi",
                                 default_for=[student])
        return {"instrument": instrument.id, "manager": manager.email, "pi": pi.email,
                "student": student.email, "student_id": student.id, "project": project.id,
                "manager_id": manager.id}


def _pi_link(live_app, pi_email: str) -> str:
    from booking.core.notifications import OutboxMessage

    with live_app.app_context():
        body = db.session.scalars(select(OutboxMessage.body).where(
            OutboxMessage.recipient == pi_email).order_by(OutboxMessage.id.desc())).first()
    found = re.search(r"(?:Approve: |批准：)(\S+)", body or "")
    assert found, body
    return found.group(1)


def test_the_pi_path(live_server, live_app, lab_and_group, page):
    base, ids = live_server, lab_and_group
    _log_in(page, base, ids["student"])
    start = to_local(now_utc() + timedelta(days=2)).replace(hour=10, minute=0)
    page.goto(f"{base}/instruments/{ids['instrument']}/book")
    assert page.locator("#project").input_value() == str(ids["project"])  # the default
    page.fill("#start", f"{start:%Y-%m-%dT%H:%M}")
    page.fill("#end", f"{start + timedelta(hours=1):%Y-%m-%dT%H:%M}")
    page.locator("#end").dispatch_event("change")
    page.locator("#quote-project-remaining").get_by_text("¥500.00").wait_for()
    assert page.locator("#quote-project-after").inner_text() == "¥400.00"
    assert page.locator("#quote-payable-label").inner_text() == "The project account pays"
    page.fill("#purpose", "XPS 表面分析")
    shot(page, "groups_booking_form")
    page.click("#book-submit")
    page.locator(".alert-success").get_by_text("PI").wait_for()

    link = _pi_link(live_app, ids["pi"])
    assert link.startswith(base + "/pi/decide/")
    page.context.clear_cookies()  # the PI is not signed in: the signed link is enough
    page.goto(link)
    assert "李同学" in page.locator("#pi-link").inner_text()
    shot(page, "groups_pi_link")
    page.click("#link-form button")
    page.locator("#link-done").wait_for()

    _log_in(page, base, ids["manager"])
    page.goto(base + "/bookings/queue")
    with live_app.app_context():
        from booking.bookings.models import Booking

        booking_id = db.session.scalar(select(Booking.id).where(
            Booking.user_id == ids["student_id"]))
    page.click(f"form[action$='/bookings/{booking_id}/approve'] button")
    page.locator(".alert-success").wait_for()

    with live_app.app_context():  # the lab enters the session afterwards
        from booking.accounts.models import User
        from booking.bookings.models import Booking
        from booking.core.notifications import commit
        from booking.metering.services import record_session

        booking = db.session.get(Booking, booking_id)
        assert booking.state == "approved"
        # the week goes by (a session is recorded within its booking's time)
        end = now_utc().replace(second=0, microsecond=0) - timedelta(minutes=5)
        booking.start_at, booking.end_at = end - timedelta(hours=1), end
        record_session(booking.instrument, booking.user, start=booking.start_at, end=end,
                       actor=db.session.get(User, ids["manager_id"]), source="manager",
                       booking=booking)
        commit()

    _log_in(page, base, ids["student"])
    page.goto(f"{base}/projects/{ids['project']}")
    assert page.locator("#project-spent").inner_text() == "¥100.00"
    assert page.locator("#project-remaining").inner_text() == "¥400.00"
    shot(page, "groups_project")
    follow(page, "#ledger a")  # the invoice charged to the project
    assert "NSFC-22075" in page.locator("#invoice-project").inner_text()


@pytest.fixture
def unpaid(live_app):
    with live_app.app_context():
        make = Factory()
        owner = make.organisation(short_code="DLUTF", name_zh="大连理工大学（财务测试）")
        instrument = make.instrument(organisation=owner)
        finance = make.user(role="finance", organisation=owner)
        customer = make.user(organisation=make.organisation(kind="enterprise"), name="赵经理")
        invoice = make.issued_invoice(instrument, customer.organisation, 40_000,
                                      now_utc() - timedelta(days=40),
                                      due_at=now_utc() - timedelta(days=10),
                                      customer_user_id=customer.id)
        return {"finance": finance.email, "invoice": invoice.id, "number": invoice.number}


def test_the_finance_path(live_server, unpaid, page):
    base = live_server
    _log_in(page, base, unpaid["finance"])
    page.goto(base + "/finance/overdue")
    assert unpaid["number"] in page.locator("#overdue-list").inner_text()
    shot(page, "finance_overdue")
    page.click(f"#overdue-list a:text('{unpaid['number']}')")
    page.fill("#received-amount", "150.00")
    page.fill("#reference", "BOC-0001")
    follow(page, "#bank-transfer-form button")
    assert "¥250.00 still outstanding" in page.locator(".alert-success").inner_text()
    assert page.locator("#left-to-pay td").inner_text() == "¥250.00"
    assert page.locator("#received-amount").input_value() == "250.00"  # the rest, proposed
    page.fill("#reference", "BOC-0002")
    follow(page, "#bank-transfer-form button")
    assert "is paid" in page.locator(".alert-success").inner_text()
    shot(page, "finance_paid")

    page.fill("#credit-form #amount", "40.00")
    page.fill("#credit-form #reason", "calibration")
    page.once("dialog", lambda dialog: dialog.dismiss())  # asked first: nothing happens
    page.click("#credit-form button")
    assert "is paid" in page.locator(".alert-success").inner_text()  # the page stayed
    page.once("dialog", lambda dialog: dialog.accept())
    follow(page, "#credit-form button")
    follow(page, ".alert-success a")  # the flash links to the new credit note
    assert "−" in page.locator("#amount-due").inner_text() or \
        "40.00" in page.locator("#amount-due").inner_text()
    shot(page, "finance_credit_note")

    page.goto(base + "/finance/close")
    page.locator("#close-preview").wait_for()
    shot(page, "finance_close")


def test_the_pi_picks_an_instrument_for_a_limit_and_ticks_approval_categories(
        live_server, live_app, page):
    """The limit's instrument is chosen from suggestions that name the institution; the
    approval form shows the threshold or the categories only for the mode that uses them."""
    with live_app.app_context():
        make = Factory()
        owner = make.organisation(name_zh="大连理工大学（限额测试）", name_en="DUT (limits test)")
        make.instrument(organisation=owner, name_zh="显微共焦拉曼光谱仪",
                        name_en="Confocal Raman microscope")
        pi = make.user(role="member", organisation=owner)
        group = create_group(pi, approval_mode="above_fee")
        ids = {"pi": pi.email, "project": create_project(group).id, "group": group.id}
        db.session.commit()
    base, group_id = live_server, ids["group"]
    _log_in(page, base, ids["pi"])
    page.goto(f"{base}/projects/{ids['project']}")
    page.locator("#instrument").press_sequentially("raman", delay=30)
    # other tests' Raman instruments may rank first: the one named, from its institution
    option = page.locator("#instrument-suggestions option[value^='Confocal Raman microscope · ']")
    option.wait_for(state="attached")
    label = option.get_attribute("value")
    assert "· DUT (limits test) · #" in label and re.search(r"#\d+$", label)
    page.fill("#instrument", label)
    page.fill("#limit", "80")
    page.click("#limit-form button")
    row = page.locator("#limits tbody tr").first
    row.get_by_text("Confocal Raman microscope").wait_for()
    assert "¥80.00" in row.inner_text()
    shot(page, "groups_project_limits")
    page.goto(f"{base}/groups/{group_id}")
    assert page.locator("#categories").is_hidden()
    page.select_option("#mode", "categories")
    assert page.locator("#categories").is_visible() and page.locator("#threshold").is_hidden()
    page.check("#approval-form input[value=laser]")
    page.click("#approval-form button")
    page.locator(".alert-success").wait_for()
    assert page.locator("#approval-form input[value=laser]").is_checked()
