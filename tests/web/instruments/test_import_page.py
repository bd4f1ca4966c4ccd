"""The import page: who may import into which organisation, the dry run's problems by row and
column in the user's language, the template."""
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from booking.extensions import db
from booking.instruments.models import Instrument

CSV = ("资产编号,仪器名称,分类代码,购置日期\r\nZC-1,扫描电镜,0101,2021/3/5\r\n"
       "ZC-2,,9999,2021/3/5\r\n").encode()
GOOD_CSV = "资产编号,仪器名称,分类代码\r\nZC-1,扫描电镜,0101\r\n".encode()


def _post(client, org, data, button="check", **extra):
    return client.post("/lab/import", data={
        "organisation": org.id, "file": (io.BytesIO(data), "list.csv"), button: "1", **extra},
        content_type="multipart/form-data", headers={"Accept-Language": "en"})


def _count(org):
    return db.session.scalar(select(func.count()).select_from(Instrument).where(
        Instrument.organisation_id == org.id))


def test_manager_dry_run_shows_problems_by_row_and_column(client, make, login):
    org = make.organisation()
    login(make.user(role="lab_manager", organisation=org, locale="en"))
    page = _post(client, org, CSV).get_data(as_text=True)
    assert "Check finished: nothing was written." in page
    assert "Unknown national classification code: 9999" in page
    assert "<td>3</td><td>仪器名称</td>" in page
    assert _count(org) == 0
    page = _post(client, org, CSV, button="submit").get_data(as_text=True)
    assert "Nothing was imported" in page and _count(org) == 0
    page = _post(client, org, CSV, button="submit", skip_invalid="y").get_data(as_text=True)
    assert "Imported." in page and _count(org) == 1


def test_the_check_names_what_changes_what_is_not_read_and_the_rates_kept(client, make,
                                                                          login):
    org = make.organisation()
    login(make.user(role="lab_manager", organisation=org))
    _post(client, org, "资产编号,仪器名称,收费标准\r\nZC-1,扫描电镜,300\r\n".encode(),
          button="submit")
    page = _post(client, org, "资产编号,仪器名称,收费标准,备注\r\nZC-1,场发射扫描电镜,350,x\r\n"
                 .encode()).get_data(as_text=True)
    assert '<tr class="import-change"><td>2</td><td>ZC-1</td><td>仪器名称</td></tr>' in page
    assert "未读取的列（模板中没有）：备注" in page and "<th>变更的列</th>" in page
    assert 'id="import-rates-kept"' in page and "（第 2 行）" in page


def test_problems_speak_chinese_to_a_chinese_user(client, make, login):
    org = make.organisation()
    login(make.user(role="lab_manager", organisation=org))
    response = _post(client, org, CSV)
    assert response.status_code == 200 and "<td>3</td>" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["member", "student", "finance"])
def test_other_roles_may_not_import(client, make, login, role):
    org = make.organisation()
    login(make.user(role=role, organisation=org))
    assert client.get("/lab/import").status_code == 403
    assert _post(client, org, GOOD_CSV, button="submit").status_code == 403
    assert client.get("/lab/import/template.xlsx").status_code == 403


def test_manager_may_not_import_into_another_organisation(client, make, login):
    mine, theirs = make.organisation(), make.organisation()
    login(make.user(role="lab_manager", organisation=mine))
    response = _post(client, theirs, GOOD_CSV, button="submit")
    assert response.status_code == 200 and _count(theirs) == 0  # not a choice: form refused


def test_bureau_imports_into_any_organisation(client, make, login):
    org = make.organisation()
    login(make.user(role="bureau_staff", organisation=make.organisation(kind="bureau"),
                     locale="en"))
    page = _post(client, org, GOOD_CSV, button="submit").get_data(as_text=True)
    assert "Imported." in page and _count(org) == 1


def test_laboratory_names_in_both_languages_are_imported(client, make, login):
    org = make.organisation()
    login(make.user(role="lab_manager", organisation=org, locale="en"))
    sheet = ("资产编号,仪器名称,所在实验室,实验室英文名称\r\n"
             "ZC-1,扫描电镜,分析测试中心,Analysis and Testing Center\r\n").encode()
    assert "Imported." in _post(client, org, sheet, button="submit").get_data(as_text=True)
    instrument = db.session.scalar(select(Instrument).where(Instrument.organisation_id == org.id))
    assert (instrument.lab, instrument.lab_en) == ("分析测试中心", "Analysis and Testing Center")
    # control characters pasted into a cell (a NUL cannot even be stored) are dropped
    sheet = ("资产编号,仪器名称,所在实验室,实验室英文名称\r\n"
             "ZC-1,扫描电镜,分析\x00测试中心,Analysis\x1b Center\x7f\r\n").encode()
    assert "Imported." in _post(client, org, sheet, button="submit").get_data(as_text=True)
    db.session.refresh(instrument)
    assert (instrument.lab, instrument.lab_en) == ("分析测试中心", "Analysis Center")


def test_anonymous_is_sent_to_login(client):
    assert client.get("/lab/import").status_code == 302


def test_unreadable_file_is_a_422_with_a_message(client, make, login):
    org = make.organisation()
    login(make.user(role="lab_manager", organisation=org, locale="en"))
    response = client.post("/lab/import", data={
        "organisation": org.id, "file": (io.BytesIO(b"PK\x03\x04junk"), "list.xlsx"),
        "check": "1"}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "cannot be read as XLSX" in response.get_data(as_text=True)


def test_template_has_the_chinese_columns_and_english_on_request(client, make, login):
    login(make.user(role="lab_manager"))
    book = load_workbook(io.BytesIO(client.get("/lab/import/template.xlsx").data))
    header = [c.value for c in next(book.active.iter_rows(max_row=1))]
    assert header[:3] == ["资产编号", "仪器名称", "英文名称"]
    assert "服务方式" in header and "收费标准（元/小时）" in header
    english = load_workbook(io.BytesIO(client.get("/lab/import/template.xlsx?lang=en").data))
    assert next(english.active.iter_rows(max_row=1))[0].value == "Asset number"
    assert client.get("/lab/import/template.csv").data.startswith("\ufeff资产编号".encode())


def test_directory_filters_by_national_class_and_shows_it(client, make):
    org = make.organisation()
    sem = make.instrument(organisation=org, name_en="扫描电镜甲", national_class="0101")
    make.instrument(organisation=org, name_en="试验机乙", national_class="0201")
    page = client.get("/instruments?class=01", headers={"Accept-Language": "en"}
                      ).get_data(as_text=True)
    assert "扫描电镜甲" in page and "试验机乙" not in page
    assert "Analytical instruments › Electron optical instruments" in page
    assert "试验机乙" in client.get("/instruments?class=nonsense", headers={
        "Accept-Language": "en"}).get_data(as_text=True)
    detail = client.get(f"/instruments/{sem.id}").get_data(as_text=True)
    assert "national-class" in detail
    api = client.get("/api/v1/instruments?class=0101").get_json()
    assert [i["national_class"] for i in api["items"]] == ["0101"]
    assert client.get("/api/v1/instruments?class=77").status_code == 422


def test_manager_sets_class_and_asset_number_in_the_form(client, make, login):
    org = make.organisation()
    login(make.user(role="lab_manager", organisation=org, locale="en"))
    make.instrument(organisation=org, asset_number="ZC-9")
    instrument = make.instrument(organisation=org)
    from tests.web.instruments.test_lab_console import FORM

    response = client.post(f"/lab/instruments/{instrument.id}/edit", data={
        **FORM, "national_class": "0102", "asset_number": "ZC-9"})
    assert response.status_code == 200 and "has this asset number" in response.get_data(
        as_text=True)
    response = client.post(f"/lab/instruments/{instrument.id}/edit", data={
        **FORM, "national_class": "0102", "asset_number": "ZC-10"})
    assert response.status_code == 302
    assert (instrument.national_class, instrument.asset_number) == ("0102", "ZC-10")
    response = client.post(f"/lab/instruments/{instrument.id}/edit", data={
        **FORM, "national_class": "7777"})
    assert response.status_code == 200


def test_the_form_refuses_to_retire_an_instrument_still_booked(client, make, login):
    from datetime import timedelta

    from freezegun import freeze_time

    from tests.moments import TUESDAY_24_NOV_10AM
    from tests.web.instruments.test_lab_console import FORM

    org = make.organisation()
    instrument = make.instrument(organisation=org)
    with freeze_time(TUESDAY_24_NOV_10AM - timedelta(days=1)):
        login(make.user(role="lab_manager", organisation=org))
        make.placed_booking(instrument, make.user(), TUESDAY_24_NOV_10AM)
        response = client.post(f"/lab/instruments/{instrument.id}/edit",
                               data={**FORM, "status": "retired"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "1 个预约尚未进行" in page
    assert instrument.status == "active"


def test_a_form_saved_untouched_changes_nothing(client, make, login):
    """Reported: a browser sends a textarea's line breaks as CR LF; stored so, an untouched
    multi-line field read as changed on every save (and was audited)."""
    from booking.core.audit import AuditEvent
    from tests.web.instruments.test_lab_console import FORM

    org = make.organisation()
    instrument = make.instrument(organisation=org, capabilities="形貌观察\n能谱分析")
    login(make.user(role="lab_manager", organisation=org))
    response = client.post(f"/lab/instruments/{instrument.id}/edit", data={
        **FORM, "name_zh": instrument.name_zh, "capabilities": "形貌观察\r\n能谱分析"})
    assert response.status_code == 302
    assert instrument.capabilities == "形貌观察\n能谱分析"
    changed = [e.data.get("changed") for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "instrument.updated"))]
    assert all("capabilities" not in (c or []) for c in changed)
