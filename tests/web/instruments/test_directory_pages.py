"""Public directory pages, API, export and the bureau's quality view."""
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from booking.core.clock import now_utc
from booking.core.notifications import OutboxMessage
from booking.extensions import db
from booking.instruments import notifications, services


def test_anonymous_browses_and_searches(client, make):
    make.instrument(name_zh="核磁共振波谱仪", name_en="NMR spectrometer")
    make.instrument(name_zh="高效液相色谱仪", name_en="HPLC")
    page = client.get("/?q=核磁").get_data(as_text=True)
    assert "核磁共振波谱仪" in page and "高效液相色谱仪" not in page
    assert "核磁共振波谱仪" in client.get("/instruments?q=NMR").get_data(as_text=True)
    assert client.get("/?q=&category=analytical&org=x&price_min=-3&page=0").status_code == 200


def test_suggestions_name_the_institution_and_end_with_the_id(client, make):
    """An instrument picker's list: listed instruments only, the exact name first, in the
    reader's language; nothing for nothing typed, and a long text is cut, not an error."""
    dalian = make.organisation(name_zh="大连理工大学", name_en="Dalian University of Technology")
    exact = make.instrument(organisation=dalian, name_zh="核磁共振波谱仪",
                            name_en="NMR spectrometer")
    make.instrument(name_zh="固体核磁共振波谱仪", name_en="Solid-state NMR")
    make.instrument(name_zh="核磁共振波谱仪(内部)", is_public=False)
    found = client.get("/instruments/suggestions.json?q=核磁共振波谱仪").get_json()
    assert found[0] == {"id": exact.id, "label": f"核磁共振波谱仪 · 大连理工大学 · #{exact.id}"}
    assert len(found) == 2 and all("内部" not in item["label"] for item in found)
    english = client.get("/instruments/suggestions.json?q=nmr",
                         headers={"Accept-Language": "en"}).get_json()
    assert {"id": exact.id, "label": f"NMR spectrometer · Dalian University of Technology · "
                                     f"#{exact.id}"} in english
    # a name holding what was typed comes before a match found elsewhere (a glossary word)
    ct = make.instrument(name_zh="高分辨率工业CT", name_en="Industrial CT",
                         description="计算机断层扫描")
    sem = make.instrument(name_zh="场发射扫描电子显微镜", name_en="FE-SEM")
    ids = [item["id"] for item in client.get(
        "/instruments/suggestions.json?q=扫描").get_json()]
    assert ids.index(sem.id) < ids.index(ct.id)
    assert client.get("/instruments/suggestions.json").get_json() == []
    assert client.get("/instruments/suggestions.json?q=" + "核" * 5000).status_code == 200


def test_english_readers_see_cities_in_english(client, make):
    dalian = make.organisation(city="大连")
    make.instrument(organisation=dalian, name_zh="核磁共振波谱仪", name_en="NMR spectrometer")
    make.instrument(organisation=make.organisation(city="鞍山"), name_en="HPLC")
    page = client.get("/").get_data(as_text=True)
    assert "· 大连" in page and "共找到 2 台仪器" in page
    client.post("/language", data={"locale": "en"})
    page = client.get("/").get_data(as_text=True)
    assert "· Dalian" in page and "· 大连" not in page
    assert '<option value="大连">Dalian</option>' in page  # filtered by the stored name
    page = client.get("/?city=大连").get_data(as_text=True)
    assert "NMR spectrometer" in page and "HPLC" not in page
    assert "1 instrument found" in page
    # however a city was typed, it is one choice, and its English name finds it too
    make.instrument(organisation=make.organisation(city="大连市"), name_en="XRD")
    page = client.get("/?city=Dalian").get_data(as_text=True)
    assert page.count('<option value="大连"') == 1 and "大连市" not in page
    assert '<option value="大连" selected>Dalian</option>' in page  # the filter shows it
    assert "NMR spectrometer" in page and "XRD" in page and "HPLC" not in page


def test_detail_shows_the_viewers_class_only(client, login, make):
    instrument = make.instrument(rates={"internal": 10_000, "academic": 20_000,
                                        "enterprise": 40_000})
    page = client.get(f"/instruments/{instrument.id}").get_data(as_text=True)
    assert all(p in page for p in ("¥100.00", "¥200.00", "¥400.00"))
    login(make.user(organisation=make.organisation(kind="enterprise")))
    page = client.get(f"/instruments/{instrument.id}").get_data(as_text=True)
    assert "¥400.00" in page and "¥100.00" not in page and "¥200.00" not in page


def test_directory_prices_name_whose_rate_they_are(client, login, make):
    """A price on a card is the reader's own: it says which class it is, and a visitor not
    logged in is told they see enterprise rates."""
    university = make.organisation(kind="university")
    own = make.instrument(organisation=university, name_zh="本校电镜",
                          rates={"internal": 10_000, "academic": 20_000, "enterprise": 40_000})
    other = make.instrument(name_zh="外校色谱仪",
                            rates={"internal": 10_000, "academic": 20_000, "enterprise": 40_000})

    def card(page, instrument):
        return page.split(f'href="/instruments/{instrument.id}"')[1].split("</article>")[0]

    page = client.get("/").get_data(as_text=True)
    assert "¥400.00/小时</span><span class=\"small text-muted price-class\">企业价" in card(
        page, other)
    assert 'id="price-hint"' in page and "所示价格为企业价" in page
    login(make.user(organisation=university))
    page = client.get("/").get_data(as_text=True)
    assert "¥100.00/小时" in card(page, own) and "校内价" in card(page, own)
    assert "¥200.00/小时" in card(page, other) and "校外高校/院所价" in card(page, other)
    assert 'id="price-hint"' not in page


def test_an_instrument_not_open_for_booking_says_so_instead_of_offering_it(client, login,
                                                                            make):
    """Listed before the lab set its hours or a reader's price: the card and the page say it
    is not open yet, and the page offers no booking that could only be refused."""
    closed = make.instrument(name_zh="待开放电镜", hours="none")
    for_members = make.instrument(name_zh="校内专用电镜", rates={"internal": 10_000})
    page = client.get("/").get_data(as_text=True)
    for instrument in (closed, for_members):  # no hours (a price though), no price of yours
        card = page.split(f'href="/instruments/{instrument.id}"')[1].split("</article>")[0]
        assert "暂未开放预约" in card and "/小时" not in card
    detail = client.get(f"/instruments/{closed.id}").get_data(as_text=True)
    assert 'id="not-open"' in detail and 'id="book-link"' not in detail
    login(make.user(organisation=make.organisation(kind="enterprise")))
    detail = client.get(f"/instruments/{for_members.id}").get_data(as_text=True)
    assert 'id="not-open"' in detail and 'id="book-link"' not in detail
    login(make.user(organisation=for_members.organisation))
    detail = client.get(f"/instruments/{for_members.id}").get_data(as_text=True)
    assert 'id="not-open"' not in detail and 'id="book-link"' in detail


def test_the_directory_explains_odd_searches_instead_of_pretending(client, make):
    """Reported: "%" showed every instrument under "74 found · “%”", a price range typed the
    wrong way round found nothing, and page 999 said "74 found" above "no instrument"."""
    cheap = make.instrument(name_zh="便宜的仪器", rates={"internal": 1_000, "academic": 2_000,
                                                        "enterprise": 5_000})
    make.instrument(name_zh="昂贵的仪器", rates={"internal": 100_000, "academic": 200_000,
                                                "enterprise": 500_000})
    page = client.get("/?q=%25").get_data(as_text=True)
    assert 'id="no-words"' in page and "没有可搜索的词语" in page
    assert 'id="no-words"' not in client.get("/?q=仪器").get_data(as_text=True)
    page = client.get("/?price_min=100&price_max=10").get_data(as_text=True)  # ¥10–100
    assert f'href="/instruments/{cheap.id}"' in page and "昂贵的仪器" not in page
    last = client.get("/?q=仪器&page=999")
    assert last.status_code == 302 and "page=1" in last.headers["Location"]


def test_api_lists_and_searches_without_a_token(client, make):
    instrument = make.instrument(name_zh="透射电子显微镜", name_en="TEM")
    make.instrument(name_zh="已报废的透射电镜", status="retired")
    body = client.get("/api/v1/instruments?q=电镜").get_json()
    assert body["total"] == 1 and body["page"] == 1 and body["per_page"] == 20
    item = body["items"][0]
    assert item["id"] == instrument.id and item["hourly_fen"] == 40_000
    assert item["organisation"]["id"] == instrument.organisation_id
    assert set(item["service_modes"]) == {"self_operated", "staff_operated"}
    detail = client.get(f"/api/v1/instruments/{instrument.id}").get_json()
    assert [r["customer_class"] for r in detail["rates"]] == ["internal", "academic",
                                                              "enterprise"]
    assert detail["booking_rules"]["slot_minutes"] == 30
    assert len(detail["opening_hours"]) == 5


def test_api_filters_and_errors(client, make):
    org = make.organisation(city="鞍山")
    make.instrument(organisation=org, name_zh="冲击试验机", category="physical_testing")
    assert client.get(f"/api/v1/instruments?org={org.id}").get_json()["total"] == 1
    assert client.get("/api/v1/instruments?city=鞍山&category=physical_testing"
                      ).get_json()["total"] == 1
    response = client.get("/api/v1/instruments?category=nonsense")
    assert response.status_code == 422 and response.get_json()["error"]["code"]
    assert client.get("/api/v1/instruments/999999").get_json()["error"]["code"] == "not_found"
    private = make.instrument(is_public=False)
    assert client.get(f"/api/v1/instruments/{private.id}").status_code == 404


def test_openapi_documents_the_directory(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/instruments" in spec["paths"]
    assert "/api/v1/instruments/{instrument_id}" in spec["paths"]


@pytest.mark.parametrize("role", ["member", "lab_manager", "finance"])
def test_export_is_for_bureau_staff_only(client, login, make, role):
    login(make.user(role=role))
    assert client.get("/instruments/export.csv").status_code == 403
    assert client.get("/instruments/export.xlsx").status_code == 403
    assert client.get("/bureau/directory-quality").status_code == 403


def test_anonymous_cannot_export(client):
    assert client.get("/instruments/export.csv").status_code == 302


def test_bureau_exports_csv_and_xlsx(client, login, make):
    make.instrument(name_zh="=HYPERLINK(\"x\")仪器")
    make.instrument(name_zh="X射线衍射仪")
    make.instrument(name_zh="私有仪器", is_public=False)
    login(make.user(role="bureau_staff"))
    response = client.get("/instruments/export.csv")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    text = response.data.decode("utf-8-sig")
    assert "X射线衍射仪" in text and "私有仪器" not in text
    assert "'=HYPERLINK" in text
    response = client.get("/instruments/export.xlsx?q=XRD")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.values)
    assert rows[0][:4] == ("编号", "单位", "城市", "中文名称") and len(rows) == 2
    assert rows[1][3] == "X射线衍射仪"
    assert rows[1][-2] == 400.0  # enterprise hourly CNY


def test_bureau_quality_view_lists_stale_and_scores(client, login, make):
    make.instrument(name_zh="多年未更新的仪器", info_updated_at=now_utc() - timedelta(days=400))
    login(make.user(role="bureau_staff"))
    page = client.get("/bureau/directory-quality").get_data(as_text=True)
    assert "多年未更新的仪器" in page and 'id="institutions"' in page


def test_reminders_go_to_managers_once_a_day(app, make):
    instrument = make.instrument(info_updated_at=now_utc() - timedelta(days=200))
    manager = make.user(role="lab_manager", organisation=instrument.organisation)
    make.user(role="member", organisation=instrument.organisation)
    make.instrument(organisation=instrument.organisation)  # fresh: not mentioned
    assert services.queue_stale_reminders("http://x/lab") == 1
    assert services.queue_stale_reminders("http://x/lab") == 0
    message = db.session.scalar(select(OutboxMessage).where(
        OutboxMessage.kind == notifications.REMINDER_KIND))
    assert message.recipient == manager.email and instrument.name_zh in message.body


def test_notify_reminders_command(app, make):
    instrument = make.instrument(info_updated_at=now_utc() - timedelta(days=200))
    make.user(role="lab_manager", organisation=instrument.organisation)
    result = app.test_cli_runner().invoke(args=["notify", "reminders"])
    assert result.exit_code == 0, result.output
    assert "reminder" in result.output
    message = db.session.scalar(select(OutboxMessage).where(
        OutboxMessage.kind == notifications.REMINDER_KIND))
    assert "http://localhost/lab" in message.body  # built on PUBLIC_BASE_URL
