"""The daily life of bookings, walked in the browser: waiting for a taken time and getting it
when it frees, moving a booking, the lab booking for someone who phoned in, and a walk-up at
the kiosk."""
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from booking.core.clock import from_local, now_utc, to_local
from tests.browser.helpers import DEMO_PASSWORD, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.committing]


def next_tuesday() -> date:
    today = to_local(now_utc(), "Asia/Shanghai").date()
    return today + timedelta(days=7 - today.weekday() + 1)


def _at(day: date, hour: int) -> datetime:
    return from_local(datetime.combine(day, time(hour)), "Asia/Shanghai")


def _in_app(live_app, make):
    """Run `make(factory, user_of)` in the live app and commit; returns what it returns."""
    from booking.accounts.models import User
    from booking.extensions import db
    from tests.factories import Factory

    with live_app.app_context():
        def user_of(email):
            return db.session.scalar(select(User).where(User.email == email))
        result = make(Factory(), user_of)
        db.session.commit()
        return result


def _dlut_instrument(factory, user_of, name, **fields):
    return factory.instrument(organisation=user_of("manager.dlut@demo.cn").organisation,
                              name_zh=name, name_en=name, **fields)


def _fill_time(page, day: date, start: str, end: str):
    page.fill("#start", f"{day.isoformat()}T{start}")
    page.fill("#end", f"{day.isoformat()}T{end}")
    page.dispatch_event("#end", "change")


def test_a_wait_listed_user_gets_the_freed_time(live_server, live_app, browser, page):
    tuesday = next_tuesday()

    def setup(factory, user_of):
        instrument = _dlut_instrument(factory, user_of, "气相色谱仪（候补测试）",
                                      requires_approval=False)
        booking = factory.placed_booking(instrument, user_of("researcher.ustl@demo.cn"),
                                         _at(tuesday, 10))
        return instrument.id, booking.id
    instrument_id, held_id = _in_app(live_app, setup)

    log_in(page, live_server, "sme@demo.cn")
    page.goto(f"{live_server}/instruments/{instrument_id}/book")
    page.locator(".fc-timegrid").wait_for()
    _fill_time(page, tuesday, "10:00", "11:00")
    page.fill("#purpose", "高分子样品 GC 分析")
    page.locator("#waitlist-join:not(.d-none)").wait_for()  # the quote says the time is taken
    assert "预约" in page.inner_text("#quote-problems")
    page.click("#waitlist-join")
    page.wait_for_url(live_server + "/waitlist")
    assert page.locator(".waitlist-entry").count() == 1

    holder = browser.new_context(locale="zh-CN").new_page()
    log_in(holder, live_server, "researcher.ustl@demo.cn")
    holder.goto(live_server + "/bookings/mine")
    holder.once("dialog", lambda dialog: dialog.accept())
    holder.click(f"form[action$='/bookings/{held_id}/cancel'] button")
    holder.wait_for_url(live_server + "/bookings/mine")
    holder.context.close()

    page.goto(live_server + "/waitlist")
    page.locator(".waitlist-entry .offer").wait_for()  # offered, held for the SME
    shot(page, "waitlist-offer")
    page.click("form[action$='/accept'] button")
    page.wait_for_url(live_server + "/bookings/mine")
    assert "气相色谱仪（候补测试）" in page.inner_text("body")


def test_a_booker_moves_a_booking(live_server, live_app, page):
    tuesday = next_tuesday()

    def setup(factory, user_of):
        instrument = _dlut_instrument(factory, user_of, "拉曼光谱仪（改期测试）",
                                      requires_approval=True)
        return factory.placed_booking(instrument, user_of("student.dlut@demo.cn"),
                                      _at(tuesday, 14)).id
    booking_id = _in_app(live_app, setup)

    log_in(page, live_server, "student.dlut@demo.cn")
    page.goto(live_server + "/bookings/mine")
    page.click(f"a[href$='/bookings/{booking_id}/reschedule']")
    page.wait_for_url(f"{live_server}/bookings/{booking_id}/reschedule")
    _fill_time(page, tuesday, "16:00", "17:00")
    page.click("#check")
    page.locator("#new-price").wait_for()
    shot(page, "reschedule-check")
    page.click("#submit")
    page.wait_for_url(live_server + "/bookings/mine")
    assert "16:00" in page.inner_text("body") and "待审批" in page.inner_text("body")


def test_the_lab_books_for_someone_who_phoned_in(live_server, live_app, page):
    tuesday = next_tuesday()
    instrument_id = _in_app(live_app, lambda factory, user_of: _dlut_instrument(
        factory, user_of, "原子力显微镜（代约测试）", requires_approval=True).id)

    log_in(page, live_server, "manager.dlut@demo.cn")
    page.goto(f"{live_server}/lab/instruments/{instrument_id}")
    page.click("#book-for")
    page.fill("#who", "sme@demo.cn")
    _fill_time(page, tuesday, "09:00", "10:00")
    page.fill("#purpose", "电话预约：薄膜表面形貌")
    shot(page, "book-for-form")
    page.click("#book-for-form [type=submit]")
    page.wait_for_url(f"{live_server}/instruments/{instrument_id}/book")
    assert "王海" in page.inner_text(".alert-success")


def test_an_internal_user_walks_up_to_the_kiosk(live_server, live_app, page):
    def setup(factory, user_of):
        from booking.metering import services

        manager = user_of("manager.dlut@demo.cn")
        instrument = _dlut_instrument(factory, user_of, "比表面分析仪（临时使用测试）",
                                      hours="always")
        return services.create_instrument_token(instrument, "kiosk", manager)[1]
    token = _in_app(live_app, setup)

    page.context.clear_cookies()
    page.goto(live_server + "/kiosk/pair")
    page.fill("#token", token)
    page.click("form button[type=submit]")
    page.wait_for_url(live_server + "/kiosk")
    page.fill("#email", "student.dlut@demo.cn")
    page.fill("#password", DEMO_PASSWORD)
    page.fill("#walk_up_minutes", "30")
    page.click("#kiosk-submit")
    page.wait_for_url(live_server + "/kiosk")
    assert "临时使用开始计时" in page.inner_text(".alert-success")


def test_the_calendars_today_is_the_instruments_not_the_browsers(live_server, live_app,
                                                                 browser):
    """A browser 20 hours behind Shanghai (UTC-12) still marks Shanghai's today, and the
    now-line stands at Shanghai's hour."""
    instrument_id = _in_app(live_app, lambda factory, user_of: _dlut_instrument(
        factory, user_of, "电子探针（时区测试）", hours="always").id)
    context = browser.new_context(locale="zh-CN", timezone_id="Etc/GMT+12",
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server}/instruments/{instrument_id}/book")
    page.locator(".fc-timegrid-now-indicator-line").wait_for()
    shanghai = to_local(now_utc(), "Asia/Shanghai")
    today = page.locator("td.fc-timegrid-col.fc-day-today").get_attribute("data-date")
    assert today == shanghai.date().isoformat()
    line = page.locator(".fc-timegrid-now-indicator-line").bounding_box()
    hour = page.locator(f"td.fc-timegrid-slot-lane[data-time='{shanghai.hour:02d}:00:00']"
                        ).bounding_box()
    assert hour["y"] - 1 <= line["y"] <= hour["y"] + 2 * hour["height"] + 1  # within that hour
    context.close()


def test_a_blackout_cancels_two_bookings_and_both_bookers_are_told(live_server, live_app,
                                                                    browser, page):
    tuesday = next_tuesday() + timedelta(days=7)

    def setup(factory, user_of):
        instrument = _dlut_instrument(factory, user_of, "透射电镜（停机测试）")
        for hour, email in ((9, "student.dlut@demo.cn"), (11, "sme@demo.cn")):
            factory.placed_booking(instrument, user_of(email), _at(tuesday, hour))
        return instrument.id
    instrument_id = _in_app(live_app, setup)

    log_in(page, live_server, "manager.dlut@demo.cn")
    page.goto(f"{live_server}/lab/instruments/{instrument_id}")
    page.fill("#blackout-start", f"{tuesday.isoformat()}T08:00")
    page.fill("#blackout-end", f"{tuesday.isoformat()}T13:00")
    page.fill("#blackout-reason", "停电检修")
    page.click("#blackout-form [type=submit]")
    hits = page.locator("#blackout-hits li")
    hits.first.wait_for()
    assert hits.count() == 2 and "张伟" in page.inner_text("#blackout-hits")
    shot(page, "blackout-confirm")
    page.click("#blackout-confirm button")
    page.wait_for_url(f"{live_server}/lab/instruments/{instrument_id}")
    assert "2" in page.inner_text(".alert-success")

    for email in ("student.dlut@demo.cn", "sme@demo.cn"):
        booker = browser.new_context(locale="zh-CN").new_page()
        log_in(booker, live_server, email)
        booker.goto(live_server + "/inbox")
        assert "停电检修" in booker.inner_text("#notices")
        booker.context.close()


def test_the_labs_message_is_in_view_after_acting_on_a_row_far_down(live_server, live_app,
                                                                      browser):
    """Back at the acted-on row (a long day on a phone is not scrolled again), the message
    that the check-in went through floats at the bottom of the screen: at the top of the page
    it was out of view. The row stays in view, where the anchor put it."""
    def setup(factory, user_of):
        instrument = _dlut_instrument(factory, user_of, "热重分析仪（手机签到测试）",
                                      hours="always")
        started = now_utc().replace(second=0, microsecond=0) - timedelta(minutes=10)
        booking = factory.placed_booking(instrument, user_of("student.dlut@demo.cn"), started)
        day = to_local(started, "Asia/Shanghai").date()
        return booking.id, f"/instruments/{instrument.id}/schedule?day={day.isoformat()}"
    booking_id, path = _in_app(live_app, setup)

    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 320},
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    log_in(page, live_server, "manager.dlut@demo.cn")
    page.goto(live_server + path)
    page.click(f"#booking-{booking_id} form button:has-text('签到')")
    page.wait_for_url(f"**#booking-{booking_id}")
    floating = page.locator(".flash-floating .alert-success")
    floating.wait_for()
    box = floating.bounding_box()
    assert "已签到" in floating.inner_text()
    assert 0 <= box["y"] and box["y"] + box["height"] <= 320  # on the screen
    row = page.locator(f"#booking-{booking_id}").bounding_box()
    assert row["y"] < 80 and row["y"] + row["height"] > 80  # in view, at the top where it was
    context.close()
