"""Steps shared by the browser tests."""
import os
from datetime import datetime, time, timedelta

from booking.core.clock import now_utc, to_local

DEMO_PASSWORD = "demo-pass-2026"


def log_in(page, base_url, email, password=DEMO_PASSWORD):
    """Log in through the real form as `email` (as a new visitor: cookies cleared first)."""
    page.context.clear_cookies()
    page.goto(base_url + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def shot(page, name):
    """A full-page screenshot into $SCREENSHOT_DIR, when it is set."""
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def follow(page, selector):
    """Click a link or submit button and wait until the page it leads to has loaded, so what
    is read next is read off the new page, not the one being left."""
    with page.expect_navigation():
        page.click(selector)


def nav_to(page, href):
    """Follow the navigation bar's link to `href`, opening the menu it sits in first."""
    link = page.locator(f"#mainNav a[href='{href}']")
    if not link.is_visible():
        page.click(f"#mainNav .dropdown:has(a[href='{href}']) > .dropdown-toggle")
    with page.expect_navigation():
        link.click()


def next_half_hour(tz_name: str = "Asia/Shanghai") -> datetime:
    """The next half hour of local wall-clock time at least 15 minutes ahead, kept inside one
    day (an instrument open "always" closes at 23:59): from 22:45 on, midnight."""
    now = to_local(now_utc(), tz_name).replace(second=0, microsecond=0, tzinfo=None)
    start = now + timedelta(minutes=15)
    start += timedelta(minutes=(30 - start.minute % 30) % 30)
    if start.time() > time(23, 29):
        start = datetime.combine(start.date() + timedelta(days=1), time(0))
    return start
