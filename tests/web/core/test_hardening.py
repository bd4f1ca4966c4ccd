"""Regression tests of issue 14: nothing a user sends crashes or stalls a worker.

Each test reproduces one finding of the attack walk-through; every answer must be a 4xx in the
documented error shape (or the right success), fast, with nothing written."""
from decimal import Decimal

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from booking.bookings.models import Booking
from booking.extensions import db
from booking.metering.models import UsageSession
from tests.moments import MONDAY_2_MAR_8AM

HUGE = 2**31  # one above the largest id an INTEGER column holds on PostgreSQL
HUGER = 2**63 + 5  # above what SQLite holds


def _error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body = response.get_json()["error"]
    assert body["code"] and body["message"]
    return body


# --- 1. changing one's password ------------------------------------------------------------
def test_password_change_answers_with_the_success_page(client, make, login):
    user = login(make.user())
    response = client.post("/profile/password", data={
        "pw-current": make.PASSWORD, "pw-password": "a-new-secret-77",
        "pw-confirm": "a-new-secret-77"}, follow_redirects=True)
    assert response.status_code == 200
    assert "Password changed" in response.get_data(as_text=True) or \
        "密码已修改" in response.get_data(as_text=True)
    # still signed in, with the new password in force
    assert client.get("/profile").status_code == 200
    db.session.refresh(user)
    assert user.check_password("a-new-secret-77")
    wrong = client.post("/profile/password", data={
        "pw-current": "not-it", "pw-password": "another-secret-88",
        "pw-confirm": "another-secret-88"})
    assert wrong.status_code == 422 and "is-invalid" in wrong.get_data(as_text=True)


def test_a_new_password_is_not_the_old_one_nor_the_address(client, make, login):
    """Reported: the current password, and the account's own e-mail, were accepted."""
    user = login(make.user(email="new1@demo.cn"))
    for new in (make.PASSWORD, "new1@demo.cn"):
        refused = client.post("/profile/password", data={
            "pw-current": make.PASSWORD, "pw-password": new, "pw-confirm": new})
        assert refused.status_code == 422, new
    db.session.refresh(user)
    assert user.check_password(make.PASSWORD)


# --- 2. extreme ranges answer at once ------------------------------------------------------
@pytest.mark.parametrize("end", ["9999-12-31T10:00:00+08:00", "4057-03-02T10:00:00+08:00"])
def test_booking_with_an_end_far_away_is_refused_fast(client, make, api_token, end):
    instrument = make.instrument(hours="always")
    headers = api_token(make.user())
    response = client.post("/api/v1/bookings", headers=headers, json={
        "instrument_id": instrument.id, "start": "2026-12-20T09:00:00+08:00", "end": end,
        "purpose": "x"})
    body = _error(response, 422)
    assert "end" in body["message"]
    assert db.session.scalar(select(func.count(Booking.id))) == 0


@pytest.mark.parametrize("path", ["availability", "quote"])
@pytest.mark.parametrize("start,end", [("0001-01-01T00:00:00+08:00", "0001-01-02T00:00:00+08:00"),
                                       ("9999-12-30T00:00:00-05:00", "9999-12-31T20:00:00-05:00"),
                                       ("2026-12-01T00:00:00+08:00", "4057-03-02T10:00:00+08:00")])
def test_availability_and_quote_bound_their_range(client, make, api_token, path, start, end):
    instrument = make.instrument(hours="always")
    response = client.get(f"/api/v1/instruments/{instrument.id}/{path}",
                          query_string={"start": start, "end": end},
                          headers=api_token(make.user()))
    _error(response, 422)


@pytest.mark.parametrize("start,end", [("0001-01-01T00:00:00+08:00", "0001-01-01T02:00:00+08:00"),
                                       ("9999-12-31T20:00:00-05:00", "9999-12-31T22:00:00-05:00"),
                                       ("2026-03-02T09:00:00+08:00", "4057-03-02T10:00:00+08:00")])
def test_usage_bounds_its_range(client, make, api_token, start, end):
    instrument = make.instrument(hours="always")
    manager = make.user(role="lab_manager", organisation=instrument.organisation)
    response = client.post("/api/v1/usage", headers=api_token(manager), json={
        "instrument_id": instrument.id, "start": start, "end": end, "user_id": manager.id})
    _error(response, 422)
    assert db.session.scalar(select(func.count(UsageSession.id))) == 0


@pytest.mark.parametrize("start,end", [("0001-01-01T08:00", "0001-01-01T09:00"),
                                       ("9999-12-31T20:00", "9999-12-31T22:00"),
                                       ("2026-12-20T09:00", "4057-03-02T10:00")])
def test_booking_form_bounds_its_range(client, make, login, start, end):
    instrument = make.instrument(hours="always")
    login(make.user())
    response = client.post(f"/instruments/{instrument.id}/book", data={
        "start": start, "end": end, "mode": "self_operated", "purpose": "x"})
    assert response.status_code == 422
    assert db.session.scalar(select(func.count(Booking.id))) == 0


@pytest.mark.parametrize("query", [
    {"start": "0001-01-01T00:00", "end": "0001-01-02T00:00"},
    {"start": "9999-12-31T00:00:00-12:00", "end": "9999-12-31T23:00:00-12:00"},
    {"start": "0001-01-01T00:00:00+14:00", "end": "0001-01-02T00:00:00+14:00"}])
def test_calendar_and_quote_json_bound_their_range(client, make, login, query):
    instrument = make.instrument(hours="always")
    login(make.user())
    assert client.get(f"/instruments/{instrument.id}/calendar.json",
                      query_string=query).status_code == 400
    assert client.get(f"/instruments/{instrument.id}/quote.json",
                      query_string=query).status_code == 400


# --- 7. out-of-range input -----------------------------------------------------------------
@pytest.mark.parametrize("huge", [HUGE, HUGER])
@pytest.mark.parametrize("path", ["/api/v1/instruments/{huge}", "/api/v1/bookings/{huge}",
                                  "/api/v1/invoices/{huge}", "/api/v1/vouchers/{huge}/approve",
                                  "/api/v1/instruments/{huge}/availability"
                                  "?start=2026-03-02T09:00:00%2B08:00&end=2026-03-03T09:00:00%2B08:00"])
def test_ids_out_of_range_in_the_path_are_404(client, make, api_token, path, huge):
    headers = api_token(make.user(role="bureau_staff"))
    url = path.format(huge=huge)
    response = client.post(url, headers=headers, json={}) if "approve" in url else \
        client.get(url, headers=headers)
    _error(response, 404)


@pytest.mark.parametrize("url", [f"/instruments/{HUGE}", f"/bookings/{HUGER}.ics",
                                 f"/ical/instrument/{HUGE}.ics", f"/invoices/{HUGER}"])
def test_ids_out_of_range_in_page_paths_are_404(client, make, login, url):
    login(make.user(role="admin"))
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("query", [{"org": HUGE}, {"page": HUGE}, {"org": -HUGE},
                                   {"org": HUGER}, {"page": 10**30}])
def test_out_of_range_query_numbers_are_422(client, query):
    _error(client.get("/api/v1/instruments", query_string=query), 422)


@pytest.mark.parametrize("query", [{"org": HUGE}, {"page": HUGE}, {"year": HUGE},
                                   {"page": -HUGE}, {"year": 0}])
def test_out_of_range_query_numbers_on_pages(client, make, login, query):
    for url in ("/instruments", "/rankings"):
        response = client.get(url, query_string=query)
        assert response.status_code in (200, 400), (url, response.status_code)
    for role, urls in (("finance", ("/finance", "/invoices")),
                       ("bureau_staff", ("/vouchers/dashboard", "/instruments/export.csv"))):
        login(make.user(role=role))
        for url in urls:
            response = client.get(url, query_string=query)
            assert response.status_code in (200, 400), (url, response.status_code)


@pytest.mark.parametrize("field", ["instrument_id", "booking_id", "user_id"])
def test_out_of_range_body_ids_are_422(client, make, api_token, field):
    instrument = make.instrument(hours="always")
    manager = make.user(role="lab_manager", organisation=instrument.organisation)
    body = {"instrument_id": instrument.id, "start": "2026-03-02T09:00:00+08:00",
            "end": "2026-03-02T10:00:00+08:00", "user_id": manager.id, field: HUGE}
    _error(client.post("/api/v1/usage", headers=api_token(manager), json=body), 422)
    if field == "instrument_id":
        _error(client.post("/api/v1/bookings", headers=api_token(manager), json={
            **body, "purpose": "x"}), 422)


def test_a_lone_surrogate_in_purpose_is_422(client, make, api_token):
    instrument = make.instrument(hours="always")
    raw = ('{"instrument_id": ' + str(instrument.id) + ', "start": "2026-12-20T09:00:00+08:00", '
           '"end": "2026-12-20T10:00:00+08:00", "purpose": "\\ud800x"}')
    response = client.post("/api/v1/bookings", headers={**api_token(make.user()),
                                                         "Content-Type": "application/json"},
                           data=raw)
    body = _error(response, 422)
    assert body["problems"][0]["field"] == "purpose"
    assert db.session.scalar(select(func.count(Booking.id))) == 0


@pytest.mark.parametrize("url", ["/api/v1/tokens", "/api/v1/bookings"])
def test_json_nested_too_deep_to_decode_is_400(client, make, api_token, url):
    """Python's JSON decoder recurses: a body of a hundred thousand "[" was a RecursionError
    and a 500, before signing in (the sign-in limit reads the e-mail from the body first)."""
    deep = "[" * 100_000 + "]" * 100_000
    response = client.post(url, data=deep, headers={**api_token(make.user()),
                                                    "Content-Type": "application/json"})
    _error(response, 400)


def test_a_surrogate_in_form_bytes_is_read_as_a_replacement_character(client, make, login):
    """Form data is UTF-8 decoded with replacement: the bytes of a lone surrogate cannot reach
    the database as one."""
    instrument = make.instrument(hours="always", lead_minutes=0)
    login(make.user())
    with freeze_time("2026-12-20 00:00:00"):
        response = client.post(
            f"/instruments/{instrument.id}/book", data=b"start=2026-12-21T09%3A00&"
            b"end=2026-12-21T10%3A00&mode=self_operated&purpose=%ED%A0%80x",
            content_type="application/x-www-form-urlencoded")
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert db.session.scalar(select(Booking.purpose)).endswith("x")


@pytest.mark.parametrize("url", ["/login", "/forgot-password", "/register/enterprise"])
def test_a_huge_form_gets_413_page(client, url):
    response = client.post(url, data={"email": "a@b.cn", "password": "x" * (9 * 2**20)})
    assert response.status_code == 413
    assert "<html" in response.get_data(as_text=True).lower()


def test_a_file_too_large_says_the_limit_and_leads_back_to_its_form(client):
    """Reported: a 20 MB photo got a bare "413 Too large" page with only the directory."""
    response = client.post("/login", data={"password": "x" * (9 * 2**20)},
                           headers={"Referer": "http://localhost/lab/instruments/7?tab=photo"})
    page = response.get_data(as_text=True)
    assert "超过本站单次表单可接收的 8 MB" in page and "仪器照片或资产清单均不超过 5 MB" in page
    assert 'href="/lab/instruments/7?tab=photo" id="go-back"' in page
    elsewhere = client.post("/login", data={"password": "x" * (9 * 2**20)},
                            headers={"Referer": "https://evil.example/x"})
    assert 'id="go-back"' not in elsewhere.get_data(as_text=True)  # only back to this site
    for path in ("//evil.example/x", "/\\evil.example/x"):  # this host's, read as another's
        forged = client.post("/login", data={"password": "x" * (9 * 2**20)},
                             headers={"Referer": f"http://localhost{path}"})
        assert 'id="go-back"' not in forged.get_data(as_text=True), path


def test_a_huge_api_body_gets_413_json(client):
    response = client.post("/api/v1/tokens", data=b"x" * (9 * 2**20),
                           headers={"Content-Type": "application/json"})
    _error(response, 413)


# --- 8. the OpenAPI document and the answers agree -----------------------------------------
def test_405_carries_allow(client):
    response = client.delete("/api/v1/tokens")
    _error(response, 405)
    assert "POST" in response.headers["Allow"]
    page = client.put("/login")
    assert page.status_code == 405 and "POST" in page.headers["Allow"]


def test_negative_samples_on_the_quote_are_refused(client, make, api_token):
    instrument = make.instrument(hours="always")
    response = client.get(f"/api/v1/instruments/{instrument.id}/quote", query_string={
        "start": "2026-12-21T09:00:00+08:00", "end": "2026-12-21T10:00:00+08:00",
        "mode": "staff_operated", "samples": -5}, headers=api_token(make.user()))
    body = _error(response, 422)
    assert body["code"] == "samples_required"


def test_openapi_documents_quantity_as_number_and_stripe_disabled(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    line = spec["components"]["schemas"]["Line"]["properties"]["quantity"]
    assert line["type"] == "number"
    responses = spec["paths"]["/api/v1/invoices/{invoice_id}/payment-intent"]["post"]["responses"]
    assert "503" in responses


@freeze_time("2026-03-10 02:00:00")
def test_invoice_line_quantity_is_a_number_in_the_answer(client, make, api_token):
    instrument = make.instrument()
    customer = make.user()
    invoice = make.issued_invoice(instrument, customer.organisation, 12_000, MONDAY_2_MAR_8AM,
                                  state="draft")
    invoice.lines[0].quantity = Decimal("2.50")
    db.session.commit()
    invoice.state = "issued"
    db.session.commit()
    body = client.get(f"/api/v1/invoices/{invoice.id}", headers=api_token(customer)).get_json()
    assert body["lines"][0]["quantity"] == 2.5


# "²" and "¹²" are digits to str.isdigit() but not to int(): every place that reads a number
# from text takes ASCII digits only (booking.core.db.id_in)
@pytest.mark.parametrize("typed", ["²", "#¹²", "٣", "0", str(2**31)])
def test_numbers_typed_in_searches_never_crash(client, make, login, typed):
    login(make.user(role="lab_manager"))
    for url in ("/bookings/mine", "/bookings/queue"):
        assert client.get(url, query_string={"q": typed}).status_code == 200, url
    login(make.user(role="bureau_staff"))
    for url in ("/vouchers/review", "/vouchers/all"):
        assert client.get(url, query_string={"q": typed}).status_code == 200, url
    for arg in ("org", "price_min", "page"):
        assert client.get("/", query_string={arg: typed}).status_code == 200, arg
    client.post("/logout")
    assert client.get("/sso/start", query_string={"provider": typed}).status_code == 302


def test_thousands_of_digits_in_the_directorys_arguments_are_ignored(client):
    for arg in ("org", "price_min", "price_max", "page"):  # int() refuses over 4,300 digits
        assert client.get("/", query_string={arg: "9" * 5000}).status_code == 200, arg


def test_id_in_takes_ascii_digits_within_the_id_range():
    from booking.core.db import MAX_ID, id_in

    assert [id_in(t) for t in ("17", "²", "٣", "", "0", "-3", str(MAX_ID), str(MAX_ID + 1),
                               "1" * 5000)] == [17, None, None, None, None, None, MAX_ID, None,
                                                None]  # int() refuses over 4,300 digits


# --- a NUL character, which PostgreSQL's text refuses (a 500 once it reached the database) ---
@pytest.mark.parametrize("url", ["/?city=%00", "/?category=x%00", "/instruments?q=%00",
                                 "/finance/revenue?year=2026%00"])
def test_a_nul_in_the_url_is_a_400(client, url):
    assert client.get(url).status_code == 400


def test_a_nul_in_a_form_field_is_a_400_and_nothing_is_written(client, make, login):
    instrument = make.instrument(lab_en="Testing Center")
    login(make.user(role="lab_manager", organisation=instrument.organisation))
    response = client.post(f"/lab/instruments/{instrument.id}/edit",
                           data={"name_zh": "仪器", "lab_en": "Lab\x00"})
    assert response.status_code == 400
    db.session.refresh(instrument)
    assert instrument.lab_en == "Testing Center"


@pytest.fixture
def managed(make, api_token):
    """An instrument, its lab manager's API headers and its API address."""
    instrument = make.instrument()
    headers = api_token(make.user(role="lab_manager", organisation=instrument.organisation))
    return instrument, headers, f"/api/v1/instruments/{instrument.id}"


def test_a_nul_or_a_huge_number_in_a_json_body_is_refused(client, managed):
    instrument, headers, url = managed
    body = _error(client.patch(url, headers=headers, json={"lab_en": "Lab\u0000"}), 422)
    assert "NUL" in body["message"]
    _error(client.patch(url, headers={**headers, "Content-Type": "application/json"},
                        data='{"lab_en": ' + "1" * 5000 + "}"), 400)
    _error(client.post("/api/v1/tokens", headers={"Content-Type": "application/json"},
                       data='{"valid_days": ' + "1" * 5000 + "}"), 400)
    db.session.refresh(instrument)
    assert instrument.lab_en == ""


def test_api_text_is_trimmed_and_control_characters_refused(client, managed):
    _instrument, headers, url = managed
    assert client.patch(url, headers=headers, json={"lab_en": "  Testing Center "}
                        ).get_json()["lab_en"] == "Testing Center"
    body = _error(client.patch(url, headers=headers, json={"lab_en": "Lab\x1b[31m"}), 422)
    assert body["problems"][0]["field"] == "lab_en"
    assert client.patch(url, headers=headers, json={"description": "line one\nline two"}
                        ).status_code == 200


def test_a_form_inside_a_form_drops_unseen_characters_too(app):
    """Sample rows of a test order are forms inside the form (SubForm)."""
    from wtforms import FieldList, FormField, StringField

    from booking.core.web import SiteForm, SubForm

    class Row(SubForm):
        name = StringField()

    class Outer(SiteForm):
        rows = FieldList(FormField(Row), min_entries=1)

    with app.test_request_context(method="POST", data={"rows-0-name": "样品\u202e1\x07"}):
        assert Outer(meta={"csrf": False}).rows[0].form.name.data == "样品1"
