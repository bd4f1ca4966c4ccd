"""The bureau's voucher lists: the review queue (pending applications in order of arrival,
each checked against the policy) and every voucher, paged and filtered; bad input (a 400);
only bureau staff."""
import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from freezegun import freeze_time
from openpyxl import load_workbook

from booking.core.db import utc
from booking.extensions import db
from booking.subsidies import lists, services
from booking.subsidies.models import Voucher
from tests.moments import SUNDAY_10_MAY_10AM


@pytest.fixture(autouse=True)
def may_2026():
    with freeze_time(SUNDAY_10_MAY_10AM):
        yield


def voucher(make, name, created_at, state="applied", year=2026, klass="sme_science_based",
            valid_until=None):
    enterprise = make.enterprise(name_zh=name)
    applicant = make.user(organisation=enterprise)
    issued = state not in ("applied", "rejected")
    row = Voucher(enterprise_id=enterprise.id, applicant_id=applicant.id,
                  policy_id=services.stored_policy(year).id, year=year, state=state,
                  enterprise_class=klass, rate=Decimal("0.4"), project="SEM 表征",
                  declaration=services.complete_declaration(enterprise, {}),
                  requested_fen=3_000_000, face_value_fen=3_000_000 if issued else 0,
                  valid_until=valid_until, created_at=created_at,
                  decided_at=created_at + timedelta(days=1) if state != "applied" else None)
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def vouchers(make, login):
    """25 applications of this year (one a day from 1 Apr; the last five of small or micro
    enterprises), one lapsed with 2025, an issued voucher, one issued but past its validity
    (expired before the daily job wrote it), one expired, one rejected."""
    start = utc(2026, 4, 1, 2)
    pending = [voucher(make, f"申请企业{n:02d}", start + timedelta(days=n),
                       klass="small_micro" if n >= 20 else "sme_science_based")
               for n in range(25)]
    lapsed = voucher(make, "去年企业", utc(2025, 11, 1, 2), year=2025)
    issued = voucher(make, "有效企业", utc(2026, 2, 1, 2), state="issued",
                     valid_until=utc(2026, 12, 31, 16))
    past_validity = voucher(make, "过期企业", utc(2026, 1, 5, 2), state="issued",
                            valid_until=utc(2026, 5, 1, 16))
    expired = voucher(make, "早过期企业", utc(2025, 3, 1, 2), state="expired", year=2025)
    rejected = voucher(make, "被拒企业", utc(2026, 3, 1, 2), state="rejected")
    login(make.user(role="bureau_staff"))
    return {"pending": pending, "lapsed": lapsed, "issued": issued,
            "past_validity": past_validity, "expired": expired, "rejected": rejected}


def listed(client, path):
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return [int(i) for i in re.findall(r'data-voucher="(\d+)"', response.get_data(as_text=True))]


def ids(rows):
    return [v.id for v in rows]


def test_review_queue_pages_in_order_of_arrival_with_checks(client, vouchers):
    assert listed(client, "/vouchers/review") == ids(vouchers["pending"][:20])
    page = client.get("/vouchers/review?page=2").get_data(as_text=True)
    assert listed(client, "/vouchers/review?page=2") == ids(vouchers["pending"][20:])
    assert "共 25 条 · 第 2 / 2 页" in page and 'id="waiting-count">25<' in page
    assert page.count('approve-form"') == 5  # the page's rows only, each with its form
    # the amount approved is in the field, not a placeholder an empty field silently meant
    first = vouchers["pending"][20]
    amount = re.search(rf'data-voucher="{first.id}".*?<input name="amount"([^>]*)>', page, re.S)
    assert f'value="{first.requested_fen / 100:.2f}"' in amount.group(1)
    assert "required" in amount.group(1) and "placeholder" not in amount.group(1)


def test_review_queue_search_and_class(client, vouchers):
    assert listed(client, "/vouchers/review?q=企业07") == [vouchers["pending"][7].id]
    assert listed(client, f"/vouchers/review?q=%23{vouchers['pending'][3].id}") == \
        [vouchers["pending"][3].id]
    assert listed(client, "/vouchers/review?class=small_micro") == ids(vouchers["pending"][20:])
    assert listed(client, "/vouchers/review?class=small_micro&q=企业2&per_page=2&page=2") == \
        ids(vouchers["pending"][22:24])
    assert listed(client, "/vouchers/review?q=去年企业") == []  # lapsed: not for review


def all_listed(client, query=""):
    # the page also shows its rows only: no review queue, no recent decisions
    return listed(client, f"/vouchers/all?per_page=100{query}")


def test_every_voucher_newest_first(client, vouchers):
    every = [*vouchers["pending"], vouchers["lapsed"], vouchers["issued"],
             vouchers["past_validity"], vouchers["expired"], vouchers["rejected"]]
    assert all_listed(client) == ids(sorted(every, key=lambda v: v.created_at, reverse=True))
    assert listed(client, "/vouchers/all?per_page=10&page=3") == \
        ids(sorted(every, key=lambda v: v.created_at, reverse=True)[20:30])


def test_state_filter_reads_the_state_as_of_now(client, vouchers):
    assert all_listed(client, "&state=issued") == [vouchers["issued"].id]
    assert set(all_listed(client, "&state=expired")) == {
        vouchers["past_validity"].id, vouchers["expired"].id, vouchers["lapsed"].id}
    assert set(all_listed(client, "&state=applied")) == set(ids(vouchers["pending"]))
    assert all_listed(client, "&state=rejected") == [vouchers["rejected"].id]


def test_the_apis_state_filter_reads_the_state_as_of_now_as_each_item_shows(
        client, api_token, make, vouchers):
    """Reported: ?state=expired left out a voucher past its validity, which ?state=issued
    listed with "state": "expired" (until the daily job wrote it)."""
    headers = api_token(make.user(role="bureau_staff"))

    def api_listed(state):
        body = client.get(f"/api/v1/vouchers?state={state}&per_page=100", headers=headers)
        assert body.status_code == 200
        assert {item["state"] for item in body.get_json()["items"]} <= {state}
        return {item["id"] for item in body.get_json()["items"]}

    assert api_listed("issued") == {vouchers["issued"].id}
    assert api_listed("expired") == {vouchers["past_validity"].id, vouchers["expired"].id,
                                     vouchers["lapsed"].id}
    assert api_listed("applied") == set(ids(vouchers["pending"]))


def test_the_state_filter_agrees_with_state_at(vouchers):
    now = SUNDAY_10_MAY_10AM
    for state in ("applied", "issued", "expired", "rejected", "exhausted"):
        filtered = db.session.scalars(lists.all_vouchers({"state": state}, now)).all()
        assert {v.id for v in filtered} == {
            v.id for v in db.session.scalars(lists.all_vouchers({}, now)) if v.state_at(now) == state}


def test_year_search_and_class_combine(client, vouchers):
    assert all_listed(client, "&year=2025") == ids([vouchers["lapsed"], vouchers["expired"]])
    assert all_listed(client, "&year=2026&q=过期") == [vouchers["past_validity"].id]
    assert all_listed(client, "&class=small_micro&state=applied&q=企业24") == \
        [vouchers["pending"][24].id]


@pytest.mark.parametrize("path", ["/vouchers/review?class=large", "/vouchers/review?page=0",
                                  "/vouchers/review?q=%00", "/vouchers/all?state=spent",
                                  "/vouchers/all?year=1999", "/vouchers/all?year=soon",
                                  "/vouchers/all?per_page=101"])
def test_bad_input_is_a_400(client, vouchers, path):
    assert client.get(path).status_code == 400


def test_the_list_downloads_as_filtered_with_who_decided(client, make, vouchers):
    """Every row the filters match, not only the page's, with amounts, who decided and why."""
    decider = make.user(role="bureau_staff", name="审批员王")
    issued = vouchers["issued"]
    issued.decided_by_id, issued.decision_reason = decider.id, "按政策核定"
    issued.used_fen = 1_000_000
    db.session.commit()
    page = client.get("/vouchers/all?state=issued").get_data(as_text=True)
    assert "审核人：审批员王" in page

    response = client.get("/vouchers/all.csv?year=2026&per_page=10&page=2")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="vouchers-')
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    header, body = rows[0], rows[1:]
    assert header[:2] == ["编号", "企业"] and "审核人" in header
    # 25 applications, the issued, the past-validity and the rejected one of 2026: all of them
    assert len(body) == 28
    by_number = {r[0]: dict(zip(header, r, strict=True)) for r in body}
    row = by_number[str(issued.id)]
    assert row["企业"] == "有效企业" and row["状态"] == "已发放"
    assert (row["面额（元）"], row["已用（元）"], row["余额（元）"]) == \
        ("30000.00", "10000.00", "20000.00")
    assert (row["审核人"], row["理由"]) == ("审批员王", "按政策核定")
    assert "_" not in row["类别"] and row["类别"]  # the class as the page names it, not its code
    past = by_number[str(vouchers["past_validity"].id)]
    assert past["状态"] == "已过期" and past["余额（元）"] == "0.00"  # nothing left to use

    sheet = load_workbook(io.BytesIO(client.get("/vouchers/all.xlsx?state=rejected").data)).active
    values = list(sheet.values)
    assert len(values) == 2 and values[1][0] == vouchers["rejected"].id
    rate = values[0].index("补贴比例（%）")
    assert isinstance(values[1][rate], int | float)  # a number the sheet can sum, not text


@pytest.mark.parametrize("path", ["/vouchers/all.csv?state=spent", "/vouchers/all.xlsx?year=1999",
                                  "/vouchers/all.pdf"])
def test_bad_download_input_is_refused(client, vouchers, path):
    assert client.get(path).status_code in (400, 404)


@pytest.mark.parametrize("path", ["/vouchers/review?q=x", "/vouchers/all?state=issued",
                                  "/vouchers/all.csv", "/vouchers/all.xlsx?year=2026"])
def test_only_bureau_staff(client, make, login, vouchers, path):
    client.post("/logout")
    assert client.get(path).status_code == 302
    login(make.user(role="lab_manager"))
    assert client.get(path).status_code == 403
    login(make.user(organisation=vouchers["issued"].enterprise))  # the voucher's own enterprise
    assert client.get(path).status_code == 403
