"""A student books a free slot on the calendar, the lab manager approves it from the queue, the
student sees it approved and finds it in the private calendar feed."""
from datetime import date, timedelta

import pytest
from icalendar import Calendar

from booking.core.clock import now_utc, to_local
from tests.browser.helpers import log_in, nav_to, shot

pytestmark = [pytest.mark.browser, pytest.mark.committing]



@pytest.fixture(scope="module")
def instrument_id(live_app):
    """An approval-only instrument of 大连理工大学, open on weekdays 08:00-18:00."""
    from sqlalchemy import select

    from booking.accounts.models import Organisation
    from booking.extensions import db
    from tests.factories import Factory

    with live_app.app_context():
        dlut = db.session.scalar(select(Organisation).where(Organisation.name_zh == "大连理工大学"))
        instrument = Factory().instrument(organisation=dlut, requires_approval=True,
                                          name_zh="X射线衍射仪（浏览器测试）",
                                          name_en="X-ray diffractometer (browser test)")
        return instrument.id






def next_tuesday() -> date:
    today = to_local(now_utc(), "Asia/Shanghai").date()
    return today + timedelta(days=7 - today.weekday() + 1)


def open_on_week_of(page, live_server, instrument_id, day: date):
    """The student's booking page, its calendar moved to `day`'s week by typing a start."""
    log_in(page, live_server, "student.dlut@demo.cn")
    page.goto(f"{live_server}/instruments/{instrument_id}/book")
    page.locator(".fc-timegrid").wait_for()
    page.fill("#start", f"{day.isoformat()}T10:00")
    page.dispatch_event("#start", "change")
    page.locator(f"td.fc-timegrid-col[data-date='{day.isoformat()}']").wait_for()


def drag_select(page, day: date, start: str, end_slot: str):
    """Drag in the week grid from the start slot to the last slot (HH:MM:SS data-time)."""
    column = page.locator(f"td.fc-timegrid-col[data-date='{day.isoformat()}']").bounding_box()
    first = page.locator(f"td.fc-timegrid-slot-lane[data-time='{start}']").bounding_box()
    last = page.locator(f"td.fc-timegrid-slot-lane[data-time='{end_slot}']").bounding_box()
    x = column["x"] + column["width"] / 2
    page.mouse.move(x, first["y"] + first["height"] / 2)
    page.mouse.down()
    page.mouse.move(x, last["y"] + last["height"] / 2, steps=8)
    page.mouse.up()


def test_book_approve_and_see_it_in_the_feed(live_server, browser, page, instrument_id):
    tuesday = next_tuesday()
    log_in(page, live_server, "student.dlut@demo.cn")
    page.goto(f"{live_server}/instruments/{instrument_id}/book")
    page.locator(".fc-timegrid").wait_for()
    page.click(".fc-next-button")
    page.locator(f"td.fc-timegrid-col[data-date='{tuesday.isoformat()}'] .ev-free").first.wait_for()
    page.locator("td.fc-timegrid-slot-lane[data-time='10:00:00']").scroll_into_view_if_needed()
    drag_select(page, tuesday, "10:00:00", "10:30:00")
    assert page.input_value("#start") == f"{tuesday.isoformat()}T10:00"
    assert page.input_value("#end") == f"{tuesday.isoformat()}T11:00"
    page.locator("#quote-body:not(.d-none)").wait_for()
    assert page.inner_text("#quote-payable") == "¥100.00"  # internal rate 100 元/h
    page.fill("#purpose", "催化剂样品 XRD 物相分析")
    shot(page, "booking-1-form")
    page.click("#book-submit")
    page.wait_for_url(live_server + "/bookings/mine")
    row = page.locator("#upcoming tbody tr").first
    assert "待审批" in row.inner_text() and "X射线衍射仪" in row.inner_text()

    manager = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    manager_page = manager.new_page()
    log_in(manager_page, live_server, "manager.dlut@demo.cn")
    nav_to(manager_page, "/bookings/queue")  # 预约审批, in the lab's menu
    request_row = manager_page.locator("#queue tbody tr", has_text="催化剂样品 XRD 物相分析")
    assert "张伟" in request_row.inner_text() and "大连理工大学" in request_row.inner_text()
    shot(manager_page, "booking-2-queue")
    request_row.locator(".approve-btn").click()
    manager_page.wait_for_load_state()
    assert "已批准" in manager_page.locator(".alert-success").inner_text()
    manager.close()

    page.goto(live_server + "/bookings/mine")
    assert "已批准" in page.locator("#upcoming tbody tr").first.inner_text()
    page.click("#feed-reset")
    page.wait_for_load_state()
    feed_url = page.inner_text("#feed-url")
    shot(page, "booking-3-mine")
    feed = Calendar.from_ical(page.request.get(feed_url).body())
    (event,) = [e for e in feed.walk("VEVENT") if "X射线衍射仪" in str(e["summary"])]
    assert str(event["status"]) == "CONFIRMED"
    assert to_local(event.decoded("dtstart"), "Asia/Shanghai").strftime("%Y-%m-%d %H:%M") == \
        f"{tuesday.isoformat()} 10:00"

    page.goto(f"{live_server}/instruments/{instrument_id}/book")
    page.click(".fc-next-button")
    own = page.locator(".ev-own").first
    own.wait_for()
    assert "已批准" in own.inner_text()
    shot(page, "booking-4-calendar")
    with page.expect_navigation():
        own.click()  # one's own booking opens its page
    assert "/bookings/" in page.url and "X射线衍射仪" in page.inner_text("h1 + div")
    assert page.get_attribute("#booking-state", "data-state") == "approved"


def test_phone_shows_a_list_and_tapping_a_free_slot_fills_the_form(live_server, phone_page,
                                                                    instrument_id):
    page = phone_page
    log_in(page, live_server, "student.dlut@demo.cn")
    page.goto(f"{live_server}/instruments/{instrument_id}/book")
    page.locator(".fc-list").wait_for()
    page.click(".fc-next-button")
    free = page.locator(".fc-list-event.ev-free").first
    free.wait_for()
    free.click()
    assert page.input_value("#start") and page.input_value("#end")
    page.locator("#quote-body:not(.d-none)").wait_for()
    shot(page, "booking-5-phone")


def test_a_visitor_tapping_free_time_on_a_phone_is_led_to_log_in(live_server, phone_page,
                                                                 instrument_id):
    """"Free: tap to book" did nothing for a visitor not logged in (the log-in button sat
    below the whole calendar); the phone's toolbar also had no way back to today."""
    page = phone_page
    page.goto(f"{live_server}/instruments/{instrument_id}/book")
    page.locator(".fc-list").wait_for()
    page.click(".fc-next-button")
    page.locator(".fc-list-event.ev-free").first.click()
    page.wait_for_function("""() => {  // focused and scrolled into view (smoothly)
        const el = document.activeElement, r = el.getBoundingClientRect();
        return el.id === "login-to-book" && r.top >= 0 && r.bottom <= innerHeight; }""")
    page.click(".fc-today-button")  # back to this week
    assert page.locator(".fc-today-button").is_disabled()
    # the day grid shows the hours the instrument opens (08:00-18:00), not a whole day
    page.click(".fc-timeGridDay-button")
    page.locator(".fc-timeGridDay-view").wait_for()
    times = page.eval_on_selector_all(".fc-timegrid-slot-lane", "els => els.map(e => e.dataset.time)")
    assert times[0] == "08:00:00" and times[-1] < "18:00:00"


def test_a_refused_request_on_a_phone_shows_why(live_server, live_app, phone_page,
                                                instrument_id):
    """The reasons sit above the form, below the calendar: the page came back on the calendar
    (a busy week's list is taller than the phone) and seemed to have done nothing."""
    from booking.core.clock import local_midnight
    from booking.extensions import db
    from booking.instruments.models import Instrument
    from tests.factories import Factory

    day = next_tuesday() + timedelta(weeks=5)
    with live_app.app_context():  # a busy week: one booking an hour, Monday to Friday
        instrument, other = db.session.get(Instrument, instrument_id), Factory().user()
        monday = local_midnight(day - timedelta(days=1), "Asia/Shanghai")
        for n in range(5 * 9):
            Factory().placed_booking(instrument, other, monday + timedelta(
                days=n // 9, hours=8 + n % 9))
    page = phone_page
    log_in(page, live_server, "student.dlut@demo.cn")
    page.goto(f"{live_server}/instruments/{instrument_id}/book")
    page.fill("#start", f"{day.isoformat()}T11:00")
    page.fill("#end", f"{day.isoformat()}T10:00")
    page.fill("#purpose", "XRD")
    page.click("#book-submit")
    page.wait_for_function("""() => {
        const box = document.getElementById("booking-problems");
        if (!box) return false;
        const r = box.getBoundingClientRect();
        return r.top >= 0 && r.bottom <= innerHeight; }""", timeout=5000)
    assert "结束时间必须晚于开始时间" in page.inner_text("#booking-problems")


def test_going_back_a_week_revalidates_the_kept_calendar(live_server, page, instrument_id):
    """FullCalendar fetches on every navigation; the browser's copy is revalidated (304) and
    the calendar shows it as if fetched anew."""
    log_in(page, live_server, "student.dlut@demo.cn")
    page.goto(f"{live_server}/instruments/{instrument_id}/book")
    page.locator(".fc-timegrid").wait_for()
    page.click(".fc-next-button")  # next week: open days with free time
    page.locator(".fc-timegrid .ev-free").first.wait_for()
    page.click(".fc-next-button")
    page.locator(".fc-timegrid .ev-free").first.wait_for()
    with page.expect_response(lambda r: "calendar.json" in r.url) as answer:
        page.click(".fc-prev-button")
    # the browser asked with its copy's ETag and the server sent 304: no body, so no type
    # (Chromium shows the page a revalidated answer as 200, from its cache)
    sent, got = answer.value.request.all_headers(), answer.value.all_headers()
    assert sent["if-none-match"] == got["etag"] and "content-type" not in got
    page.locator(".fc-timegrid .ev-free").first.wait_for()  # shown from the browser's copy


def test_the_calendar_is_fetched_once_per_week_shown(live_server, page, instrument_id):
    """Opening the page asks for its week once (it asked twice: once more when the first view
    mounted), and so does each week after; a day of a week already shown asks nothing."""
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "calendar.json" in r.url else None)
    log_in(page, live_server, "student.dlut@demo.cn")
    page.goto(f"{live_server}/instruments/{instrument_id}/book")
    page.locator(".fc-timegrid").wait_for()
    page.wait_for_load_state("networkidle")
    assert len(asked) == 1, asked
    page.click(".fc-next-button")
    page.locator(".fc-timegrid .ev-free").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert len(asked) == 2, asked
    page.click(".fc-timeGridDay-button")  # a day of the week already fetched: same shape
    page.locator(".fc-timeGridDay-view").wait_for()
    page.wait_for_load_state("networkidle")
    assert len(asked) == 2, asked


def test_the_calendar_follows_the_start_typed_in_the_form(live_server, page, instrument_id):
    """A start typed (or shown again after a refusal) opens its week in the calendar; the
    month grid shows bookings as bars that say what they are, and how many hours each day
    has free; a day opens to book them."""
    far = next_tuesday() + timedelta(weeks=6)
    open_on_week_of(page, live_server, instrument_id, far)
    assert page.get_attribute(".fc-prev-button", "title") == "上一周"  # not the month's "上月"
    page.fill("#end", f"{far.isoformat()}T11:00")
    page.click("#book-submit")  # no purpose: refused, the page comes back on that week
    page.locator("#purpose.is-invalid").wait_for()
    page.locator(f"td.fc-timegrid-col[data-date='{far.isoformat()}']").wait_for()
    page.click(".fc-dayGridMonth-button")
    page.locator(".fc-daygrid").wait_for()
    assert page.get_attribute(".fc-next-button", "title") == "下个月"
    assert page.locator(".fc-daygrid-dot-event").count() == 0  # bars, not link-coloured dots
    day = page.locator(f"td.fc-daygrid-day[data-date='{far.isoformat()}']")
    assert day.locator(".ev-free-day").inner_text() == "余10小时"  # open 08:00-18:00
    assert page.locator("td.fc-day-sat .ev-free-day").count() == 0  # closed at weekends
    day.locator(".ev-free-day").click()  # the tinted day
    page.locator(f"td.fc-timegrid-col[data-date='{far.isoformat()}'] .ev-free").first.wait_for()


def test_the_month_grid_shows_a_blacked_out_day(live_server, live_app, page, instrument_id):
    """A weekday the lab blacked out whole is hatched and says so (blank, it looked like a
    closed day); a day blacked out in part keeps its free hours, less the blackout's."""
    from booking.core.clock import local_midnight
    from booking.extensions import db
    from booking.instruments.models import Blackout

    wednesday = next_tuesday() + timedelta(weeks=7, days=1)  # within 60 days
    thursday = wednesday + timedelta(days=1)
    with live_app.app_context():
        thursday_0h = local_midnight(thursday, "Asia/Shanghai")
        db.session.add_all([
            Blackout(instrument_id=instrument_id, start_at=local_midnight(wednesday, "Asia/Shanghai"),
                     end_at=thursday_0h, reason="年度维护"),
            Blackout(instrument_id=instrument_id, start_at=thursday_0h + timedelta(hours=10),
                     end_at=thursday_0h + timedelta(hours=12), reason="校准")])
        db.session.commit()
    open_on_week_of(page, live_server, instrument_id, wednesday)
    page.click(".fc-dayGridMonth-button")
    blacked_out = page.locator(f"td.fc-daygrid-day[data-date='{wednesday.isoformat()}']")
    assert blacked_out.locator(".ev-blackout-day").inner_text() == "不可用"
    assert blacked_out.locator(".ev-free-day").count() == 0
    partly = page.locator(f"td.fc-daygrid-day[data-date='{thursday.isoformat()}']")
    assert partly.locator(".ev-free-day").inner_text() == "余8小时"  # 08:00-18:00 less 2 hours
    assert partly.locator(".ev-blackout-day").count() == 0
    shot(page, "calendar-month-blackout")


def test_a_one_slot_booking_shows_its_title_whole_in_the_week(live_server, live_app, page,
                                                               instrument_id):
    """A 30-minute booking is one line high in the week grid: its times beside the title cut
    the title to "9:30–10:00 - 已"; now it shows the title, and hovering tells the times."""
    from sqlalchemy import select

    from booking.accounts.models import User
    from booking.core.clock import local_midnight
    from booking.extensions import db
    from booking.instruments.models import Instrument
    from tests.factories import Factory

    thursday = next_tuesday() + timedelta(weeks=2, days=2)
    with live_app.app_context():
        other = db.session.scalar(select(User).where(User.email == "manager.dlut@demo.cn"))
        Factory().placed_booking(
            db.session.get(Instrument, instrument_id), other,
            local_midnight(thursday, "Asia/Shanghai") + timedelta(hours=9, minutes=30),
            minutes=30)
    open_on_week_of(page, live_server, instrument_id, thursday)
    short = page.locator(f"td.fc-timegrid-col[data-date='{thursday.isoformat()}'] "
                         ".fc-timegrid-event-short .fc-event-title")
    assert short.inner_text() == "已占用"
    assert short.get_attribute("title") == "9:30–10:00 已占用"
    box, inside = short.bounding_box(), short.locator("xpath=..").bounding_box()
    assert box["x"] + box["width"] <= inside["x"] + inside["width"] + 1  # not cut off


def test_the_month_grid_keeps_a_bookings_time_whole(live_server, live_app, page, instrument_id):
    """In English a booking's bar in the month grid read "14:3( approve": the title squeezed
    the time. The time stays whole, the title gives way, and hovering shows both."""
    from booking.core.clock import local_midnight
    from booking.extensions import db
    from booking.instruments.models import Instrument
    from tests.factories import PASSWORD, Factory

    friday = next_tuesday() + timedelta(weeks=3, days=3)
    with live_app.app_context():
        reader = Factory().user(locale="en")
        email = reader.email
        Factory().placed_booking(
            db.session.get(Instrument, instrument_id), reader,
            local_midnight(friday, "Asia/Shanghai") + timedelta(hours=14, minutes=30))
    log_in(page, live_server, email, password=PASSWORD)
    page.goto(f"{live_server}/instruments/{instrument_id}/book")
    page.fill("#start", f"{friday.isoformat()}T10:00")
    page.dispatch_event("#start", "change")
    page.click(".fc-dayGridMonth-button")
    own = page.locator(f"td.fc-daygrid-day[data-date='{friday.isoformat()}'] .ev-own")
    own.wait_for()
    time = own.locator(".fc-event-time")
    assert time.inner_text() == "14:30"
    assert time.evaluate("el => el.scrollWidth <= el.clientWidth")  # not cut
    assert own.get_attribute("title") == "14:30 Approved"
    # capitalised as every button of the site (FullCalendar's own English reads "month")
    assert [page.inner_text(f".fc-{name}-button") for name in (
        "today", "dayGridMonth", "timeGridWeek", "timeGridDay")] == ["Today", "Month", "Week", "Day"]


def test_the_lab_sees_who_booked_and_opens_the_booking(live_server, live_app, page,
                                                       instrument_id):
    """Reported: the lab's calendar showed others' bookings as grey blocks without names, and
    a tap opened nothing."""
    from sqlalchemy import select

    from booking.accounts.models import User
    from booking.core.clock import local_midnight
    from booking.extensions import db
    from booking.instruments.models import Instrument
    from tests.factories import Factory

    wednesday = next_tuesday() + timedelta(weeks=3, days=1)
    with live_app.app_context():
        student = db.session.scalar(select(User).where(User.email == "student.dlut@demo.cn"))
        booking = Factory().placed_booking(
            db.session.get(Instrument, instrument_id), student,
            local_midnight(wednesday, "Asia/Shanghai") + timedelta(hours=14))
        booking_id, name = booking.id, student.name
    log_in(page, live_server, "manager.dlut@demo.cn")
    page.goto(f"{live_server}/instruments/{instrument_id}/book")
    page.locator(".fc-timegrid").wait_for()
    page.fill("#start", f"{wednesday.isoformat()}T10:00")
    page.dispatch_event("#start", "change")
    event = page.locator(f"td.fc-timegrid-col[data-date='{wednesday.isoformat()}'] .ev-lab")
    event.wait_for()
    assert name in event.inner_text()
    with page.expect_navigation():
        event.click()
    assert page.url.endswith(f"/bookings/{booking_id}")
