"""The annual report and the bulletin: contents, formats, who may download them."""
import io
import shutil
import subprocess  # noqa: S404 - poppler's pdftotext, fixed arguments

import pytest
from freezegun import freeze_time
from openpyxl import load_workbook

from booking.core.db import utc
from booking.extensions import db


@pytest.fixture
def year_of_use(make):
    """A large instrument used internally and by an outside firm in 2026."""
    instrument = make.instrument(asset_number="ZC-1", national_class="0102",
                                 original_value_fen=80_000_000, created_at=utc(2025, 1, 1))
    inside = make.user(organisation=instrument.organisation)
    outside = make.user()
    for user, day in ((inside, 2), (outside, 3), (outside, 4)):
        booking = make.placed_booking(instrument, user, utc(2026, 11, day, 2), minutes=120,
                                      state="completed")
        make.usage_session(instrument, user, booking=booking, start=booking.start_at,
                           minutes=120)
    make.instrument(organisation=instrument.organisation, original_value_fen=1_000_000)  # small
    db.session.commit()
    return instrument


def _xlsx_rows(response):
    book = load_workbook(io.BytesIO(response.data))
    return [[c.value for c in row] for row in book.active.iter_rows()]


def test_annual_report_counts_hours_external_use_and_users(client, make, login, year_of_use):
    login(make.user(role="bureau_staff"))
    rows = _xlsx_rows(client.get("/reports/nrii.xlsx?year=2026"))
    header, data = rows[0], rows[1:]
    assert header[0] == "资产编号" and "有效工作机时" in header
    assert len(data) == 1  # the small instrument is not reported
    row = dict(zip(header, data[0], strict=True))
    assert (row["资产编号"], row["分类代码"], row["原值（元）"]) == ("ZC-1", "0102", 800000)
    assert (row["有效工作机时"], row["对外服务机时"], row["服务外单位用户数"]) == (6.0, 4.0, 1)
    assert row["分类名称"] == "分析仪器 › 质谱仪器"
    assert row["所在实验室"] == "分析测试中心"
    year_of_use.lab, year_of_use.lab_en = "", "Testing Center"  # named in English only
    db.session.commit()
    rows = _xlsx_rows(client.get("/reports/nrii.xlsx?year=2026"))
    assert dict(zip(rows[0], rows[1], strict=True))["所在实验室"] == "Testing Center"
    csv = client.get(f"/reports/nrii.csv?year=2026&org={year_of_use.organisation_id}")
    assert csv.status_code == 200 and "ZC-1" in csv.data.decode("utf-8-sig")
    assert "ZC-1" not in client.get("/reports/nrii.csv?year=2026&region=2103"
                                    ).data.decode("utf-8-sig")
    # a year typed wrong or not begun: the reports page, told why (an address edited by hand)
    for year in ("20x6", "2999"):
        wrong = client.get(f"/reports/nrii.csv?year={year}")
        assert wrong.status_code == 302 and wrong.location.endswith("/reports/")
    assert client.get("/reports/nrii.csv?org=99999999999999999999").status_code == 400  # a 500
    assert client.get("/reports/nrii.csv?org=-3").status_code == 400


def test_managers_download_their_own_organisations_report_only(client, make, login,
                                                               year_of_use):
    login(make.user(role="lab_manager", organisation=year_of_use.organisation))
    org = year_of_use.organisation_id
    assert client.get(f"/reports/nrii.xlsx?year=2026&org={org}").status_code == 200
    assert client.get("/reports/nrii.xlsx?year=2026").status_code == 403
    assert client.get(f"/reports/nrii.xlsx?year=2026&org={make.organisation().id}"
                      ).status_code == 403
    assert client.get("/reports/bulletin").status_code == 403
    assert client.get("/reports/").status_code == 200


@pytest.mark.parametrize("role", ["member", "student", "finance"])
def test_others_may_not(client, make, login, role):
    login(make.user(role=role))
    for path in ("/reports/", "/reports/bulletin", "/reports/bulletin.pdf",
                 "/reports/nrii.xlsx?year=2026"):
        assert client.get(path).status_code == 403, path


def test_bulletin_page_and_pdf(client, make, login, year_of_use):
    login(make.user(role="bureau_staff", locale="en"))
    page = client.get("/reports/bulletin?period=2026-11")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "chart-hours" in text
    assert year_of_use.organisation.name_en in text and "2026-10" in text
    pdf = client.get("/reports/bulletin.pdf?period=2026Q4")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert b"WenQuanYi" in pdf.data  # the Chinese font is embedded
    for period in ("2026-13", "2999-12"):  # no period, or one not begun: last month's
        page = client.get(f"/reports/bulletin?period={period}", follow_redirects=True)
        assert page.status_code == 200 and period not in page.request.url
        assert "alert-warning" in page.get_data(as_text=True)  # told why


def test_the_bulletin_opens_on_the_last_whole_month(client, make, login, year_of_use):
    with freeze_time("2026-12-06 02:00:00"):  # signed in inside: a later cookie does not verify
        login(make.user(role="bureau_staff", locale="en"))
        page = client.get("/reports/bulletin").get_data(as_text=True)
        assert "2026-11" in page.split("<h1")[1].split("</h1>")[0]
        assert 'id="bulletin-under-way"' not in page
        assert 'value="2026-11"' in client.get("/reports/").get_data(as_text=True)
        under_way = client.get("/reports/bulletin?period=2026-12").get_data(as_text=True)
    assert 'id="bulletin-under-way"' in under_way


def test_cli_writes_the_reports(app, make, year_of_use, tmp_path):
    runner = app.test_cli_runner()
    out = tmp_path / "nrii.xlsx"
    result = runner.invoke(args=["reports", "nrii", "--year", "2026", "--out", str(out)])
    assert result.exit_code == 0 and "1 instrument(s)" in result.output
    assert load_workbook(out).active["A2"].value == "ZC-1"
    result = runner.invoke(args=["reports", "bulletin", "--period", "2026-11", "--out",
                                 str(tmp_path / "b.pdf")])
    assert result.exit_code == 0 and (tmp_path / "b.pdf").read_bytes().startswith(b"%PDF")


def test_bulletin_counts_new_and_stale_listings(app, make):
    from booking.core.clock import parse_period
    from booking.reports import bulletin

    org = make.organisation()
    make.instrument(organisation=org, created_at=utc(2026, 11, 5))
    make.instrument(organisation=org, created_at=utc(2025, 1, 1),
                    info_updated_at=utc(2025, 1, 1))
    figures = bulletin.figures(parse_period("2026-11"))[org.id]
    assert (figures.new_instruments, figures.stale_listings) == (1, 1)


def test_the_annual_report_leaves_out_instruments_bought_after_its_year(client, make, login,
                                                                        year_of_use):
    """Reported: the report for 2000 listed every instrument, bought 2012-2026 included."""
    from datetime import date

    make.instrument(organisation=year_of_use.organisation, asset_number="ZC-NEW",
                    original_value_fen=90_000_000, purchase_date=date(2026, 6, 1))
    login(make.user(role="bureau_staff"))
    report_2025 = client.get("/reports/nrii.csv?year=2025").data.decode("utf-8-sig")
    report_2026 = client.get("/reports/nrii.csv?year=2026").data.decode("utf-8-sig")
    assert "ZC-1" in report_2025 and "ZC-NEW" not in report_2025  # ZC-1: no purchase date
    assert "ZC-NEW" in report_2026


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")
def test_the_pdf_of_a_bulletin_under_way_says_so(client, make, login, tmp_path):
    """Reported: the page warned that the period was not over; its PDF did not."""
    with freeze_time("2026-12-06 02:00:00"):
        login(make.user(role="bureau_staff", locale="en"))
        texts = {}
        for period in ("2026-11", "2026-12"):
            path = tmp_path / f"{period}.pdf"
            path.write_bytes(client.get(f"/reports/bulletin.pdf?period={period}").data)
            texts[period] = subprocess.run(  # noqa: S603 - poppler's pdftotext, fixed arguments
                [shutil.which("pdftotext"), str(path), "-"], capture_output=True, text=True,
                check=True).stdout
    assert "is not over yet" in texts["2026-12"] and "is not over yet" not in texts["2026-11"]
    assert "clawbacks took back" in texts["2026-11"]


def test_the_annual_report_gives_the_rate_in_force_in_its_year(client, make, login,
                                                               year_of_use):
    """Reported: the 2026 report gave ¥260, a rate the lab had set to start on 2027-01-01
    (in force at the year's "end", which is the next year's first moment)."""
    from booking.instruments.models import Rate

    enterprise = next(r for r in year_of_use.rates if r.customer_class == "enterprise")
    db.session.add(Rate(instrument_id=year_of_use.id, customer_class="enterprise",
                        hourly_fen=enterprise.hourly_fen + 2_000,
                        valid_from=utc(2026, 12, 31, 16)))  # 2027-01-01 00:00 in Shanghai
    db.session.commit()
    login(make.user(role="bureau_staff"))
    rows = _xlsx_rows(client.get("/reports/nrii.xlsx?year=2026"))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["收费标准（元/小时）"] == enterprise.hourly_fen / 100
