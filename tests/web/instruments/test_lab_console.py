"""Publishing through the HTML forms: the happy path, the denials and the bad input."""
import io
import re
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from booking.core.audit import AuditEvent
from booking.core.clock import now_utc, to_local
from booking.core.db import utc
from booking.extensions import db
from booking.instruments.models import Instrument

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

FORM = {
    "name_zh": "场发射扫描电子显微镜", "name_en": "Field-emission SEM", "model": "SU8010",
    "manufacturer": "Hitachi", "category": "analytical", "original_value": "3200000.00",
    "purchase_date": "2019-06-01", "lab": "分析测试中心", "location": "化工楼 101",
    "contact_name": "陈明", "contact_phone": "0411-84700000",
    "contact_email": "sem@dlut.edu.cn", "description": "<script>alert(1)</script>高分辨形貌观察",
    "capabilities": "形貌观察\n能谱分析", "allows_self_operated": "y",
    "allows_staff_operated": "y", "status": "active", "is_public": "y",
    "timezone": "Asia/Shanghai", "slot_minutes": "30", "min_minutes": "30",
    "max_minutes": "480", "lead_minutes": "60", "max_days_ahead": "60",
    "cancel_deadline_hours": "24", "requires_approval": "y", "approval_timeout_hours": "48",
    "check_in_early_minutes": "20",
    "no_show_fraction": "50", "late_cancel_fraction": "25", "per_sample_fee": "0",
}


@pytest.fixture
def manager(make):
    return make.user(role="lab_manager")


def _create(client, manager, **changes):
    data = {**FORM, "organisation_id": str(manager.organisation_id), **changes}
    return client.post("/lab/instruments/new", data=data)


def test_manager_publishes_an_instrument(client, login, manager):
    login(manager)
    response = _create(client, manager)
    assert response.status_code == 302
    instrument = db.session.scalar(select(Instrument).where(Instrument.name_zh == FORM["name_zh"]))
    assert instrument.original_value_fen == 320_000_000
    assert str(instrument.late_cancel_fraction) == "0.250"  # typed as 25 (%), stored a share
    edit = client.get(f"/lab/instruments/{instrument.id}/edit").get_data(as_text=True)
    assert re.search(r'<input[^>]*id="late_cancel_fraction"[^>]*value="25"', edit)
    assert instrument.check_in_early_minutes == 20
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "instrument.created", AuditEvent.object_id == instrument.id))
    page = client.get("/?q=电镜").get_data(as_text=True)
    assert "场发射扫描电子显微镜" in page
    detail = client.get(f"/instruments/{instrument.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in detail
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail
    assert 'id="calendar"' in detail
    setup = client.get(f"/lab/instruments/{instrument.id}").get_data(as_text=True)
    assert 'id="not-bookable"' in setup  # no rates, no hours: the lab is told what is missing
    # staff-operated with no per-sample fee: test orders would be quoted at ¥0 (reported)
    assert "委托检测（送样）报价为 ¥0" in setup
    client.post(f"/lab/instruments/{instrument.id}/edit", data={**FORM, "per_sample_fee": "80"})
    assert 'id="no-sample-fee"' not in client.get(f"/lab/instruments/{instrument.id}").get_data(
        as_text=True)


def test_console_lists_own_instruments_with_stale_flag(client, login, make, manager):
    make.instrument(organisation=manager.organisation, name_zh="陈旧的仪器",
                    info_updated_at=now_utc() - timedelta(days=200))
    make.instrument(name_zh="别人的仪器")
    login(manager)
    page = client.get("/lab").get_data(as_text=True)
    assert "陈旧的仪器" in page and "别人的仪器" not in page
    assert "stale-flag" in page


@pytest.mark.parametrize("role", ["member", "student", "finance", "bureau_staff"])
def test_non_managers_cannot_open_the_console(client, login, make, role):
    login(make.user(role=role))
    assert client.get("/lab").status_code == 403
    assert client.get("/lab/instruments/new").status_code == 403


def test_anonymous_is_sent_to_login(client):
    assert client.get("/lab").status_code == 302


def test_manager_of_another_institution_cannot_edit(client, login, make):
    instrument = make.instrument(name_zh="原名")
    login(make.user(role="lab_manager"))
    url = f"/lab/instruments/{instrument.id}"
    assert client.get(url + "/edit").status_code == 403
    assert client.post(url + "/edit", data={**FORM, "name_zh": "改名"}).status_code == 403
    assert client.post(url + "/rates", data={"rate-customer_class": "internal"}).status_code == 403
    assert client.post(url + "/photo", data={}).status_code == 403
    assert client.post(url + "/hours", data={}).status_code == 403
    assert client.post(url + "/blackouts", data={}).status_code == 403
    db.session.refresh(instrument)
    assert instrument.name_zh == "原名"


def test_member_of_the_owner_cannot_edit(client, login, make):
    instrument = make.instrument()
    login(make.user(role="member", organisation=instrument.organisation))
    assert client.post(f"/lab/instruments/{instrument.id}/edit", data=FORM).status_code == 403


def test_manager_cannot_create_for_another_organisation(client, login, make, manager):
    other = make.organisation()
    login(manager)
    response = _create(client, manager, organisation_id=str(other.id))
    assert response.status_code == 200  # not a valid choice
    assert db.session.scalar(select(Instrument).where(Instrument.organisation_id == other.id)) \
        is None


@pytest.mark.parametrize("changes,message", [
    ({"original_value": "-5"}, "不能为负数"),
    ({"min_minutes": "60", "max_minutes": "30"}, "最长预约"),
    ({"allows_self_operated": "", "allows_staff_operated": ""}, "至少提供一种服务方式"),
    ({"no_show_fraction": "150"}, "须介于 0 与 100% 之间"),  # per cent on the page
    ({"name_zh": ""}, "必填"),
    ({"purchase_date": "9999-12-31"}, "请选择 1900-01-01 至"),  # was shown publicly
])
def test_bad_instrument_input_is_refused(client, login, manager, changes, message):
    login(manager)
    data = {key: value for key, value in {**FORM, **changes}.items() if value != ""}
    response = client.post("/lab/instruments/new",
                           data={**data, "organisation_id": str(manager.organisation_id)})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)


def test_edit_bumps_info_updated_at_and_audits(client, login, make, manager):
    instrument = make.instrument(organisation=manager.organisation,
                                 info_updated_at=utc(2024, 1, 1))
    login(manager)
    response = client.post(f"/lab/instruments/{instrument.id}/edit",
                           data={**FORM, "name_zh": "新名字"})
    assert response.status_code == 302
    db.session.refresh(instrument)
    assert instrument.name_zh == "新名字"
    assert instrument.info_updated_at > utc(2026, 1, 1)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "instrument.updated"))


def _rate(client, instrument, **changes):
    data = {"rate-customer_class": "academic", "rate-hourly": "250", "rate-rounding_minutes": "15",
            "rate-minimum_minutes": "30", "rate-setup_fee": "0",
            "rate-valid_from": (now_utc() + timedelta(days=10)).date().isoformat()}
    data.update({f"rate-{k}": v for k, v in changes.items()})
    return client.post(f"/lab/instruments/{instrument.id}/rates", data=data)


def test_new_rate_starts_later_and_keeps_the_old_one(client, login, make, manager):
    instrument = make.instrument(organisation=manager.organisation)
    login(manager)
    assert _rate(client, instrument).status_code == 302
    db.session.refresh(instrument)
    academic = [r for r in instrument.rates if r.customer_class == "academic"]
    assert [r.hourly_fen for r in academic] == [20_000, 25_000]
    assert academic[0].valid_from == utc(2020, 1, 1)


def test_rate_in_the_past_starts_now_not_earlier(client, login, make, manager):
    instrument = make.instrument(organisation=manager.organisation)
    login(manager)
    setup = client.get(f"/lab/instruments/{instrument.id}").get_data(as_text=True)
    today = to_local(now_utc(), "Asia/Shanghai").date().isoformat()
    assert re.search(rf'name="rate-valid_from"[^>]*value="{today}"', setup)  # not blank
    page = _rate(client, instrument, valid_from="2021-01-01")
    assert page.status_code == 302
    assert "从现在起生效" in client.get(page.location).get_data(as_text=True)  # said so
    db.session.refresh(instrument)
    newest = max(instrument.rates, key=lambda r: r.valid_from)
    assert newest.valid_from > now_utc() - timedelta(minutes=1)


def test_negative_price_and_internal_above_external_are_refused(client, login, make, manager):
    instrument = make.instrument(organisation=manager.organisation)
    login(manager)
    response = _rate(client, instrument, hourly="-1")
    assert response.status_code == 422 and "不能为负数" in response.get_data(as_text=True)
    response = _rate(client, instrument, customer_class="internal", hourly="900")
    assert response.status_code == 422
    assert "费率" in response.get_data(as_text=True)
    db.session.refresh(instrument)
    assert len(instrument.rates) == 3


def test_opening_hours_are_saved_and_overlaps_refused(client, login, make, manager):
    instrument = make.instrument(organisation=manager.organisation, hours=None)
    login(manager)
    url = f"/lab/instruments/{instrument.id}/hours"
    response = client.post(url, data={"hours-day0": "08:00-12:00, 11:00-13:00"})
    assert response.status_code == 422 and "重叠" in response.get_data(as_text=True)
    response = client.post(url, data={"hours-day0": "13:30-18:00, 08:00-12:00",
                                      "hours-day5": "09:00-12:00"})
    assert response.status_code == 302
    db.session.refresh(instrument)
    assert [(h.weekday, f"{h.opens:%H:%M}") for h in instrument.opening_hours] == [
        (0, "08:00"), (0, "13:30"), (5, "09:00")]


@freeze_time("2026-11-23 08:00:00")
def test_blackout_in_local_time_stored_utc_and_end_before_start_refused(client, login, make,
                                                                        manager):
    instrument = make.instrument(organisation=manager.organisation)
    login(manager)
    url = f"/lab/instruments/{instrument.id}/blackouts"
    response = client.post(url, data={"blackout-start": "2026-12-01T10:00",
                                      "blackout-end": "2026-12-01T09:00",
                                      "blackout-reason": "维护"})
    assert response.status_code == 422 and "结束" in response.get_data(as_text=True)
    response = client.post(url, data={"blackout-start": "2026-12-01T10:00",
                                      "blackout-end": "2026-12-01T12:00"})
    assert response.status_code == 422  # reason required
    response = client.post(url, data={"blackout-start": "2026-12-01T10:00",
                                      "blackout-end": "2026-12-01T12:00",
                                      "blackout-reason": "更换灯丝"})
    assert response.status_code == 302
    db.session.refresh(instrument)
    assert instrument.blackouts[0].start_at == utc(2026, 12, 1, 2)


def test_opening_exception_closed_and_special_hours(client, login, make, manager):
    instrument = make.instrument(organisation=manager.organisation)
    login(manager)
    url = f"/lab/instruments/{instrument.id}/exceptions"
    assert client.post(url, data={"exception-day": "2026-10-01", "exception-closed": "y",
                                  "exception-reason": "国庆节"}).status_code == 302
    assert client.post(url, data={"exception-day": "2026-10-01", "exception-closed": "y",
                                  "exception-reason": "重复"}).status_code == 422
    response = client.post(url, data={"exception-day": "2026-10-08", "exception-opens": "14:00",
                                      "exception-closes": "10:00", "exception-reason": "调休"})
    assert response.status_code == 422
    assert client.post(url, data={"exception-day": "2026-10-08", "exception-opens": "09:00",
                                  "exception-closes": "12:00",
                                  "exception-reason": "调休"}).status_code == 302
    db.session.refresh(instrument)
    assert [e.opens is None for e in instrument.exceptions] == [True, False]
    # reported: hours typed with 'closed all day' still ticked (its default) were dropped and
    # the day saved as closed, with 'added'
    typed = client.post(url, data={"exception-day": "2026-10-09", "exception-closed": "y",
                                   "exception-opens": "05:00", "exception-closes": "22:00",
                                   "exception-reason": "加班"})
    assert typed.status_code == 422 and "取消勾选“全天关闭”" in typed.get_data(as_text=True)
    db.session.refresh(instrument)
    assert len(instrument.exceptions) == 2


def _upload(client, instrument, data, name="photo.png"):
    return client.post(f"/lab/instruments/{instrument.id}/photo",
                       data={"photo-photo": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _image(kind: str, size: tuple[int, int], **save) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (40, 90, 160)).save(out, kind, **save)
    return out.getvalue()


def test_photo_upload_and_serving(client, login, make, manager):
    instrument = make.instrument(organisation=manager.organisation)
    login(manager)
    png = _image("PNG", (640, 480))
    assert _upload(client, instrument, png).status_code == 302
    db.session.refresh(instrument)
    assert instrument.photo_path.endswith(".png")
    response = client.get(f"/instruments/{instrument.id}/photo")
    assert response.status_code == 200 and response.data.startswith(b"\x89PNG")
    assert response.mimetype == "image/png"


def test_a_large_photo_is_fitted_and_loses_its_camera_data(client, login, make, manager):
    """Reported: a 20,000 × 20,000 PNG was stored as sent, for every phone to download."""
    from PIL import Image

    instrument = make.instrument(organisation=manager.organisation)
    login(manager)
    exif = Image.Exif()
    exif[0x8825] = {2: (39.0, 0.0, 0.0)}  # a GPS position, as a phone writes it
    assert _upload(client, instrument, _image("JPEG", (4000, 3000), exif=exif),
                   name="lab.jpg").status_code == 302
    served = Image.open(io.BytesIO(client.get(f"/instruments/{instrument.id}/photo").data))
    assert served.format == "JPEG" and served.size == (2000, 1500)
    assert 0x8825 not in served.getexif()
    bomb = _image("PNG", (9000, 5000), optimize=True)  # 45 megapixels in a small file
    refused = _upload(client, instrument, bomb)
    assert refused.status_code == 422 and "像素过多" in refused.get_data(as_text=True)
    forged = _upload(client, instrument, PNG)  # the right magic bytes, no image behind them
    assert forged.status_code == 422 and "无法识别为图片" in forged.get_data(as_text=True)


def test_non_image_and_too_large_uploads_are_refused(client, login, make, manager):
    instrument = make.instrument(organisation=manager.organisation)
    login(manager)
    response = _upload(client, instrument, b"<html>not an image</html>", name="fake.png")
    assert response.status_code == 422 and "JPEG" in response.get_data(as_text=True)
    response = _upload(client, instrument, PNG + b"\x00" * (5 * 1024 * 1024))
    assert response.status_code == 422 and "5 MB" in response.get_data(as_text=True)
    db.session.refresh(instrument)
    assert instrument.photo_path is None


def test_private_instrument_page_is_hidden_from_the_public(client, login, make):
    instrument = make.instrument(is_public=False)
    assert client.get(f"/instruments/{instrument.id}").status_code == 404
    login(make.user(role="lab_manager", organisation=instrument.organisation))
    assert client.get(f"/instruments/{instrument.id}").status_code == 200


def test_review_marks_stale_instrument_fresh(client, login, make, manager):
    instrument = make.instrument(organisation=manager.organisation,
                                 info_updated_at=utc(2024, 1, 1))
    login(manager)
    assert client.post(f"/lab/instruments/{instrument.id}/review").status_code == 302
    db.session.refresh(instrument)
    assert instrument.info_updated_at > utc(2026, 1, 1)


@pytest.mark.parametrize("changes", [{"hourly": "1e30"}, {"setup_fee": "99999999999999"},
                                     {"valid_from": "0001-01-01"}, {"valid_from": "9999-12-31"}])
def test_rates_out_of_any_sane_range_are_refused_on_the_form(client, login, make, manager,
                                                              changes):
    instrument = make.instrument(organisation=manager.organisation)
    login(manager)
    before = len(instrument.rates)
    assert _rate(client, instrument, **changes).status_code == 422
    db.session.refresh(instrument)
    assert len(instrument.rates) == before


@freeze_time("2026-11-23 08:00:00")
def test_a_blackout_over_bookings_is_shown_first_then_cancels_them(client, login, make,
                                                                    manager):
    instrument = make.instrument(organisation=manager.organisation)
    booker = make.user(name="周同学")
    booking = make.placed_booking(instrument, booker, utc(2026, 12, 1, 2))  # 10:00-11:00
    login(manager)
    url = f"/lab/instruments/{instrument.id}/blackouts"
    form = {"blackout-start": "2026-12-01T09:00", "blackout-end": "2026-12-01T12:00",
            "blackout-reason": "停电检修"}
    page = client.post(url, data=form)
    assert page.status_code == 200 and 'id="blackout-confirm"' in page.get_data(as_text=True)
    assert "周同学" in page.get_data(as_text=True)  # the lab sees whom it would affect
    db.session.refresh(instrument)
    assert instrument.blackouts == [] and booking.state == "approved"  # nothing yet
    response = client.post(url, data={**form, "blackout-confirmed": "1"})
    assert response.status_code == 302
    db.session.refresh(instrument)
    db.session.refresh(booking)
    assert len(instrument.blackouts) == 1
    assert booking.state == "cancelled" and not booking.late_cancel


@freeze_time("2026-12-01 03:30:00")  # 11:30 in Dalian
def test_a_blackout_closes_time_to_come_and_leaves_bookings_that_are_over(client, login, make,
                                                                            manager):
    """A blackout over time that has passed is refused (it closed nothing and cancelled what
    the lab still had to record as used or a no-show); one that began this morning cancels
    the booking still to come, not the one that is over."""
    instrument = make.instrument(organisation=manager.organisation, hours="always")
    over = make.placed_booking(instrument, make.user(), utc(2026, 12, 1, 1))  # 09:00-10:00
    to_come = make.placed_booking(instrument, make.user(), utc(2026, 12, 1, 5))  # 13:00-14:00
    login(manager)
    url = f"/lab/instruments/{instrument.id}/blackouts"
    past = client.post(url, data={"blackout-start": "2026-12-01T08:00",
                                  "blackout-end": "2026-12-01T11:00", "blackout-reason": "停电",
                                  "blackout-confirmed": "1"})
    assert past.status_code == 422 and "已经过去" in past.get_data(as_text=True)
    response = client.post(url, data={"blackout-start": "2026-12-01T08:00",
                                      "blackout-end": "2026-12-01T18:00",
                                      "blackout-reason": "停电", "blackout-confirmed": "1"})
    assert response.status_code == 302
    db.session.refresh(instrument)
    assert len(instrument.blackouts) == 1
    assert (db.session.get(type(over), over.id).state,
            db.session.get(type(to_come), to_come.id).state) == ("approved", "cancelled")


def test_description_and_capabilities_in_the_readers_language(client, login, manager):
    login(manager)
    assert _create(client, manager, description="场发射扫描电镜，分辨率 1 nm。",
                   description_en="Field-emission SEM, 1 nm resolution.",
                   capabilities="形貌观察\n能谱分析", capabilities_en="",
                   location_en="Room 101, Chemistry Building").status_code == 302
    instrument = db.session.scalar(select(Instrument).where(Instrument.name_zh == FORM["name_zh"]))
    page = client.get(f"/instruments/{instrument.id}").get_data(as_text=True)
    assert "分辨率 1 nm" in page and "Field-emission SEM, 1 nm" not in page
    assert "化工楼 101" in page and "Chemistry Building" not in page
    client.post("/language", data={"locale": "en"})
    page = client.get(f"/instruments/{instrument.id}").get_data(as_text=True)
    assert "Field-emission SEM, 1 nm resolution." in page and "分辨率 1 nm" not in page
    assert "Room 101, Chemistry Building" in page and "化工楼 101" not in page  # English too
    assert "<li>形貌观察</li>" in page  # no English list: the Chinese one rather than none
    assert f'href="/instruments/{instrument.id}"' in client.get("/?q=resolution").get_data(
        as_text=True)  # the English text is searched too
    client.post("/language", data={"locale": "zh_CN"})


def test_laboratory_named_in_the_readers_language(client, login, manager):
    login(manager)
    assert _create(client, manager, lab_en="Analysis and Testing Center").status_code == 302
    instrument = db.session.scalar(select(Instrument).where(Instrument.name_zh == FORM["name_zh"]))
    assert instrument.lab_en == "Analysis and Testing Center"
    chinese = client.get(f"/instruments/{instrument.id}").get_data(as_text=True)
    assert "分析测试中心" in chinese and "Analysis and Testing Center" not in chinese
    client.post("/language", data={"locale": "en"})
    for path in (f"/instruments/{instrument.id}", "/?q=SEM"):
        page = client.get(path).get_data(as_text=True)
        assert "· Analysis and Testing Center" in page and "· 分析测试中心" not in page, path
    # the English name is searched too; without it, English readers see the Chinese one
    assert f'href="/instruments/{instrument.id}"' in client.get("/?q=testing").get_data(
        as_text=True)
    assert client.post(f"/lab/instruments/{instrument.id}/edit",
                       data={**FORM, "lab_en": ""}).status_code == 302
    assert "· 分析测试中心" in client.get(f"/instruments/{instrument.id}").get_data(as_text=True)
    # a laboratory named in one language only shows in both
    assert client.post(f"/lab/instruments/{instrument.id}/edit",
                       data={**FORM, "lab": "", "lab_en": "Only English"}).status_code == 302
    assert "· Only English" in client.get(f"/instruments/{instrument.id}").get_data(as_text=True)
    client.post("/language", data={"locale": "zh_CN"})
    assert "· Only English" in client.get(f"/instruments/{instrument.id}").get_data(as_text=True)


def test_a_forms_required_mark_stays_in_its_label_and_grid_inputs_line_up(client, login,
                                                                        manager):
    """In English long labels wrapped: the required mark fell to a line of its own, and the
    inputs of a row sat at different heights."""
    login(manager)
    page = client.get("/lab/instruments/new").get_data(as_text=True)
    label = re.search(r'<label class="([^"]*)" for="lead_minutes">(.*?)</label>', page)
    assert label is not None, "the required mark is inside the label"
    assert "flex-grow-1" in label.group(1)  # takes the row's spare height
    assert label.group(2).endswith('<span class="text-danger" aria-hidden="true"> *</span>')


def test_a_refused_form_leaves_the_others_as_they_start(client, login, make, manager):
    """A rate refused: the page comes back with "closed all day" still ticked for the next
    exception, the rate card in the policy's order, and the banner names what is missing."""
    instrument = make.instrument(organisation=manager.organisation, hours=None)
    login(manager)
    page = _rate(client, instrument, hourly="-1").get_data(as_text=True)
    assert 'id="exception-closed" name="exception-closed" type="checkbox" value="y" checked' \
        in page or re.search(r'<input checked[^>]*id="exception-closed"', page)
    classes = re.findall(
        r"<tr data-rate=\"\d+\"(?: class=\"table-info\")?><td class=\"fw-semibold\">([^<]+)</td>",
                         page[page.index('id="rate-card"'):])
    assert classes[:3] == ["校内", "校外高校/院所", "企业"]  # as the price panel says
    assert "须先设置每周开放时间" in page and "收费标准和" not in page


def test_closing_a_booked_day_asks_for_a_blackout_first(client, login, make, manager):
    """Reported: a day closed as a holiday left its bookings standing (then charged as
    no-shows), with nobody told."""
    from tests.moments import MONDAY_23_NOV_8AM, TUESDAY_24_NOV_10AM

    instrument = make.instrument(organisation=manager.organisation)
    url = f"/lab/instruments/{instrument.id}/exceptions"
    with freeze_time(MONDAY_23_NOV_8AM):
        login(manager)
        make.placed_booking(instrument, make.user(), TUESDAY_24_NOV_10AM)  # 10:00-11:00
        closed = client.post(url, data={"exception-day": "2026-11-24", "exception-closed": "y",
                                        "exception-reason": "校庆停开"})
        assert closed.status_code == 422
        assert "1 个预约在该日开放时间之外" in closed.get_data(as_text=True)
        morning = client.post(url, data={"exception-day": "2026-11-24", "exception-opens": "08:00",
                                         "exception-closes": "10:30", "exception-reason": "半天"})
        assert morning.status_code == 422  # the booking runs to 11:00
        assert client.post(url, data={"exception-day": "2026-11-24", "exception-opens": "09:00",
                                      "exception-closes": "12:00",
                                      "exception-reason": "调休"}).status_code == 302
    db.session.refresh(instrument)
    assert [(e.day.isoformat(), e.reason) for e in instrument.exceptions] == [("2026-11-24", "调休")]


def test_an_upcoming_rate_is_withdrawn_one_in_force_never(client, login, make, manager):
    """Reported: a mistyped future price could be neither removed nor replaced for its date."""
    instrument = make.instrument(organisation=manager.organisation)
    login(manager)
    _rate(client, instrument, hourly="300")  # meant 250
    db.session.refresh(instrument)
    in_force, typo = sorted((r for r in instrument.rates if r.customer_class == "academic"),
                            key=lambda r: r.valid_from)
    page = client.get(f"/lab/instruments/{instrument.id}").get_data(as_text=True)
    assert page.count('class="d-inline remove-rate"') == 1 and "生效中" in page
    url = f"/lab/instruments/{instrument.id}/rates"
    assert client.post(f"{url}/{in_force.id}/delete", follow_redirects=True).status_code == 200
    assert client.post(f"{url}/{typo.id}/delete").status_code == 302
    assert _rate(client, instrument).status_code == 302  # the same date, the right price
    db.session.expire_all()
    assert sorted(r.hourly_fen for r in instrument.rates if r.customer_class == "academic") == [
        20_000, 25_000]
    other = make.instrument()  # another lab's rate is not found through this instrument
    assert client.post(f"{url}/{other.rates[0].id}/delete").status_code == 404
    assert audit_actions_of(instrument).count("rate.removed") == 1


def audit_actions_of(instrument):
    return list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "Instrument", AuditEvent.object_id == instrument.id)))


def test_a_blackout_sent_twice_is_added_once(client, login, make, manager):
    instrument = make.instrument(organisation=manager.organisation)
    login(manager)
    start = (now_utc() + timedelta(days=3)).strftime("%Y-%m-%dT10:00")
    data = {"blackout-start": start, "blackout-end": start.replace("T10", "T12"),
            "blackout-reason": "更换灯丝"}
    url = f"/lab/instruments/{instrument.id}/blackouts"
    assert client.post(url, data=data).status_code == 302
    again = client.post(url, data=data)  # Back, then submit again
    assert again.status_code == 422 and "已有完全相同时段的停机" in again.get_data(as_text=True)
    db.session.refresh(instrument)
    assert len(instrument.blackouts) == 1


def test_a_blackout_over_a_booking_in_use_says_it_runs_on(client, login, make, manager):
    from booking.metering import services as metering
    from tests.moments import TUESDAY_24_NOV_10AM

    instrument = make.instrument(organisation=manager.organisation)
    user = make.user(name="赵敏")
    booking = make.placed_booking(instrument, user, TUESDAY_24_NOV_10AM)
    with freeze_time(TUESDAY_24_NOV_10AM):
        metering.check_in(booking, actor=user, source="kiosk")
        db.session.commit()
    with freeze_time(TUESDAY_24_NOV_10AM + timedelta(minutes=30)):
        login(manager)
        page = client.post(f"/lab/instruments/{instrument.id}/blackouts", data={
            "blackout-start": "2026-11-24T10:30", "blackout-end": "2026-11-24T12:00",
            "blackout-reason": "停电检修"}, follow_redirects=True).get_data(as_text=True)
    assert f"#{booking.id}" in page and "赵敏" in page and "正在使用" in page
    assert booking.state == "in_use"
