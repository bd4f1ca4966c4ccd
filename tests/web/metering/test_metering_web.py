"""Kiosk, the lab's day, the manager's usage page and the usage API, with their denials."""
import re
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from booking.core.audit import AuditEvent
from booking.extensions import db
from booking.metering import services
from booking.metering.models import UsageSession
from tests.factories import Factory
from tests.moments import MONDAY_2_MAR_9AM


@pytest.fixture
def lab(make):
    owner = make.organisation()
    instrument = make.instrument(organisation=owner)
    manager = make.user(role="lab_manager", organisation=owner)
    _token, raw = services.create_instrument_token(instrument, "kiosk", manager)
    db.session.commit()
    return {"owner": owner, "instrument": instrument, "manager": manager, "token": raw,
            "internal": make.user(organisation=owner),
            "external": make.user(organisation=make.organisation(kind="enterprise"))}


def _kiosk(client, user, **extra):
    return client.post("/kiosk", data={"email": user.email, "password": Factory.PASSWORD,
                                       **extra}, follow_redirects=True)


def test_kiosk_needs_pairing(client, lab):
    assert client.get("/kiosk").headers["Location"].endswith("/kiosk/pair")
    page = client.post("/kiosk/pair", data={"token": "iit_wrong"}).get_data(as_text=True)
    assert "无效或已撤销" in page  # unknown or revoked
    response = client.post("/kiosk/pair", data={"token": lab["token"]})
    assert response.status_code == 302 and "kiosk_token=" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]


def test_a_kiosk_leads_nowhere_else_and_pairing_logs_out_whoever_paired_it(client, login, lab):
    """Reported: the kiosk showed the site's navigation, and the lab manager who paired it
    stayed logged in: the next person at the instrument could act as the manager."""
    login(lab["manager"])
    page = client.post("/kiosk/pair", data={"token": lab["token"]}, follow_redirects=True
                       ).get_data(as_text=True)
    assert 'id="kiosk-bar"' in page and 'id="mainNav"' not in page and "user-menu" not in page
    assert "已退出登录" in page
    assert client.get("/profile").status_code == 302  # to the login page


def test_kiosk_check_in_and_out(client, lab, make):
    booking = make.placed_booking(lab["instrument"], lab["external"], MONDAY_2_MAR_9AM)
    client.post("/kiosk/pair", data={"token": lab["token"]})
    with freeze_time(MONDAY_2_MAR_9AM - timedelta(minutes=2)):
        assert _kiosk(client, lab["external"]).status_code == 200
    assert booking.state == "in_use"
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(minutes=40)):
        page = _kiosk(client, lab["external"]).get_data(as_text=True)
    assert booking.state == "completed" and "42" in page


def test_kiosk_wrong_password_and_external_walk_up(client, lab):
    client.post("/kiosk/pair", data={"token": lab["token"]})
    page = client.post("/kiosk", data={"email": lab["external"].email, "password": "nope"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Wrong e-mail or password" in page or "密码" in page
    with freeze_time(MONDAY_2_MAR_9AM):
        _kiosk(client, lab["external"], walk_up_minutes=30)
        _kiosk(client, lab["internal"], walk_up_minutes=30)
    users = db.session.scalars(select(UsageSession.user_id)).all()
    assert users == [lab["internal"].id]


def test_usage_page_for_managers_only(client, login, lab, make):
    url = f"/instruments/{lab['instrument'].id}/usage"
    assert client.get(url).status_code == 302
    login(lab["internal"])
    assert client.get(url).status_code == 403
    client.post("/logout")
    login(make.user(role="lab_manager"))  # manager of another organisation
    assert client.get(url).status_code == 403


def test_manager_records_and_corrects(client, login, lab):
    url = f"/instruments/{lab['instrument'].id}/usage"
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(days=1)):
        login(lab["manager"])  # inside: a session cookie signed "later" does not verify
        response = client.post(url, data={"user_email": lab["internal"].email,
                                          "start": "2026-03-02T09:00", "end": "2026-03-02T10:30"})
        assert response.status_code == 302, response.get_data(as_text=True)
        assert "/usage" in response.headers["Location"], response.headers["Location"]
        session = db.session.scalar(select(UsageSession))
        assert session.started_at == MONDAY_2_MAR_9AM and session.minutes == 90
        bad = client.post(url, data={"user_email": lab["internal"].email,
                                     "start": "2026-03-02T10:00", "end": "2026-03-02T09:00"},
                          follow_redirects=True)
        assert bad.status_code == 200
        client.post(f"/usage/{session.id}/correct", data={"end": "2026-03-02T10:00",
                                                          "note": "left early"})
    fix = db.session.scalar(select(UsageSession).where(UsageSession.corrects_id == session.id))
    assert fix.minutes == 60 and fix.source == "manager"


def _charged_in_march(lab, hours: int):
    """A session of `hours` on Monday 2 March recorded by the lab, and the invoice March's
    close charged it on: (session, invoice)."""
    from booking.billing.close import close_month
    from booking.billing.models import Invoice

    with freeze_time(MONDAY_2_MAR_9AM + timedelta(days=1)):
        session = services.record_session(
            lab["instrument"], lab["internal"], start=MONDAY_2_MAR_9AM,
            end=MONDAY_2_MAR_9AM + timedelta(hours=hours), actor=lab["manager"],
            source="manager")
        db.session.commit()
    with freeze_time("2026-04-01 02:00:00"):
        close_month("2026-03")
        db.session.commit()
    return session, db.session.scalar(select(Invoice))


def test_a_charged_session_is_not_corrected_into_a_second_charge(client, login, lab):
    """Corrected after the month was invoiced, a session was charged again in full at the next
    close (a 180-minute session billed 180 + 60 minutes). The usage page names the invoice
    instead of offering the correction, and a correction sent anyway is refused."""
    from booking.billing.close import close_month

    session, invoice = _charged_in_march(lab, hours=3)
    with freeze_time("2026-04-01 02:00:00"):
        login(lab["manager"])
        page = client.get(f"/instruments/{lab['instrument'].id}/usage").get_data(as_text=True)
        assert f"账单 {invoice.number}" in page
        assert f'action="/usage/{session.id}/correct"' not in page
        refused = client.post(f"/usage/{session.id}/correct", data={
            "end": "2026-03-02T10:00", "note": "left early"}, follow_redirects=True)
        assert f"已计入账单 {invoice.number}" in refused.get_data(as_text=True)
        assert close_month("2026-03").invoices == 0  # nothing new to charge
    assert db.session.scalar(select(UsageSession).where(
        UsageSession.corrects_id == session.id)) is None


def test_the_lab_sees_what_each_session_is_charged_and_reads_the_invoice(client, login, lab,
                                                                         make):
    """Reported: the lab manager, who records the use, saw an invoice's number and no amount,
    no state, and could not open it. Now: the amount, paid or not, the invoice's page and the
    month's export with the charge; the page is the lab's to read, finance's to act on."""
    from booking.billing.models import Invoice

    session, invoice = _charged_in_march(lab, hours=2)
    line_fen = invoice.lines[0].amount_fen
    assert line_fen > 0
    with freeze_time("2026-04-02 02:00:00"):
        login(lab["manager"])
        page = client.get(f"/instruments/{lab['instrument'].id}/usage").get_data(as_text=True)
        cell = page[page.index('class="charged'):]
        assert f"¥{line_fen // 100:,}." in cell[:300] and "未支付" in cell[:700]
        assert f'href="/invoices/{invoice.id}"' in cell[:500]
        shown = client.get(f"/invoices/{invoice.id}")
        assert shown.status_code == 200
        assert 'id="void-form"' not in shown.get_data(as_text=True)
        assert 'id="bank-transfer-form"' not in shown.get_data(as_text=True)
        assert client.post(f"/invoices/{invoice.id}/void",
                           data={"reason": "no"}).status_code == 403
        assert client.get(f"/invoices/{invoice.id}.pdf").status_code == 200
        export = client.get(f"/instruments/{lab['instrument'].id}/usage/export?month=2026-03")
        header, row = export.data.decode("utf-8-sig").strip().splitlines()
        assert header.endswith("计费金额（元）,账单,账单状态")
        assert row.startswith(f"{session.id},") and row.endswith(
            f",{line_fen // 100}.{line_fen % 100:02d},{invoice.number},未支付")
        client.post("/logout")
        other = make.user(role="lab_manager", organisation=make.organisation())
        db.session.commit()
        login(other)
        assert client.get(f"/invoices/{invoice.id}").status_code == 403
    assert db.session.get(Invoice, invoice.id).state == "issued"


@freeze_time(MONDAY_2_MAR_9AM)
def test_the_usage_page_pages_the_sessions_and_names_their_source(client, login, lab):
    instrument, user = lab["instrument"], lab["internal"]
    for day in range(30):  # a month of walk-ups, one a day
        start = MONDAY_2_MAR_9AM - timedelta(days=day + 1)
        services.record_session(instrument, user, start=start, end=start + timedelta(hours=1),
                                actor=lab["manager"], source="manager")
    db.session.commit()
    login(lab["manager"])
    url = f"/instruments/{instrument.id}/usage"
    first = client.get(url).get_data(as_text=True)
    assert "共 30 条 · 第 1 / 2 页" in first
    assert first.count('data-source="manager"') == 25 and "实验室人员" in first
    second = client.get(url + "?page=2").get_data(as_text=True)
    assert second.count('data-source="manager"') == 5
    assert client.get(url + "?page=99").status_code == 200  # past the end: the last page
    assert client.get(url + "?page=0").status_code == 400


def test_api_check_in_out_with_instrument_token(client, lab, make):
    booking = make.placed_booking(lab["instrument"], lab["external"], MONDAY_2_MAR_9AM)
    headers = {"Authorization": f"Bearer {lab['token']}"}
    with freeze_time(MONDAY_2_MAR_9AM):
        response = client.post(f"/api/v1/bookings/{booking.id}/check-in", headers=headers)
        assert response.status_code == 201, response.get_json()
        again = client.post(f"/api/v1/bookings/{booking.id}/check-in", headers=headers)
        assert again.status_code == 422
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(minutes=61)):
        response = client.post(f"/api/v1/bookings/{booking.id}/check-out", headers=headers)
    assert response.status_code == 200 and response.get_json()["minutes"] == 61
    assert booking.state == "completed"


def test_api_instrument_token_limited_to_its_instrument(client, lab, make):
    other = make.instrument(organisation=lab["owner"])
    booking = make.placed_booking(other, lab["external"], MONDAY_2_MAR_9AM)
    with freeze_time(MONDAY_2_MAR_9AM):
        response = client.post(f"/api/v1/bookings/{booking.id}/check-in",
                               headers={"Authorization": f"Bearer {lab['token']}"})
    assert response.status_code == 404  # another instrument's booking: none of its business
    db.session.expire_all()  # no usage recorded, so nothing to bill
    assert booking.state == "approved" and db.session.query(UsageSession).count() == 0


def test_api_check_in_by_user_and_denials(client, api_token, lab, make):
    booking = make.placed_booking(lab["instrument"], lab["external"], MONDAY_2_MAR_9AM)
    with freeze_time(MONDAY_2_MAR_9AM):
        stranger = client.post(f"/api/v1/bookings/{booking.id}/check-in",
                               headers=api_token(make.user()))
        # a booking the caller may not see is not found, as an unknown one (no oracle)
        assert stranger.status_code == 404
        assert client.post(f"/api/v1/bookings/{booking.id}/check-in").status_code == 401
        assert client.post("/api/v1/bookings/999999/check-in",
                           headers=api_token(lab["external"])).status_code == 404
        db.session.expire_all()  # the refusals recorded nothing
        assert booking.state == "approved" and db.session.query(UsageSession).count() == 0
        own = client.post(f"/api/v1/bookings/{booking.id}/check-in",
                          headers=api_token(lab["external"]))
    assert own.status_code == 201
    session = db.session.query(UsageSession).one()
    assert (session.booking_id, session.user_id, session.started_at, session.ended_at) == (
        booking.id, lab["external"].id, MONDAY_2_MAR_9AM, None)


def test_api_record_usage(client, api_token, lab, make):
    headers = api_token(lab["manager"])
    body = {"instrument_id": lab["instrument"].id, "start": "2026-03-02T09:00:00+08:00",
            "end": "2026-03-02T10:00:00+08:00", "user_id": lab["internal"].id}
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(days=1)):
        assert client.post("/api/v1/usage", json=body, headers=headers).status_code == 201
        clash = client.post("/api/v1/usage", json=body, headers=headers)
        assert clash.status_code == 409
        assert clash.get_json()["error"]["code"] == "session_overlap"
        negative = client.post("/api/v1/usage", headers=headers, json={
            **body, "start": "2026-03-03T10:00:00+08:00", "end": "2026-03-03T09:00:00+08:00"})
        assert negative.status_code == 422
        outsider = client.post("/api/v1/usage", json=body,
                               headers=api_token(make.user(role="lab_manager")))
        assert outsider.status_code == 403
        member = client.post("/api/v1/usage", json=body, headers=api_token(lab["internal"]))
        assert member.status_code == 403
        naive = client.post("/api/v1/usage", headers=headers,
                            json={**body, "start": "2026-03-02T09:00:00"})
        assert naive.status_code == 422


def test_api_usage_of_a_booking_lies_in_its_time(client, api_token, lab, make):
    """Reported: a session two days before an approved booking completed it and invoiced it."""
    booking = make.placed_booking(lab["instrument"], lab["external"],
                                  MONDAY_2_MAR_9AM + timedelta(days=2))
    body = {"instrument_id": lab["instrument"].id, "booking_id": booking.id,
            "start": "2026-03-02T09:00:00+08:00", "end": "2026-03-02T10:00:00+08:00"}
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(hours=2)):
        refused = client.post("/api/v1/usage", json=body, headers=api_token(lab["manager"]))
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "outside_booking"
    assert booking.state == "approved" and db.session.scalar(select(UsageSession.id)) is None
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(days=2, hours=2)):
        used = client.post("/api/v1/usage", headers=api_token(lab["manager"]), json={
            **body, "start": "2026-03-04T09:00:00+08:00", "end": "2026-03-04T10:00:00+08:00"})
    assert used.status_code == 201
    db.session.refresh(booking)
    assert booking.state == "completed"


@pytest.mark.parametrize("instrument_id", [1.5, 1.0, "1.5", True])
def test_api_ids_are_whole_numbers_not_cut_to_one(client, api_token, lab, instrument_id):
    """Reported: "instrument_id": 1.5 recorded use of instrument 1."""
    body = {"instrument_id": instrument_id, "start": "2026-03-02T09:00:00+08:00",
            "end": "2026-03-02T10:00:00+08:00"}
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(hours=2)):
        response = client.post("/api/v1/usage", json=body, headers=api_token(lab["manager"]))
    assert response.status_code == 422
    assert db.session.scalar(select(UsageSession.id)) is None


def test_api_instrument_token_records_a_walk_up_of_a_named_user(client, lab):
    headers = {"Authorization": f"Bearer {lab['token']}"}
    body = {"instrument_id": lab["instrument"].id, "start": "2026-03-02T09:00:00+08:00",
            "end": "2026-03-02T10:00:00+08:00"}
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(hours=2)):
        nobody = client.post("/api/v1/usage", json=body, headers=headers)
        unknown = client.post("/api/v1/usage", json={**body, "user_id": 10**6}, headers=headers)
        external = client.post("/api/v1/usage", json={**body, "user_id": lab["external"].id},
                               headers=headers)
        internal = client.post("/api/v1/usage", json={**body, "user_id": lab["internal"].id},
                               headers=headers)
    assert (nobody.status_code, nobody.get_json()["error"]["code"]) == (422, "user_required")
    assert (unknown.status_code, unknown.get_json()["error"]["code"]) == (422, "unknown_user")
    assert (external.status_code, external.get_json()["error"]["code"]) == (
        422, "walk_up_external")
    assert internal.status_code == 201
    session = db.session.get(UsageSession, internal.get_json()["id"])
    assert (session.user_id, session.booking_id, session.recorded_by_id, session.source) == (
        lab["internal"].id, None, lab["internal"].id, "api")


def test_kiosk_says_which_rule_applied(client, lab, make):
    make.placed_booking(lab["instrument"], lab["internal"], MONDAY_2_MAR_9AM)
    client.post("/kiosk/pair", data={"token": lab["token"]})
    with freeze_time(MONDAY_2_MAR_9AM - timedelta(hours=1)):  # 08:00: not due yet
        page = _kiosk(client, lab["internal"]).get_data(as_text=True)
        assert "2026-03-02 09:00" in page and "15" in page  # when, and the window
        page = _kiosk(client, lab["internal"], walk_up_minutes=30).get_data(as_text=True)
        assert "已按临时使用开始计时" in page  # a walk-up, and why
        _kiosk(client, lab["internal"])  # check out of the walk-up
    with freeze_time(MONDAY_2_MAR_9AM - timedelta(minutes=5)):
        page = _kiosk(client, lab["internal"]).get_data(as_text=True)
    assert "09:00–10:00" in page


# --- the lab's day ---------------------------------------------------------------------------
def test_the_lab_sees_its_day_with_the_bookers_and_acts_on_it(client, login, lab, make):
    """Reported: a lab manager saw other people's bookings only as "booked", with no way to
    check someone in or to mark a no-show."""
    early = make.placed_booking(lab["instrument"], lab["external"], MONDAY_2_MAR_9AM)
    later = make.placed_booking(lab["instrument"], lab["internal"],
                                MONDAY_2_MAR_9AM + timedelta(hours=3))
    make.placed_booking(lab["instrument"], lab["internal"], MONDAY_2_MAR_9AM + timedelta(days=1))
    url = f"/instruments/{lab['instrument'].id}/schedule?day=2026-03-02"
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(minutes=40)):
        login(lab["manager"])
        page = client.get(url).get_data(as_text=True)
        assert re.findall(r'<tr id="booking-(\d+)"', page) == [str(early.id), str(later.id)]
        assert lab["external"].name in page and "09:00–10:00" in page
        row = page.split(f'id="booking-{early.id}"')[1].split("</tr>")[0]
        assert "lab-no-show" in row and "lab-check-in" in row  # 40 minutes late
        later_row = page.split(f'id="booking-{later.id}"')[1].split("</tr>")[0]
        # two hours and more ahead: nothing to check in yet (the button was refused when tried)
        assert "lab-no-show" not in later_row and "lab-check-in" not in later_row
        refused = client.post(f"/bookings/{later.id}/no-show", follow_redirects=True)
        assert "预约开始 30 分钟后才能标记为未到场" in refused.get_data(as_text=True)
        assert later.state == "approved"
        assert client.post(f"/bookings/{early.id}/no-show").status_code == 302
    assert early.state == "no_show"
    assert db.session.scalar(select(AuditEvent.actor_id).where(
        AuditEvent.action == "booking.no_show", AuditEvent.object_id == early.id)) == \
        lab["manager"].id
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(hours=3)):
        client.post(f"/bookings/{later.id}/check-in")
        assert later.state == "in_use"
        assert "lab-check-out" in client.get(url).get_data(as_text=True)
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(hours=3, minutes=50)):
        client.post(f"/bookings/{later.id}/check-out")
    assert later.state == "completed"
    session = db.session.scalar(select(UsageSession).where(UsageSession.booking_id == later.id))
    assert (session.source, session.recorded_by_id, session.minutes) == (
        "manager", lab["manager"].id, 50)


def _no_show(lab, make, start=MONDAY_2_MAR_9AM):
    booking = make.placed_booking(lab["instrument"], lab["external"], start)
    with freeze_time(start + timedelta(minutes=30)):
        services.mark_no_show(booking, actor=lab["manager"])
        db.session.commit()
    return booking


def test_a_no_show_marked_too_soon_is_withdrawn_and_the_booker_checked_in(client, login, lab,
                                                                          make):
    """Reported: the lab marked a no-show, the booker walked in five minutes later, and nothing
    could be done: a no-show could not be checked in, nor taken back."""
    booking = _no_show(lab, make)
    url = f"/instruments/{lab['instrument'].id}/schedule?day=2026-03-02"
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(minutes=35)):
        login(lab["manager"])
        row = client.get(url).get_data(as_text=True).split(f'id="booking-{booking.id}"')[1]
        assert "lab-withdraw-no-show" in row.split("</tr>")[0]
        page = client.post(f"/bookings/{booking.id}/withdraw-no-show", data={"next": url},
                           follow_redirects=True).get_data(as_text=True)
        assert booking.state == "approved" and "已撤销未到场" in page
        client.post(f"/bookings/{booking.id}/check-in")
    assert booking.state == "in_use"
    assert db.session.scalar(select(AuditEvent.data).where(
        AuditEvent.action == "booking.approved", AuditEvent.object_id == booking.id)
    )["withdrawn"] == "no_show"


def test_a_past_no_show_is_excused_with_a_reason_and_never_charged(client, login, lab, make):
    from booking.billing.close import close_month
    from booking.billing.models import InvoiceLine

    booking = _no_show(lab, make)
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(days=1)):
        login(lab["manager"])
        refused = client.post(f"/bookings/{booking.id}/withdraw-no-show",
                              follow_redirects=True).get_data(as_text=True)
        assert booking.state == "no_show" and "请说明撤销未到场的原因" in refused
        done = client.post(f"/bookings/{booking.id}/withdraw-no-show",
                           data={"reason": "仪器真空故障，用户未能上机"})
    assert "#" not in done.location  # cancelled, it leaves the day: no row to return to
    assert (booking.state, booking.late_cancel) == ("cancelled", False)
    client.post("/logout")
    login(lab["external"])
    assert "仪器真空故障" in client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    with freeze_time("2026-04-01 02:00:00"):
        close_month("2026-03")
        db.session.commit()
    assert db.session.scalar(select(InvoiceLine.id).where(
        InvoiceLine.booking_id == booking.id)) is None


def test_a_charged_no_show_is_not_withdrawn_but_credited(client, login, lab, make):
    from booking.billing.close import close_month
    from booking.billing.models import InvoiceLine

    booking = _no_show(lab, make)
    with freeze_time("2026-04-01 02:00:00"):
        close_month("2026-03")
        db.session.commit()
    with freeze_time("2026-04-02 02:00:00"):
        login(lab["manager"])
        page = client.post(f"/bookings/{booking.id}/withdraw-no-show", data={"reason": "ill"},
                           follow_redirects=True).get_data(as_text=True)
    number = db.session.scalar(select(InvoiceLine).where(
        InvoiceLine.booking_id == booking.id)).invoice.number
    assert booking.state == "no_show" and number in page and "红字冲销单" in page


def test_a_no_show_whose_time_was_booked_since_stays_a_no_show(client, login, lab, make):
    booking = _no_show(lab, make)
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(minutes=31)):
        make.placed_booking(lab["instrument"], lab["internal"],
                            MONDAY_2_MAR_9AM + timedelta(minutes=30), minutes=30)
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(minutes=40)):
        login(lab["manager"])
        page = client.post(f"/bookings/{booking.id}/withdraw-no-show",
                           follow_redirects=True).get_data(as_text=True)
    db.session.expire_all()
    assert booking.state == "no_show" and "有人预约了这段时间" in page


def test_a_no_show_is_neither_cancelled_by_its_booker_nor_approved_again(client, login, lab,
                                                                        make):
    from booking.bookings import requests
    from booking.bookings.rules import IllegalTransition

    booking = _no_show(lab, make)
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(minutes=40)):
        assert not booking.can_cancel(lab["external"])
        for act in (lambda: requests.cancel_booking(booking, lab["external"]),
                    lambda: requests.approve_booking(booking, lab["manager"])):
            with pytest.raises(IllegalTransition):
                act()
    assert booking.state == "no_show"


@pytest.mark.parametrize("who", ["member", "other_lab"])
def test_only_the_instruments_lab_sees_its_day_and_acts(client, login, lab, make, who):
    booking = make.placed_booking(lab["instrument"], lab["external"], MONDAY_2_MAR_9AM)
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(hours=2)):
        login(lab["internal"] if who == "member" else make.user(role="lab_manager"))
        assert client.get(f"/instruments/{lab['instrument'].id}/schedule").status_code == 403
        for action in ("check-in", "check-out", "no-show", "withdraw-no-show"):
            assert client.post(f"/bookings/{booking.id}/{action}").status_code == 403
    assert booking.state == "approved"


@pytest.mark.parametrize("day", ["tomorrow", "1999-01-01", "2026-02-30"])
def test_a_bad_day_is_a_400(client, login, lab, day):
    login(lab["manager"])
    assert client.get(f"/instruments/{lab['instrument'].id}/schedule?day={day}"
                      ).status_code == 400


def test_another_labs_booking_number_says_no_such_booking(client, login, lab, make):
    """Reported: the usage form quoted another institution's booking (its instrument, user and
    times) for a number typed into it."""
    theirs = make.placed_booking(make.instrument(), make.user(), MONDAY_2_MAR_9AM)
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(days=1)):
        login(lab["manager"])
        page = client.post(f"/instruments/{lab['instrument'].id}/usage", data={
            "user_email": lab["internal"].email, "booking_id": theirs.id,
            "start": "2026-03-02T09:00", "end": "2026-03-02T10:00"}).get_data(as_text=True)
    assert "没有此编号的预约" in page and "09:00–10:00" not in page and "另一台仪器" not in page
    assert db.session.scalar(select(UsageSession)) is None


def test_a_month_typed_for_a_day_is_refused(client, login, lab):
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(days=60)):
        login(lab["manager"])
        page = client.post(f"/instruments/{lab['instrument'].id}/usage", data={
            "user_email": lab["internal"].email, "start": "2026-01-05T08:00",
            "end": "2026-02-26T08:00"}).get_data(as_text=True)
    assert "补录的使用记录最长 24 小时" in page
    assert db.session.scalar(select(UsageSession)) is None


def test_a_corrected_session_says_so_and_is_not_offered_for_correction_again(client, login, lab,
                                                                           make):
    session = make.usage_session(lab["instrument"], lab["internal"], MONDAY_2_MAR_9AM)
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(days=1)):
        login(lab["manager"])
        url = f"/instruments/{lab['instrument'].id}/usage"
        page = client.get(url).get_data(as_text=True)
        assert 'value="2026-03-02T09:00"' in page and 'value="2026-03-02T10:00"' in page
        done = client.post(f"/usage/{session.id}/correct?page=1", data={
            "end": "2026-03-02T09:30", "note": "left early"})
        assert done.status_code == 302 and done.location.endswith("page=1")
        page = client.get(url).get_data(as_text=True)
    fix = db.session.scalar(select(UsageSession).where(UsageSession.corrects_id == session.id))
    assert f'data-corrected-by="{fix.id}"' in page and f"#{fix.id}" in page
    assert f'/usage/{session.id}/correct' not in page and f'/usage/{fix.id}/correct' in page


def test_the_lab_day_lists_every_instrument_of_the_lab_and_acts_in_place(client, login, lab,
                                                                       make):
    """Reported: a manager of 23 instruments opened 23 pages to see the day."""
    second = make.instrument(organisation=lab["owner"], name_zh="X射线衍射仪")
    ours = [make.placed_booking(instrument, lab["internal"], MONDAY_2_MAR_9AM + timedelta(hours=h))
            for h, instrument in ((0, lab["instrument"]), (2, second))]
    theirs = make.placed_booking(make.instrument(), make.user(), MONDAY_2_MAR_9AM)
    with freeze_time(MONDAY_2_MAR_9AM - timedelta(minutes=5)):
        login(lab["manager"])
        page = client.get("/lab/day").get_data(as_text=True)
        assert all(f'id="booking-{b.id}"' in page for b in ours)
        assert f'id="booking-{theirs.id}"' not in page and "X射线衍射仪" in page
        assert page.index(f'id="booking-{ours[0].id}"') < page.index(f'id="booking-{ours[1].id}"')
        assert 'href="/lab/day?day=2026-03-01"' in page and 'href="/lab/day?day=2026-03-03"' in page
        day = client.get(f"/instruments/{second.id}/schedule").get_data(as_text=True)
        assert f'href="/instruments/{second.id}/schedule?day=2026-03-03"' in day
        done = client.post(f"/bookings/{ours[0].id}/check-in", data={"next": "/lab/day"})
    # back at its row: a long day on a phone is not scrolled through again
    assert done.location.endswith(f"/lab/day#booking-{ours[0].id}") and ours[0].state == "in_use"
    client.post("/logout")
    login(lab["internal"])
    assert client.get("/lab/day").status_code == 403


def test_the_lab_exports_a_month_of_use(client, login, lab, make):
    """Reported: a lab manager had no export of an instrument's use (finance's is priced)."""
    import io as _io

    from openpyxl import load_workbook

    kept = make.usage_session(lab["instrument"], lab["internal"], MONDAY_2_MAR_9AM)
    make.usage_session(lab["instrument"], lab["internal"], MONDAY_2_MAR_9AM + timedelta(days=40))
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(days=1)):
        login(lab["manager"])
        url = f"/instruments/{lab['instrument'].id}/usage/export"
        text = client.get(f"{url}?month=2026-03").data.decode("utf-8-sig")
        sheet = load_workbook(_io.BytesIO(client.get(f"{url}?month=2026-03&format=xlsx").data))
        bad = client.get(f"{url}?month=2026-13")
    lines = text.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith(f"{kept.id},{lab['internal'].name},")
    assert "2026-03-02 09:00:00" in lines[1] and ",60," in lines[1]
    assert sheet.active.max_row == 2 and bad.status_code == 400
    running = make.usage_session(lab["instrument"], lab["internal"], MONDAY_2_MAR_9AM + timedelta(
        days=2))
    running.ended_at = None  # still in use: its minutes are not 0, they are not known yet
    db.session.commit()
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(days=2, hours=1)):
        login(lab["manager"])
        rows = client.get(f"{url}?month=2026-03").data.decode("utf-8-sig").splitlines()
    assert rows[-1].startswith(f"{running.id},") and ",,," in rows[-1]
    client.post("/logout")
    login(lab["internal"])
    assert client.get(f"{url}?month=2026-03").status_code == 403


def test_use_recorded_over_a_charged_no_show_says_to_credit_it(client, login, lab, make):
    """Reported: a no-show already invoiced, then the real use recorded without a booking (as
    the form advised): both were charged, and nobody was told."""
    from booking.billing.close import close_month
    from booking.billing.models import InvoiceLine

    booking = make.placed_booking(lab["instrument"], lab["internal"], MONDAY_2_MAR_9AM)
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(minutes=30)):
        services.mark_no_show(booking, actor=lab["manager"])
        db.session.commit()
    with freeze_time("2026-04-01 02:00:00"):
        close_month("2026-03")
        db.session.commit()
    line = db.session.scalar(select(InvoiceLine).where(InvoiceLine.kind == "no_show"))
    assert line is not None and line.amount_fen > 0
    with freeze_time("2026-04-02 02:00:00"):
        login(lab["manager"])
        page = client.post(f"/instruments/{lab['instrument'].id}/usage", data={
            "user_email": lab["internal"].email, "start": "2026-03-02T09:00",
            "end": "2026-03-02T10:00"}, follow_redirects=True).get_data(as_text=True)
    assert f"#{booking.id}" in page and line.invoice.number in page and "冲销" in page


def test_the_kiosk_page_writes_nothing_when_it_only_shows(client, lab):
    """Reported: GET /kiosk wrote the token's last use and, on SQLite, failed with "database
    is locked" when another request held the write lock (a GET takes none)."""
    from tests.sql import statements

    client.post("/kiosk/pair", data={"token": lab["token"]})
    with statements() as seen:
        assert client.get("/kiosk").status_code == 200
    assert not [s for s in seen if s.lstrip().upper().startswith(("UPDATE", "INSERT"))]


def test_a_failed_kiosk_attempt_leaves_no_address_for_the_next_person(client, lab):
    client.post("/kiosk/pair", data={"token": lab["token"]})
    page = client.post("/kiosk", data={"email": lab["external"].email,
                                       "password": "wrong"}).get_data(as_text=True)
    assert lab["external"].email not in page


def test_a_day_typed_wrong_opens_today(client, login, lab):
    with freeze_time(MONDAY_2_MAR_9AM):
        login(lab["manager"])
        page = client.get("/lab/day?day=2026-02-30")
    assert page.status_code == 200 and "2026-03-02" in page.get_data(as_text=True)
    assert "alert-warning" in page.get_data(as_text=True)
