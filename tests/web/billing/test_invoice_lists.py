"""The invoice lists: the finance office's invoices and revenue of its organisation, and a
customer's own invoices. Pages, each filter and their combinations, bad input (a 400), and
nobody else's invoice through any filter."""
import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from booking.billing import reports
from booking.billing.models import Invoice, InvoiceLine
from booking.core.db import utc
from booking.core.money import format_cny
from booking.extensions import db

NOW = utc(2026, 6, 10, 2)  # Wed 10 Jun 2026, 10:00 in Shanghai


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time(NOW) as clock:
        yield clock


@pytest.fixture
def books(make):
    """A provider's invoices: 30 unpaid ones to a university (one issued a day from 1 May,
    each due 30 days later: the first 10 are overdue), 3 paid ones named to an enterprise's
    engineer, a credit note, a void invoice and a draft; and another provider's invoices."""
    provider = make.organisation(name_zh="理工大学分析中心")
    finance = make.user(role="finance", organisation=provider)
    sem = make.instrument(organisation=provider, name_zh="扫描电镜", name_en="")
    xrd = make.instrument(organisation=provider, name_zh="X射线衍射仪", name_en="XRD")
    university = make.organisation(name_zh="海事大学", name_en="Maritime University")
    company = make.organisation(kind="enterprise", name_zh="海创材料")
    engineer = make.user(organisation=company, name="王芳")
    colleague = make.user(organisation=company)

    def issue(instrument, customer, day, **fields):
        issued = utc(2026, 5, 1, 2) + timedelta(days=day)
        return make.issued_invoice(instrument, customer, 10_000 + day, issued,
                                   due_at=issued + timedelta(days=30), **fields)

    unpaid = [issue(xrd if n % 3 == 0 else sem, university, n) for n in range(30)]
    paid = [issue(sem, company, 31 + n, state="paid", customer_user_id=engineer.id)
            for n in range(3)]
    credit = make.issued_invoice(sem, company, 500, utc(2026, 6, 5, 2), kind="credit_note",
                                 state="paid", credits=paid[0], customer_user_id=engineer.id)
    void = issue(sem, company, 35, state="void")
    draft = issue(sem, university, 36, state="draft")
    elsewhere = make.instrument(name_zh="扫描电镜")
    foreign = [make.issued_invoice(elsewhere, company, 999, utc(2026, 5, 20, 2),
                                   due_at=utc(2026, 6, 19, 2)),
               make.issued_invoice(elsewhere, university, 999, utc(2026, 5, 20, 2))]
    return {"provider": provider, "finance": finance, "sem": sem, "xrd": xrd,
            "university": university, "company": company, "engineer": engineer,
            "colleague": colleague, "unpaid": unpaid, "paid": paid, "credit": credit,
            "void": void, "draft": draft, "foreign": foreign}


def listed(client, path: str) -> list[int]:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return [int(i) for i in re.findall(r'id="invoice-(\d+)"', response.get_data(as_text=True))]


def ids(invoices) -> list[int]:
    return [i.id for i in invoices]


def latest_first(invoices) -> list[int]:
    return ids(sorted(invoices, key=lambda i: (i.issued_at, i.id), reverse=True))


# --- the finance office's invoices ----------------------------------------------------------------
@pytest.fixture
def office(client, login, books):
    login(books["finance"])
    return books


def test_unpaid_first_soonest_due_25_a_page(client, office):
    assert listed(client, "/finance") == ids(office["unpaid"][:25])
    assert listed(client, "/finance?page=2") == ids(office["unpaid"][25:])
    assert listed(client, "/finance?page=50") == ids(office["unpaid"][25:])
    assert "共 30 条 · 第 2 / 2 页" in client.get("/finance?page=2").get_data(as_text=True)


def test_each_state(client, office):
    assert listed(client, "/finance?state=overdue") == ids(office["unpaid"][:10])
    assert listed(client, "/finance?state=paid") == latest_first(office["paid"])
    assert listed(client, "/finance?state=credit") == [office["credit"].id]
    assert listed(client, "/finance?state=void") == [office["void"].id]
    every = office["unpaid"] + office["paid"] + [office["credit"], office["void"]]
    assert listed(client, "/finance?state=all&per_page=100") == latest_first(every)


def test_search_by_number_customer_or_named_user(client, office):
    number = office["unpaid"][7].number
    assert listed(client, f"/finance?q={number.lower()}") == [office["unpaid"][7].id]
    assert listed(client, "/finance?state=all&q=maritime&per_page=100") == \
        latest_first(office["unpaid"])
    assert listed(client, "/finance?state=all&q=王芳") == \
        latest_first(office["paid"] + [office["credit"]])
    assert listed(client, "/finance?state=all&q=%25") == []


def test_customer_instrument_and_period(client, office):
    company = office["company"].id
    assert listed(client, f"/finance?state=all&customer={company}") == \
        latest_first(office["paid"] + [office["credit"], office["void"]])
    page = client.get(f"/finance?state=all&customer={company}").get_data(as_text=True)
    assert "海创材料" in page.split('id="customer-chip"')[1].split("</a>")[0]
    assert listed(client, f"/finance?instrument={office['xrd'].id}") == \
        ids(office["unpaid"][0::3])
    # issued 1 May + n days at 10:00 local: 3-4 May are unpaid[2] and unpaid[3]
    assert listed(client, "/finance?from=2026-05-03&to=2026-05-04") == ids(office["unpaid"][2:4])


def test_filters_combine_and_are_kept_when_paging(client, office):
    query = f"/finance?state=overdue&instrument={office['sem'].id}&q=海事&per_page=3"
    overdue_sem = [i for n, i in enumerate(office["unpaid"][:10]) if n % 3]
    assert listed(client, query) == ids(overdue_sem[:3])
    page = client.get(query).get_data(as_text=True)
    following = re.search(r'href="([^"]*)" rel="next"', page).group(1).replace("&amp;", "&")
    assert "state=overdue" in following and "q=" in following
    assert listed(client, following) == ids(overdue_sem[3:6])


@pytest.mark.parametrize("query", ["state=owing", "page=0", "per_page=1000", "customer=0",
                                   "instrument=abc", "from=2026-06-31", "to=1800-01-01",
                                   "q=%00"])
def test_bad_input_is_a_400(client, office, query):
    assert client.get(f"/finance?{query}").status_code == 400


def test_dates_the_wrong_way_round_are_read_the_right_way(client, office):
    """A filter, not an error: "from" after "to" was a 400 that named the parameter."""
    assert listed(client, "/finance?state=all&from=2026-06-30&to=2026-03-01") == listed(
        client, "/finance?state=all&from=2026-03-01&to=2026-06-30")


def test_no_draft_and_no_other_providers_invoice_through_any_filter(client, office):
    hidden = {office["draft"].id, *ids(office["foreign"])}
    for query in ("state=all&per_page=100", f"state=all&q={office['foreign'][0].number}",
                  f"state=all&customer={office['company'].id}", "state=all&q=海事",
                  f"state=all&q={office['draft'].number}", "state=overdue&per_page=100"):
        assert not hidden & set(listed(client, f"/finance?{query}")), query


def test_other_finance_offices_and_customers_are_refused(client, make, login, office):
    login(make.user(role="finance"))  # of another organisation
    assert client.get(f"/finance?org={office['provider'].id}&state=all").status_code == 403
    assert client.get(f"/finance/revenue?org={office['provider'].id}").status_code == 403
    login(office["engineer"])
    assert client.get("/finance?state=all").status_code == 403
    assert client.get("/finance/revenue").status_code == 403
    client.post("/logout")
    assert client.get("/finance/revenue").status_code == 302


# --- the finance office's revenue -----------------------------------------------------------------
def charge(instrument, customer, customer_class, service_at, amount_fen, minutes=60,
           state="issued"):
    """An invoice of one line of a session at `service_at`."""
    invoice = Invoice(provider_id=instrument.organisation_id, customer_org_id=customer.id,
                      number=f"REV-{service_at:%m%d%H%M}-{amount_fen}", state=state,
                      issued_at=service_at, customer_class=customer_class,
                      subtotal_fen=amount_fen, amount_due_fen=amount_fen)
    invoice.lines.append(InvoiceLine(kind="usage", description="use", minutes=minutes,
                                     amount_fen=amount_fen, instrument_id=instrument.id,
                                     service_at=service_at))
    db.session.add(invoice)
    db.session.commit()
    return invoice


@pytest.fixture
def revenue(office):
    sem, xrd, university = office["sem"], office["xrd"], office["university"]
    charge(sem, university, "academic", utc(2026, 3, 31, 15, 30), 1_000)  # 23:30 on 31 Mar
    charge(sem, university, "academic", utc(2026, 3, 31, 16, 30), 2_000)  # 00:30 on 1 Apr
    charge(sem, university, "academic", utc(2026, 4, 2, 2), 3_000, state="paid")
    charge(xrd, office["company"], "enterprise", utc(2026, 4, 3, 2), 4_000)
    charge(xrd, university, "academic", utc(2025, 12, 31, 17), 5_000)  # 1 Jan 2026, local
    charge(xrd, university, "academic", utc(2026, 4, 4, 2), 6_000, state="void")
    return office


def rows(client, query=""):
    page = client.get(f"/finance/revenue?year=2026{query}")
    assert page.status_code == 200
    body = page.get_data(as_text=True).split('id="revenue"')[1].split("</tbody>")[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)][1:]  # after the header


def test_revenue_by_local_month_summed_by_the_database(client, revenue):
    assert reports.revenue(revenue["provider"].id, 2026) == [
        {"month": "2026-01", "instrument_id": revenue["xrd"].id, "instrument": "X射线衍射仪",
         "customer_class": "academic", "lines": 1, "minutes": 60, "amount_fen": 5_000},
        {"month": "2026-03", "instrument_id": revenue["sem"].id, "instrument": "扫描电镜",
         "customer_class": "academic", "lines": 1, "minutes": 60, "amount_fen": 1_000},
        {"month": "2026-04", "instrument_id": revenue["xrd"].id, "instrument": "X射线衍射仪",
         "customer_class": "enterprise", "lines": 1, "minutes": 60, "amount_fen": 4_000},
        {"month": "2026-04", "instrument_id": revenue["sem"].id, "instrument": "扫描电镜",
         "customer_class": "academic", "lines": 2, "minutes": 120, "amount_fen": 5_000}]


def test_revenue_page_filters_pages_and_total(client, revenue):
    assert len(rows(client)) == 4
    assert rows(client, "&month=4&class=academic") == [
        "2026-04 扫描电镜 SU8010 · 分析测试中心 · 化工楼 101 高校院所 2 120 ¥50.00"]
    assert rows(client, f"&instrument={revenue['xrd'].id}&per_page=1&page=2") == [
        "2026-04 X射线衍射仪 SU8010 · 分析测试中心 · 化工楼 101 企业 1 60 ¥40.00"]
    page = client.get("/finance/revenue?year=2026&per_page=1").get_data(as_text=True)
    assert re.search(r'id="revenue-total">\s*¥150.00', page)  # all pages, not the one shown
    assert "共 4 条 · 第 1 / 4 页" in page
    assert rows(client, "&month=2") == []
    assert 'class="list-empty"' in client.get("/finance/revenue?month=2").get_data(as_text=True)


def month_rows(client, query=""):
    body = client.get(f"/finance/revenue?year=2026{query}").get_data(as_text=True)
    body = body.split('id="revenue-months"')[1].split("</table>")[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)][1:]


def test_revenue_month_totals_every_month_of_the_year(client, revenue):
    months = month_rows(client)
    assert len(months) == 15  # twelve months, the year, its credit notes and the net
    assert months[13].startswith("2026 年开具的红字冲销单（含退回创新券的部分） −¥")
    assert months[0] == "2026-01 1 60 ¥50.00"
    assert months[1] == "2026-02 —"
    assert months[2] == "2026-03 1 60 ¥10.00"
    assert months[3] == "2026-04 3 180 ¥90.00"  # issued and paid, not void
    assert months[12] == "2026 5 300 ¥150.00"
    # narrowed to a class, the months follow; a month chosen is marked, its total the page's
    assert month_rows(client, "&class=enterprise")[3] == "2026-04 1 60 ¥40.00"
    page = client.get("/finance/revenue?year=2026&month=4&class=academic&per_page=10"
                      ).get_data(as_text=True)
    chosen = re.search(r'<tr class="table-active">\s*<td[^>]*><a href="([^"]*)"', page)[1]
    assert parse_qs(urlsplit(unescape(chosen)).query) == {
        "year": ["2026"], "month": ["4"], "class": ["academic"], "per_page": ["10"]}
    assert re.search(r'id="revenue-total">\s*¥50.00', page)
    assert "2026-03 1 60 ¥10.00" in month_rows(client, "&month=4&class=academic")
    every = re.search(r'<a href="([^"]*)" id="all-months">', page)[1]  # back to the year
    assert parse_qs(urlsplit(unescape(every)).query) == {
        "year": ["2026"], "class": ["academic"], "per_page": ["10"]}


def test_revenue_says_what_credit_notes_gave_back_and_the_net(client, revenue):
    """Reported: credited amounts stayed in the revenue with nothing saying the figures were
    before credit notes."""
    from booking.billing import invoicing

    provider = revenue["provider"].id
    before = reports.credited_in(provider, 2026)  # the office's own credit note
    paid = db.session.scalar(select(Invoice).where(Invoice.number == "REV-04020200-3000"))
    with freeze_time("2026-04-10 02:00:00"):
        invoicing.credit_note(paid, 1_200, "calibration", None)
    db.session.commit()
    assert reports.credited_in(provider, 2026) == before + 1_200
    page = client.get("/finance/revenue?year=2026").get_data(as_text=True)
    assert "未扣除创新券抵扣和红字冲销" in page
    credited = format_cny(before + 1_200)
    assert re.search(rf'id="revenue-credited">\s*−{re.escape(credited)}', page)
    net = format_cny(15_000 - before - 1_200)  # ¥150 invoiced in the year
    assert re.search(rf'id="revenue-net">\s*{re.escape(net)}', page)
    assert 'id="revenue-net"' not in client.get(
        "/finance/revenue?year=2026&class=academic").get_data(as_text=True)  # not per class
    assert 'id="revenue-net"' not in client.get(
        "/finance/revenue?year=2025").get_data(as_text=True)


def test_revenue_tells_same_named_instruments_apart(client, make, revenue):
    twin = make.instrument(organisation=revenue["provider"], name_zh="扫描电镜", model="SU5000",
                           lab="材料学院", location="")
    charge(twin, revenue["university"], "academic", utc(2026, 4, 2, 3), 700)
    assert rows(client, "&month=4&class=academic") == [
        "2026-04 扫描电镜 SU8010 · 分析测试中心 · 化工楼 101 高校院所 2 120 ¥50.00",
        "2026-04 扫描电镜 SU5000 · 材料学院 高校院所 1 60 ¥7.00"]
    page = client.get("/finance/revenue").get_data(as_text=True)
    assert f'<option value="{twin.id}">扫描电镜 · SU5000 · 材料学院</option>' in page


def test_revenue_of_another_providers_instrument_is_a_404(client, make, revenue):
    assert client.get(f"/finance/revenue?instrument={make.instrument().id}").status_code == 404
    assert client.get("/finance/revenue?instrument=999999").status_code == 404


def test_revenue_names_and_orders_instruments_in_the_readers_language(client, make, revenue):
    for hour, name_zh, name_en in ((2, "甲仪器", "Alpha"), (3, "乙仪器", "Zeta")):
        instrument = make.instrument(organisation=revenue["provider"], name_zh=name_zh,
                                     name_en=name_en)
        charge(instrument, revenue["university"], "academic", utc(2026, 5, 6, hour), 100)
    assert [r.split(" ")[1] for r in rows(client, "&month=5")] == ["乙仪器", "甲仪器"]
    client.post("/language", data={"locale": "en"})
    assert [r.split(" ")[1] for r in rows(client, "&month=5")] == ["Alpha", "Zeta"]
    assert [r.split(" ")[1] for r in rows(client, "&class=enterprise")] == ["XRD"]
    assert [r.split(" ")[1] for r in rows(client, "&class=academic&month=3")] == ["扫描电镜"]


@pytest.mark.parametrize("query", ["month=13", "month=0", "class=vip", "instrument=x",
                                   "page=-1"])
def test_revenue_bad_input_is_a_400(client, revenue, query):
    assert client.get(f"/finance/revenue?{query}").status_code == 400


# --- a customer's own -------------------------------------------------------------------------------
def test_my_invoices_are_mine_and_my_organisations(client, login, books):
    login(books["engineer"])
    mine = books["paid"] + [books["credit"], books["void"], books["foreign"][0]]
    assert listed(client, "/invoices") == latest_first(mine)
    login(books["colleague"])  # not the named user: the organisation's unnamed ones only
    assert listed(client, "/invoices") == latest_first([books["void"], books["foreign"][0]])


def test_my_invoices_filters(client, login, books):
    login(books["engineer"])
    assert listed(client, "/invoices?state=unpaid") == [books["foreign"][0].id]
    assert listed(client, "/invoices?state=paid") == latest_first(books["paid"])
    assert listed(client, "/invoices?state=credit") == [books["credit"].id]
    assert listed(client, f"/invoices?provider={books['provider'].id}&state=paid&per_page=2") \
        == latest_first(books["paid"])[:2]
    assert listed(client, "/invoices?q=分析中心&from=2026-06-03") == \
        latest_first([books["paid"][2], books["credit"], books["void"]])
    assert listed(client, f"/invoices?q={books['paid'][1].number}") == [books["paid"][1].id]


def test_my_invoices_never_someone_elses(client, login, books):
    login(books["engineer"])
    hidden = {*ids(books["unpaid"]), books["draft"].id, books["foreign"][1].id}
    for query in ("state=all&per_page=100", f"q={books['unpaid'][0].number}",
                  f"provider={books['provider'].id}", "q=海事", f"q={books['draft'].number}"):
        assert not hidden & set(listed(client, f"/invoices?{query}")), query


@pytest.mark.parametrize("query", ["state=mine", "provider=-3", "page=99999", "to=tomorrow"])
def test_my_invoices_bad_input_is_a_400(client, login, books, query):
    login(books["engineer"])
    assert client.get(f"/invoices?{query}").status_code == 400
