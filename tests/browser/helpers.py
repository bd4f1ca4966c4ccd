"""Steps shared by the browser tests."""
import os

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
