"""A student books a weekly group slot for four weeks: the preview shows every occurrence with
its price and the one week someone else already holds, the student books the free ones and
finds them in My bookings."""
from datetime import date, datetime, time, timedelta

import pytest

from booking.core.clock import from_local, now_utc, to_local
from tests.browser.helpers import log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.committing]


def tuesday_in_two_weeks() -> date:
    today = to_local(now_utc(), "Asia/Shanghai").date()
    return today + timedelta(days=14 - today.weekday() + 1)


@pytest.fixture(scope="module")
def instrument_id(live_app):
    """An auto-approved instrument of 大连理工大学 (weekdays 08:00-18:00), whose third Tuesday
    at 10:00 another user holds since yesterday."""
    from sqlalchemy import select

    from booking.accounts.models import Organisation
    from booking.extensions import db
    from tests.factories import Factory

    make = Factory()
    with live_app.app_context():
        dlut = db.session.scalar(select(Organisation).where(Organisation.name_zh == "大连理工大学"))
        instrument = make.instrument(organisation=dlut, requires_approval=False,
                                     name_zh="拉曼光谱仪（系列预约测试）",
                                     name_en="Raman spectrometer (series test)")
        third = datetime.combine(tuesday_in_two_weeks() + timedelta(weeks=2), time(10))
        make.placed_booking(instrument, make.user(organisation=dlut),
                            from_local(third, "Asia/Shanghai"), minutes=60,
                            created_at=now_utc() - timedelta(days=1))
        return instrument.id


def test_a_weekly_series_with_one_clash(live_server, page, instrument_id):
    first = tuesday_in_two_weeks()
    days = [first + timedelta(weeks=n) for n in range(4)]
    log_in(page, live_server, "student.dlut@demo.cn")
    page.goto(f"{live_server}/instruments/{instrument_id}/book")
    page.fill("#start", f"{first.isoformat()}T10:00")
    page.fill("#end", f"{first.isoformat()}T12:00")
    page.fill("#purpose", "课题组每周拉曼测试")
    page.select_option("#repeat-freq", "weekly")
    assert page.is_checked("#repeat-byweekday-TU")  # the start's day, ticked for the user
    assert not page.is_visible("#book-submit")  # a series is booked from its preview
    page.fill("#repeat-count", "4")
    page.click("#series-preview-button")
    page.locator("#series-preview:not(.d-none)").wait_for()
    rows = page.locator("#series-occurrences li")
    assert rows.count() == 4
    assert [rows.nth(n).locator(".series-when").inner_text()[:10] for n in range(4)] == [
        d.isoformat() for d in days]
    assert [rows.nth(n).locator(".series-price").inner_text() for n in range(4)] == [
        "¥200.00"] * 4
    clash = page.locator("#series-occurrences li.series-refused")
    assert clash.count() == 1 and days[2].isoformat() in clash.inner_text()
    assert "已批准" in clash.inner_text()  # what holds it (approved), never who
    assert "3" in page.inner_text("#series-summary") and "¥600.00" in page.inner_text(
        "#series-summary")
    shot(page, "series-1-preview")

    page.click("#series-book")
    page.wait_for_url(live_server + "/bookings/mine")
    assert page.locator(".alert-warning", has_text=f"{days[2].isoformat()} 10:00").count() == 1
    mine = page.inner_text("main")
    for day in (days[0], days[1], days[3]):
        assert f"{day.isoformat()} 10:00" in mine
    assert page.locator(".series-cancel-all").count() == 3
    shot(page, "series-2-mine")
