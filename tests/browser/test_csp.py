"""The browser fixtures fail a test whose pages break their Content-Security-Policy; this
proves the watch sees a violation when there is one."""
from tests.browser.conftest import _csp_violations


def test_the_csp_watch_sees_a_blocked_inline_script(browser):
    context = browser.new_context()
    page = context.new_page()
    seen = _csp_violations(page)
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.set_content("<meta http-equiv='Content-Security-Policy' content=\"script-src "
                         "'self'\"><script>document.title = 'ran'</script>")
    assert page.title() != "ran" and seen
    context.close()
