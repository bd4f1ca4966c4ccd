"""Quarterly statements per provider, provider reward, sampling, clawback and the CLI."""
import copy
import re
from datetime import timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from openpyxl import load_workbook
from sqlalchemy import select

from booking.billing.invoicing import credit_note
from booking.billing.models import Invoice, InvoiceLine
from booking.billing.payments import record_bank_transfer
from booking.core.notifications import OutboxMessage
from booking.extensions import db
from booking.inbox.models import InboxNotice
from booking.metering import services as metering
from booking.subsidies import oversight, reimbursements, services
from booking.subsidies.models import Redemption, Reimbursement
from tests.moments import MONDAY_11_MAY_9AM, SUNDAY_10_MAY_10AM


@pytest.fixture(autouse=True)
def may_2026():
    with freeze_time(SUNDAY_10_MAY_10AM):
        yield


@pytest.fixture
def lab(make):
    owner = make.organisation(short_code="DLUTR", name_zh="测试大学R")
    sme = make.user(organisation=make.enterprise())
    return {"voucher": make.voucher(user=sme, amount_fen=5_000_000), "owner": owner,
            "instrument": make.instrument(organisation=owner), "sme": sme,
            "finance": make.user(role="finance", organisation=owner),
            "bureau": make.user(role="bureau_staff")}


def _reimburse(quarter: str):
    """Statements are built once their quarter is over: an hour after its end (unless the
    clock is later already)."""
    from booking.core.clock import now_utc, parse_period

    end = parse_period(quarter.upper(), "quarter").end if quarter[:4].isdigit() and \
        "Q" in quarter.upper() and quarter[-1] in "1234" else None
    if end is None or now_utc() > end:
        return reimbursements.reimburse(quarter)
    with freeze_time(end + timedelta(hours=1)):
        return reimbursements.reimburse(quarter)


def _paid_use(make, lab, day=0, pay=True):
    """1 h at 400 元 with the voucher paying 160 元; the customer pays the rest."""
    start = MONDAY_11_MAY_9AM + timedelta(days=day)
    booking = make.placed_booking(lab["instrument"], lab["sme"], start)
    with freeze_time(start):
        session = metering.check_in(booking, actor=lab["sme"], source="kiosk")
    with freeze_time(start + timedelta(hours=1)):
        metering.check_out(session, actor=lab["sme"])
        invoice = db.session.scalar(select(Invoice).join(InvoiceLine).where(
            InvoiceLine.booking_id == booking.id))
        if pay:
            record_bank_transfer(invoice, lab["finance"], f"BANK-{booking.id}")
        db.session.flush()
    return invoice


def test_quarter_statement_is_built_once_with_the_reward(make, lab):
    _paid_use(make, lab, 0)
    _paid_use(make, lab, 1)
    _paid_use(make, lab, 2, pay=False)  # reserved only: not owed yet
    statements = _reimburse("2026Q2")
    assert [(s.redemption_count, s.amount_fen, s.reward_fen) for s in statements] == [
        (2, 32_000, 1_600)]  # 5% of 320 元
    assert _reimburse("2026Q2") == []  # idempotent
    assert _reimburse("2026q1") == []  # nothing redeemed before April
    for quarter in ("2026Q3", "2099Q4"):  # not over: it would settle part of a quarter
        with pytest.raises(reimbursements.ReimbursementError) as open_:
            reimbursements.reimburse(quarter)
        assert open_.value.problems[0].code == "quarter_open"
    statement = statements[0]
    reimbursements.mark_paid(statement, lab["bureau"], "GK2026-0701")
    assert statement.state == "paid" and statement.total_fen == 33_600
    with pytest.raises(reimbursements.ReimbursementError):
        reimbursements.mark_paid(statement, lab["bureau"], "GK2026-0701")


def test_the_providers_finance_office_is_told_of_its_statement_built_and_paid(make, lab):
    """Reported: the provider's finance office heard nothing when the bureau built its
    statement or paid it; it had to look at its statements page to learn of either."""
    _paid_use(make, lab, 0)
    _paid_use(make, lab, 1)
    make.user(role="finance", organisation=make.organisation())  # another provider's office
    [statement] = _reimburse("2026Q2")

    def told(kind):
        return db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)).all()

    [built] = told("reimbursement.built")
    assert built.recipient == lab["finance"].email
    assert built.subject == "创新券兑付单 2026Q2：¥336.00"
    assert "2 笔创新券份额，¥320.00；服务机构奖励 ¥16.00" in built.body
    notice = db.session.scalar(select(InboxNotice).where(
        InboxNotice.kind == "reimbursement.built"))  # the inbox links to its statements page
    assert notice.link == f"/vouchers/statements?org={lab['owner'].id}&year=2026"
    assert told("reimbursement.paid") == []
    reimbursements.mark_paid(statement, lab["bureau"], "GK2026-0701")
    [paid] = told("reimbursement.paid")
    assert paid.recipient == lab["finance"].email and "¥336.00" in paid.subject
    assert "GK2026-0701" in paid.body
    assert _reimburse("2026Q2") == [] and len(told("reimbursement.built")) == 1  # nothing new


def test_redemptions_on_no_statement_are_listed_for_the_bureau(client, login, make, lab):
    """Reported: after the quarter's statement was paid, new redemptions went nowhere the
    bureau could see until the next quarter (building again said "0 statements")."""
    _paid_use(make, lab, 0)
    assert reimbursements.waiting("2026Q2") == [(lab["owner"].id, 1, 16_000, 0)]
    [statement] = _reimburse("2026Q2")
    reimbursements.mark_paid(statement, lab["bureau"], "GK2026-0701")
    _paid_use(make, lab, 1)  # redeemed after the statement was paid
    assert _reimburse("2026Q2") == []
    assert reimbursements.waiting("2026Q2") == [(lab["owner"].id, 1, 16_000, 0)]
    db.session.commit()
    login(lab["bureau"])
    page = client.get("/vouchers/reimbursements?quarter=2026Q2").get_data(as_text=True)
    waiting = page.split('id="waiting"')[1].split("</table>")[0]
    assert "测试大学R" in waiting and "¥160.00" in waiting and "下一季度" in waiting
    # the bureau reads the statement's lines on the page (only the XLSX had them)
    lines = page.split(f'id="lines-{statement.id}"')[1].split("</details>")[0]
    assert "兑付明细" in lines and "创新券抵扣" in lines and "¥160.00" in lines


def test_bad_quarter_is_refused():
    with pytest.raises(reimbursements.ReimbursementError):
        _reimburse("2026Q5")


def test_xlsx_export_lists_statements_and_entries(make, lab):
    invoice = _paid_use(make, lab)
    _reimburse("2026Q2")
    book = load_workbook(BytesIO(reimbursements.export_xlsx("2026Q2")))
    assert book.sheetnames == ["兑付单", "兑付明细"]  # not "statements" and "entries"
    summary = list(book["兑付单"].iter_rows(values_only=True))
    assert summary[0][:2] == ("服务方", "信用代码")  # headers as the bureau reads them
    # money in yuan as numbers (160.00 + 8.00 reward), times on the local wall clock
    assert summary[1][:8] == ("测试大学R", lab["owner"].credit_code, "2026Q2", 1, 160, 8, 0, 168)
    assert summary[1][8] == "待支付"  # the state in words
    entries = list(book["兑付明细"].iter_rows(values_only=True))
    # the voucher as its pages name it, beside its holder (an id alone said nothing)
    assert entries[1][1:6] == (invoice.number, f"#{lab['voucher'].id}",
                               lab["voucher"].enterprise.name_zh, "创新券抵扣", 160)
    redeemed = db.session.scalar(select(Redemption)).redeemed_at
    assert entries[1][6] == redeemed.astimezone(ZoneInfo("Asia/Shanghai")).replace(
        tzinfo=None, microsecond=0)


def test_sample_is_reproducible_and_clawback_reverses(make, lab):
    for day in range(4):
        _paid_use(make, lab, day)
    _reimburse("2026Q2")  # the claims are paid to the provider before the draw
    with freeze_time("2026-07-01 02:00:00"):
        first = oversight.draw_sample(2026, 1, lab["bureau"])
        again = oversight.draw_sample(2026, 1, lab["bureau"])
    assert len(first) == 1 and [r.id for r in again] == [r.id for r in first]
    assert oversight.flagged(2026) == first
    claim = first[0]
    with freeze_time("2026-07-02 02:00:00"):
        reversal = oversight.claw_back(claim, lab["bureau"], "检测报告与发票不符")
        with pytest.raises(oversight.OversightError):
            oversight.claw_back(claim, lab["bureau"], "again")
        statements = _reimburse("2026Q3")
    assert (reversal.entry, reversal.amount_fen, reversal.reverses_id) == (
        "reversal", -16_000, claim.id)
    assert claim.state == "redeemed" and db.session.get(Redemption, claim.id) is not None
    # the provider's finance office hears of it, and why (it heard nothing before)
    told = db.session.scalar(select(OutboxMessage).where(
        OutboxMessage.recipient == lab["finance"].email,
        OutboxMessage.kind == "voucher.clawed_back"))
    assert "¥160.00" in told.subject and "检测报告与发票不符" in told.body
    # Q2: 4 claims of 160 CNY = 640 CNY net, reward 5% = 32 CNY. Q3 nets out one claim: the
    # year's net is 480 CNY, whose reward is 24 CNY, so Q3 claws back 8 CNY of the 32 paid.
    assert [(s.amount_fen, s.reward_fen, s.clawback_fen, s.total_fen) for s in statements] == [
        (-16_000, 0, 800, -16_800)]
    assert sum(s.net_reward_fen for s in db.session.scalars(select(Reimbursement))) == 2_400


def test_the_provider_reads_a_clawback_before_its_statement_takes_it(client, login, make, lab):
    """Reported: after a clawback the provider's page said '2 voucher shares, ¥0.00' waiting
    (a share less the clawback, netted and unnamed), and its paid statement showed the claim
    with no mark."""
    _paid_use(make, lab, 0)
    _reimburse("2026Q2")
    claim = db.session.scalar(select(Redemption))
    with freeze_time("2026-07-20 02:00:00"):
        oversight.claw_back(claim, lab["bureau"], "检测报告与发票不符")
        _paid_use(make, lab, 60)  # 10 July: a third-quarter share
        db.session.commit()
        login(lab["finance"])
        page = client.get("/vouchers/statements?year=2026").get_data(as_text=True)
    pending = page[page.index('id="pending-clawbacks"'):].split("</div>", 2)[1]
    invoice_number = db.session.get(Invoice, claim.invoice_id).number
    assert invoice_number in pending and "−¥160.00" in pending and "检测报告与发票不符" in pending
    unclaimed = page[page.index('id="unclaimed"'):].split("</div>")[0]
    assert "¥160.00" in unclaimed and "2 笔" not in unclaimed  # the share alone, not netted
    marked = page[page.index('class="small text-danger clawed-back"'):].split("</div>")[0]
    assert "2026-07-20" in marked and "¥160.00" in marked


def test_a_claim_under_re_check_waits_off_the_statement_until_checked(client, login, make, lab):
    """Reported: a claim drawn for re-check went on the provider's statement and was paid
    with no word; the bureau expected it held until checked."""
    for day in range(4):
        _paid_use(make, lab, day)
    with freeze_time("2026-06-01 02:00:00"):
        [claim] = oversight.draw_sample(2026, 1, lab["bureau"])
    assert reimbursements.waiting("2026Q2") == [(lab["owner"].id, 4, 64_000, 1)]
    [statement] = _reimburse("2026Q2")
    assert (statement.redemption_count, statement.amount_fen) == (3, 48_000)
    assert claim.reimbursement_id is None
    db.session.commit()
    login(lab["bureau"])
    page = client.get("/vouchers/reimbursements?quarter=2026Q2").get_data(as_text=True)
    waiting = page.split('id="waiting"')[1].split("</table>")[0]
    assert "其中 1 笔正在抽查复核：复核后再兑付。" in waiting
    assert "生成兑付单即可将其列入" not in waiting  # all it holds waits for the re-check
    login(lab["finance"])  # the provider reads why it waits
    statements = client.get("/vouchers/statements?year=2026").get_data(as_text=True)
    assert "其中 1 笔正在接受科技局随机抽查复核：复核后列入兑付单。" in statements
    oversight.confirm_checked(claim, lab["bureau"])
    [completed] = _reimburse("2026Q2")  # checked: on the statement, which was not paid yet
    assert (completed.id, completed.redemption_count, completed.amount_fen) == (
        statement.id, 4, 64_000)
    assert claim.reimbursement_id == statement.id


def test_last_years_re_checks_are_drawn_and_done_in_january(client, login, make, lab):
    """Reported: in January the sample of July to December of the year just ended could not be
    drawn (the form drew this year's), and its open re-checks were out of sight."""
    for day in range(4):
        _paid_use(make, lab, day)
    db.session.commit()
    with freeze_time("2027-01-05 02:00:00"):
        login(lab["bureau"])
        page = client.get("/vouchers/dashboard").get_data(as_text=True)
        assert 'href="/vouchers/dashboard?year=2026"' in page and 'id="open-last-year"' not in page
        page = client.get("/vouchers/dashboard?year=2026").get_data(as_text=True)
        assert 'action="/vouchers/sample?year=2026"' in page
        drawn = client.post("/vouchers/sample?year=2026", data={"window": "1"})
        assert drawn.location.endswith("/vouchers/dashboard?year=2026")
        for year in (2001, 2025, 2031):  # only last year and this year are drawn
            assert client.post(f"/vouchers/sample?year={year}",
                               data={"window": "1"}).status_code == 404
        [claim] = oversight.flagged(2026)
        page = client.get("/vouchers/dashboard").get_data(as_text=True)
        assert "2026 年仍有 1 笔抽查复核未完成。" in page
        long = client.post(f"/vouchers/redemptions/{claim.id}/clawback",
                           data={"reason": "x" * 401})
        assert long.location.endswith("/vouchers/dashboard?year=2026")
        flashed = client.get(long.location).get_data(as_text=True)
        assert "不能超过 400 个字符" in flashed and "请填写追回理由" not in flashed
        assert client.post(f"/vouchers/redemptions/{claim.id}/confirm").location.endswith(
            "/vouchers/dashboard?year=2026")
        assert 'id="open-last-year"' not in client.get("/vouchers/dashboard").get_data(
            as_text=True)
    assert claim.check_outcome == "confirmed"


def test_in_january_the_quarter_just_over_is_pointed_to(client, login, make, lab):
    """Reported: on 5 January the bureau's page opened on the new quarter, where last
    quarter's redemptions said "they go on the statements once the quarter is over", and the
    provider's page opened on the new year, with no statement."""
    _paid_use(make, lab, 0)
    _reimburse("2026Q2")
    with freeze_time("2026-10-05 02:00:00"):
        _paid_use(make, lab, 150)  # 8 October: the fourth quarter's
        db.session.commit()
    with freeze_time("2027-01-05 02:00:00"):
        login(lab["bureau"])
        # the page opens on the quarter just over, whose statements are to build now
        page = client.get("/vouchers/reimbursements").get_data(as_text=True)
        assert "2026Q4 兑付" in page and 'id="waiting"' in page
        assert re.search(r'<input[^>]*name="quarter"[^>]*value="2026Q4"', page)
        # the quarter under way, opened, points back to it
        page = client.get("/vouchers/reimbursements?quarter=2027Q1").get_data(as_text=True)
        assert "2026Q4 已结束：1 笔已兑现的创新券份额等待生成兑付单。" in page
        assert 'href="/vouchers/reimbursements?quarter=2026Q4"' in page
        login(lab["finance"])
        page = client.get("/vouchers/statements").get_data(as_text=True)
        assert 'id="statement-2026Q2"' in page  # the year of the quarter just over


def test_the_quarter_to_build_is_the_one_over_and_the_page_totals_it(client, login, make, lab):
    """Reported: the quarter box proposed the quarter under way, which the button then
    refused; and nothing added up the quarter's statements (the bureau's one transfer)."""
    other = make.organisation(short_code="DICPT", name_zh="测试研究所T")
    _paid_use(make, lab, 0)
    _paid_use(make, {**lab, "owner": other, "instrument": make.instrument(organisation=other),
                     "finance": make.user(role="finance", organisation=other)}, 1)
    with freeze_time("2026-07-20 02:00:00"):
        login(lab["bureau"])
        page = client.get("/vouchers/reimbursements").get_data(as_text=True)
        assert re.search(r'<input[^>]*name="quarter"[^>]*value="2026Q2"', page)  # not Q3
        assert "2026Q2 兑付" in page  # the page is of the quarter the form builds
        built = client.post("/vouchers/reimbursements", data={"quarter": "2026Q2"},
                            follow_redirects=True).get_data(as_text=True)
        total = built[built.index('id="statements-total"'):].split("</tr>")[0]
        assert "2026Q2 合计" in total and "¥320.00" in total and "¥336.00" in total
        assert "已付 ¥0.00，待付 ¥336.00" in total
        sheet = load_workbook(BytesIO(reimbursements.export_xlsx("2026Q2")))["兑付单"]
        assert list(sheet.iter_rows(values_only=True))[-1][:8] == (
            "合计", "", "2026Q2", 2, 320, 16, 0, 336)


def test_dashboard_figures(make, lab):
    _paid_use(make, lab)
    rows = oversight.burn_down(2026)
    assert rows[1] == {"quarter": "Q2", "released_fen": 500_000_000, "committed_fen": 5_000_000,
                       "redeemed_fen": 16_000, "redeemed_in_quarter_fen": 16_000,
                       "open_fen": 500_000_000 - 5_000_000,
                       "remaining_fen": 1_000_000_000 - 5_000_000}
    # the year to date carries Q2's into Q3; the quarter alone has none (was not said)
    assert (rows[2]["redeemed_fen"], rows[2]["redeemed_in_quarter_fen"]) == (16_000, 0)
    assert oversight.vouchers_by_class(2026) == [
        {"enterprise_class": "sme_science_based", "count": 1, "face_value_fen": 5_000_000}]
    assert [(r["provider"].id, r["redeemed_fen"]) for r in oversight.top_providers(2026)] == [
        (lab["owner"].id, 16_000)]


def test_cli_reimburse_and_expire(app, make, lab):
    _paid_use(make, lab)
    runner = app.test_cli_runner()
    assert "2026Q2 is not over" in runner.invoke(args=[
        "subsidies", "reimburse", "--quarter", "2026Q2"]).output
    with freeze_time("2026-07-01 02:00:00"):
        result = runner.invoke(args=["subsidies", "reimburse", "--quarter", "2026Q2"])
    assert result.exit_code == 0, result.output
    assert "1 statement(s)" in result.output
    assert db.session.scalar(select(Reimbursement)).amount_fen == 16_000
    assert runner.invoke(args=["subsidies", "reimburse", "--quarter", "spring"]).exit_code != 0
    with freeze_time("2027-01-02 00:00:00"):
        result = runner.invoke(args=["vouchers", "expire"])
    assert "1 voucher(s) expired" in result.output


def test_claims_of_invoices_credited_out_of_sight_are_released_before_statements(make, lab):
    invoice = _paid_use(make, lab, pay=False)
    credit_note(invoice, invoice.amount_due_fen, "wrong customer", lab["finance"])
    _paid_use(make, lab, 1)
    statements = _reimburse("2026Q2")
    claim = db.session.scalar(select(Redemption).where(Redemption.invoice_id == invoice.id))
    assert claim.state == "released" and lab["voucher"].remaining_fen == 5_000_000 - 16_000
    assert [(s.redemption_count, s.amount_fen) for s in statements] == [(1, 16_000)]


def test_a_partial_refund_after_the_statement_reduces_the_next_one(make, lab):
    """Q2: one claim of 160 CNY on the statement (reward 8). Q3: a quarter of the 240 CNY paid
    is credited, so the share is 120: the Q3 statement nets out 40 CNY and, the year's net
    being 120 CNY, its reward 6, claws back 2 of the 8 paid."""
    invoice = _paid_use(make, lab)
    [q2] = _reimburse("2026Q2")
    with freeze_time("2026-07-02 02:00:00"):
        credit_note(invoice, 6_000, "one sample failed", lab["finance"], settled=True)
        [q3] = _reimburse("2026Q3")
    assert (q2.amount_fen, q2.reward_fen) == (16_000, 800)
    assert (q3.amount_fen, q3.reward_fen, q3.clawback_fen, q3.redemption_count) == (
        -4_000, 0, 200, 1)
    assert lab["voucher"].remaining_fen == 5_000_000 - 12_000


def test_sampling_follows_the_policy_period_and_records_the_outcome(make, lab):
    """sample_every_months = 3: four periods a year; the May claims are in the second. One
    of four claims is drawn (5 %, rounded up); the bureau confirms it, and the outcome stays."""
    draft = services.draft_policy(2026, lab["bureau"])
    rules = copy.deepcopy(draft.rules)
    rules["oversight"]["sample_every_months"] = 3
    services.save_draft(draft, rules, lab["bureau"])
    services.publish_policy(draft, lab["bureau"])
    for day in range(4):
        _paid_use(make, lab, day)
    assert [w[1:] for w in oversight.sample_windows(2026)] == [(1, 3), (4, 6), (7, 9), (10, 12)]
    assert oversight.draw_sample(2026, 1, lab["bureau"]) == []  # nothing redeemed in Q1
    [claim] = oversight.draw_sample(2026, 2, lab["bureau"])
    with pytest.raises(oversight.OversightError):
        oversight.draw_sample(2026, 5, lab["bureau"])
    oversight.confirm_checked(claim, lab["bureau"])
    assert (claim.check_outcome, claim.checked_at is not None) == ("confirmed", True)
    with pytest.raises(oversight.OversightError):
        oversight.confirm_checked(claim, lab["bureau"])  # checked once


def test_the_providers_finance_office_reads_its_statements(client, login, make, lab):
    """The bureau's statements were visible to the bureau only: the provider could not see
    what it was owed, paid or had clawed back; nor, before a statement, what was redeemed."""
    invoice = _paid_use(make, lab)
    db.session.commit()
    login(lab["finance"])
    before = client.get("/vouchers/statements?year=2026").get_data(as_text=True)
    assert "已兑现、尚未列入兑付单：1 笔创新券份额，共 ¥160.00" in before
    _reimburse("2026Q2")
    db.session.commit()
    login(lab["finance"])
    page = client.get("/vouchers/statements?year=2026").get_data(as_text=True)
    assert 'id="unclaimed"' not in page  # on its statement now
    section = page.split('id="statement-2026Q2"')[1].split("</section>")[0]
    assert invoice.number in section and "¥160.00" in section and "待支付" in section
    assert 'href="/vouchers/statements?org=' in page  # a tab of the finance pages
    other = make.user(role="finance", organisation=make.organisation())
    login(other)
    assert client.get(f"/vouchers/statements?org={lab['owner'].id}").status_code == 403
    assert 'id="no-statements"' in client.get("/vouchers/statements").get_data(as_text=True)
    login(lab["sme"])
    assert client.get("/vouchers/statements").status_code == 403


def test_the_bulletin_counts_voucher_money_as_the_dashboard_and_statements_do(make, lab):
    """Reported: the bulletin summed the deductions of invoices issued in the period (unpaid
    ones too), ignoring what credit notes and clawbacks took back; the voucher dashboard and
    the statements net them out."""
    from booking.core.clock import parse_period
    from booking.reports import bulletin

    first = _paid_use(make, lab, 0)
    _paid_use(make, lab, 1)
    _paid_use(make, lab, 2, pay=False)  # reserved, not redeemed
    with freeze_time(MONDAY_11_MAY_9AM + timedelta(days=3)):
        credit_note(first, first.amount_due_fen // 4, "一个样品失败", lab["finance"], settled=True)
        claim = db.session.scalar(select(Redemption).where(
            Redemption.invoice_id != first.id, Redemption.entry == "claim",
            Redemption.state == "redeemed"))
        oversight.claw_back(claim, lab["bureau"], "无实验记录")
        db.session.flush()
    figures = bulletin.figures(parse_period("2026Q2"))[lab["owner"].id]
    top = oversight.top_providers(2026)
    # two shares of 160 元 paid, a quarter of one credited, the other clawed back
    assert figures.voucher_fen == 2 * 16_000 - 4_000 - 16_000 == top[0]["redeemed_fen"]


def test_a_bulletin_under_way_counts_no_booking_still_to_come(make, lab):
    from booking.core.clock import parse_period
    from booking.reports import bulletin

    for day, state in ((0, "completed"), (20, "approved"), (21, "pending")):
        make.placed_booking(lab["instrument"], lab["sme"], MONDAY_11_MAY_9AM - timedelta(
            days=10) + timedelta(days=day), state=state)
    with freeze_time(MONDAY_11_MAY_9AM):
        figures = bulletin.figures(parse_period("2026-05"))[lab["owner"].id]
    assert figures.bookings == 1


def test_the_sample_names_each_claims_invoice_and_enterprise_and_a_redraw_says_so(
        client, login, make, lab):
    """Reported: a flagged row read "1 大连理工大学 ¥384.00", nothing to look up; drawing the
    period again said "1 flagged" although nothing new was."""
    invoice = _paid_use(make, lab, 0)
    with freeze_time("2026-07-01 02:00:00"):
        login(lab["bureau"])
        first = client.post("/vouchers/sample", data={"window": "1"}, follow_redirects=True)
        again = client.post("/vouchers/sample", data={"window": "1"}, follow_redirects=True)
        page = client.get("/vouchers/dashboard?year=2026").get_data(as_text=True)
    assert "已标记 1 笔兑现记录待复核" in first.get_data(as_text=True)
    assert "该期间已抽查过" in again.get_data(as_text=True)
    with freeze_time("2026-07-01 02:00:00"):  # July to December: nothing redeemed yet
        empty = client.post("/vouchers/sample", data={"window": "2"}, follow_redirects=True)
        nothing = client.post("/vouchers/reimbursements?quarter=2026Q1",
                              data={"quarter": "2026Q1"}, follow_redirects=True)
    assert "这几个月没有兑现记录：无需抽查复核。" in empty.get_data(as_text=True)
    assert "无需生成：2026Q1 没有等待列入兑付单的兑现记录。" in nothing.get_data(as_text=True)
    row = page.split('id="flagged"')[1].split("</table>")[0]
    assert invoice.number in row and lab["sme"].organisation.name_zh in row
    assert '<option selected value="2">7–12 月</option>' in page  # July: this half-year first


def test_a_clawback_after_a_credit_note_takes_and_tells_what_was_left(make, lab):
    """Reported: a share cut by a credit note (¥384 → ¥288) was clawed back as ¥288, but the
    finance office was told ¥384."""
    invoice = _paid_use(make, lab, 0)
    with freeze_time(MONDAY_11_MAY_9AM + timedelta(days=3)):
        credit_note(invoice, invoice.amount_due_fen // 4, "一个样品失败", lab["finance"],
                    settled=True)
        claim = db.session.scalar(select(Redemption).where(
            Redemption.invoice_id == invoice.id, Redemption.entry == "claim"))
        reversal = oversight.claw_back(claim, lab["bureau"], "无实验记录")
    assert reversal.amount_fen == -12_000  # 160 less the quarter the credit note gave back
    told = db.session.scalar(select(OutboxMessage).where(
        OutboxMessage.recipient == lab["finance"].email,
        OutboxMessage.kind == "voucher.clawed_back"))
    assert "¥120.00" in told.subject and "¥160.00" not in told.body


def test_the_provider_reads_why_a_share_went_back_in_its_language(app):
    """Reported: the provider's statement showed "(invoice refunded)" in English on a Chinese
    page, for a credit note on an unpaid invoice too."""
    from flask_babel import force_locale

    with force_locale("zh_CN"):
        assert reimbursements.reason_text("invoice refunded") == "账单开具了红字冲销单"
        assert reimbursements.reason_text("clawback: 无实验记录") == "科技局追回：无实验记录"
    with force_locale("en"):
        assert reimbursements.reason_text("invoice voided") == "invoice voided"
