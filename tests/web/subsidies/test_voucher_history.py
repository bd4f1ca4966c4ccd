"""A voucher's own page: what it paid, invoice by invoice (reported: the enterprise saw its
voucher 'used up, ¥0.00 left' with no word that most of it was only reserved for an unpaid
invoice, and the bureau's list linked to nothing)."""
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from booking.billing.invoicing import credit_note
from booking.billing.models import Invoice, InvoiceLine
from booking.billing.payments import record_bank_transfer
from booking.extensions import db
from booking.metering import services as metering
from tests.moments import MONDAY_11_MAY_9AM, SUNDAY_10_MAY_10AM


@pytest.fixture
def used(make):
    """Two hours at 400 元 an hour, the voucher paying 40 %: the first invoice paid (160 of
    its share redeemed), the second open (160 reserved) and credited a quarter (40 back)."""
    with freeze_time(SUNDAY_10_MAY_10AM):
        owner = make.organisation(short_code="DLUTV", name_zh="测试大学V")
        instrument = make.instrument(organisation=owner)
        sme = make.user(organisation=make.enterprise())
        finance = make.user(role="finance", organisation=owner)
        voucher = make.voucher(user=sme, amount_fen=5_000_000)
        bookings = [make.placed_booking(instrument, sme, MONDAY_11_MAY_9AM + timedelta(days=day))
                    for day in range(2)]
    invoices = []
    for day, booking in enumerate(bookings):
        start = MONDAY_11_MAY_9AM + timedelta(days=day)
        with freeze_time(start):
            session = metering.check_in(booking, actor=sme, source="kiosk")
        with freeze_time(start + timedelta(hours=1)):
            metering.check_out(session, actor=sme)
            invoices.append(db.session.scalar(select(Invoice).join(InvoiceLine).where(
                InvoiceLine.booking_id == booking.id)))
    with freeze_time(MONDAY_11_MAY_9AM + timedelta(days=2)):
        record_bank_transfer(invoices[0], finance, "BANK-1")
        credit_note(invoices[1], 6_000, "一个样品测试失败", finance)
    db.session.commit()
    return {"voucher": voucher, "sme": sme, "invoices": invoices, "finance": finance,
            "owner": owner}


def test_the_enterprise_sees_what_its_voucher_paid(client, login, used):
    voucher, (paid, open_) = used["voucher"], used["invoices"]
    login(used["sme"])
    mine = client.get("/vouchers/").get_data(as_text=True)
    assert f'href="/vouchers/{voucher.id}"' in mine
    page = client.get(f"/vouchers/{voucher.id}").get_data(as_text=True)
    assert 'id="voucher-redeemed">¥160.00' in page
    assert 'id="voucher-reserved">¥120.00' in page  # 160 reserved, 40 given back
    uses = page[page.index('id="voucher-uses"'):]
    assert uses.index(open_.number) < uses.index(paid.number)  # newest first
    assert f'href="/invoices/{paid.id}"' in uses  # its own invoices: linked
    row = uses[uses.index('id="use-'):].split("</tr>")[0]
    assert "¥40.00" in row and "账单开具了红字冲销单" in row


@pytest.mark.parametrize("who, status", [
    ("other_enterprise", 403), ("finance", 403), ("bureau", 200), ("anonymous", 302)])
def test_who_may_read_a_voucher(client, login, make, used, who, status):
    people = {"other_enterprise": lambda: make.user(organisation=make.enterprise()),
              "finance": lambda: used["finance"],  # the provider: its statements, not this
              "bureau": lambda: make.user(role="bureau_staff")}
    if who != "anonymous":
        login(people[who]())
    response = client.get(f"/vouchers/{used['voucher'].id}")
    assert response.status_code == status
    if status == 200:  # the bureau reads the holder's invoices' numbers, unlinked
        page = response.get_data(as_text=True)
        assert used["invoices"][0].number in page
        assert f'href="/invoices/{used["invoices"][0].id}"' not in page
    assert client.get("/vouchers/999999").status_code == (302 if who == "anonymous" else 404)
