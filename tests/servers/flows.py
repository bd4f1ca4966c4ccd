"""What a person's browser does at the real CAS and OpenID Connect servers, with requests
(web tests; the browser tests click through the same pages in Chromium)."""
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from tests.servers import CAS_PASSWORD


class _Form(HTMLParser):
    def __init__(self):
        super().__init__()
        self.action, self.fields = None, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attrs.get("action") or ""
        if tag == "input" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value") or ""


def _form(html: str) -> _Form:
    form = _Form()
    form.feed(html)
    return form


def cas_return(login_url: str, username: str, password: str = CAS_PASSWORD) -> str:
    """Log in at the CAS server's page; returns where it sends the browser back: our
    callback's path with its query (our state and the service ticket)."""
    location = urlsplit(_cas_answer(login_url, username, password))
    return f"{location.path}?{location.query}"


def cas_ticket(login_url: str, username: str, password: str = CAS_PASSWORD) -> str:
    """Log in at the CAS server's page; returns the service ticket it sends back."""
    return parse_qs(urlsplit(_cas_answer(login_url, username, password)).query)["ticket"][0]


def _cas_answer(login_url: str, username: str, password: str) -> str:
    browser = requests.Session()
    page = browser.get(login_url, timeout=10)
    page.raise_for_status()
    form = _form(page.text)
    form.fields.update(username=username, password=password)
    answer = browser.post(urljoin(page.url, form.action or page.url), data=form.fields,
                          headers={"Referer": page.url}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:500]
    return answer.headers["Location"]


def oidc_login(authorize_url: str, login: str) -> str:
    """Log in at the OpenID Connect provider; returns the URL it sends the browser back to
    (our callback with code and state)."""
    browser = requests.Session()
    url = authorize_url
    for _ in range(10):
        answer = browser.get(url, allow_redirects=False, timeout=10)
        if answer.status_code in (302, 303):
            url = urljoin(url, answer.headers["Location"])
            if "/sso/" in urlsplit(url).path:
                return url
            continue
        form = _form(answer.text)
        assert form.action is not None, answer.text[:500]
        form.fields.update(login=login, password="any")
        answer = browser.post(urljoin(url, form.action), data=form.fields,
                              allow_redirects=False, timeout=10)
        url = urljoin(url, answer.headers["Location"])
    raise AssertionError("the provider never sent the browser back")


def ldap_sign_in(provider, username: str, password: str):
    """Sign in through the provider's directory (the service behind the LDAP login form)."""
    from booking.identity import ldap_directory, services

    return services.sign_in(provider, ldap_directory.authenticate(provider, username, password))
