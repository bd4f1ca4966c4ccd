"""Voucher pages and API: the happy paths, the denials, who may see and decide what."""
import io
import re

import pytest
from freezegun import freeze_time
from openpyxl import load_workbook
from sqlalchemy import select

from booking.core.audit import AuditEvent
from booking.core.notifications import OutboxMessage
from booking.extensions import db
from booking.subsidies import services
from booking.subsidies.models import OrganisationLink, Reimbursement, SubsidyPolicy, Voucher
from tests.moments import SUNDAY_10_MAY_10AM
from tests.web.matrix import audit_actions, audit_rows, messages_queued


@pytest.fixture(autouse=True)
def may_2026():
    with freeze_time(SUNDAY_10_MAY_10AM):
        yield


@pytest.fixture
def sme(make):
    return make.user(organisation=make.enterprise(name_zh="测试新材料公司"))


@pytest.fixture
def bureau(make):
    return make.user(role="bureau_staff")


APPLY = {"amount": "30000.00", "project": "SEM 表征", "declared_class": "sme_science_based",
         "staff_count": "46", "annual_revenue": "18500000", "total_assets": "24000000",
         "registered_capital": "10000000", "founded_on": "2019-05-16"}


# the policy form as the default policy fills it (tests change what they are about)
POLICY_FORM = {
    "small_micro_rate": "50", "small_micro_cap": "100000", "sme_science_based_rate": "40",
    "sme_science_based_cap": "200000", "startup_team_rate": "50", "startup_team_cap": "100000",
    "per_application": "20000", "annual_pool": "10000000", "batch_1": "25", "batch_2": "25",
    "batch_3": "25", "batch_4": "25", "validity": "calendar_year",
    "provider_kinds": ["university", "institute"], "excluded": ["statutory_testing", "medical"],
    "related_party_block": ["same_legal_person", "subordination"],
    "non_local_provider_factor": "80", "sample_rate": "5", "reward_rate": "5",
    "reward_cap": "500000", "sample_every_months": "6", "review_sla_days": "5",
    "allocation": "first_come_first_served", "aggregate_by": "enterprise"}


# --- enterprise ------------------------------------------------------------------------------
def test_enterprise_applies_in_the_form(client, login, make, sme):
    reviewer = make.user(role="bureau_staff")
    login(sme)
    page = client.get("/vouchers/").get_data(as_text=True)
    assert 'id="eligibility-ok"' in page
    response = client.post("/vouchers/", data=APPLY)
    assert response.status_code == 302
    voucher = db.session.query(Voucher).one()
    assert (voucher.requested_fen, voucher.declaration["annual_revenue_fen"]) == (
        3_000_000, 1_850_000_000)
    assert "30,000.00" in client.get("/vouchers/").get_data(as_text=True)
    # the bureau hears of it at once (it heard only once it was overdue), to its queue
    from booking.inbox.models import InboxNotice

    notice = db.session.scalar(select(InboxNotice).where(InboxNotice.user_id == reviewer.id,
                                                         InboxNotice.kind == "voucher.applied"))
    assert notice.link == "/vouchers/review" and "¥30,000.00" in notice.body


def test_applications_awaiting_a_decision_count_against_the_cap(client, login, sme):
    """Reported: a firm with a ¥200,000 cap had ¥240,000 awaiting review, and the page still
    said ¥200,000 left; the same application sent twice was filed twice."""
    login(sme)
    assert client.post("/vouchers/", data={**APPLY, "amount": "150000"}).status_code == 302
    page = client.get("/vouchers/").get_data(as_text=True)
    assert "其中 ¥150,000.00 已申请、尚待审核" in page
    again = client.post("/vouchers/", data={**APPLY, "amount": "150000"})
    assert "最多还可申请 ¥50,000.00" in again.get_data(as_text=True)
    assert db.session.query(Voucher).count() == 1
    assert client.post("/vouchers/", data={**APPLY, "amount": "50000"}).status_code == 302
    assert db.session.query(Voucher).count() == 2


@pytest.mark.parametrize("founded_on", ["9999-12-31", "0001-01-01"])
def test_a_founding_date_that_cannot_be_is_refused(client, login, sme, founded_on):
    login(sme)
    response = client.post("/vouchers/", data={**APPLY, "founded_on": founded_on})
    assert "1900-01-01" in response.get_data(as_text=True)
    assert db.session.query(Voucher).count() == 0


def test_a_voucher_shows_its_last_valid_day(client, login, make, sme):
    make.voucher(user=sme)  # valid until 2027-01-01 00:00 Shanghai: usable through 31 Dec
    db.session.commit()
    login(sme)
    page = client.get("/vouchers/").get_data(as_text=True)
    assert ">2026-12-31</td>" in page and "2027-01-01" not in page


def test_ineligible_enterprise_sees_the_reasons(client, login, make):
    bigco = make.user(organisation=make.enterprise(staff_count=6800, sme_certified=False,
                                                   annual_revenue_fen=10**12))
    login(bigco)
    page = client.get("/vouchers/").get_data(as_text=True)
    assert 'data-code="no_class"' in page
    response = client.post("/vouchers/", data={**APPLY, "staff_count": "6800",
                                               "annual_revenue": "12000000000"},
                           follow_redirects=True)
    assert "不符合所申报类别" in response.get_data(as_text=True)
    assert db.session.query(Voucher).count() == 0


def test_an_enterprise_outside_the_region_is_not_handed_a_form_that_must_fail(client, login,
                                                                             make):
    """Reported: an Anshan SME read "not registered in the region (2102)" above the whole
    application form, which could only be refused."""
    anshan = make.user(organisation=make.enterprise(region_code="2103", city="鞍山"))
    login(anshan)
    page = client.get("/vouchers/").get_data(as_text=True)
    assert 'data-code="outside_region"' in page and "企业未在本地区（大连）注册" in page
    assert 'id="apply-form"' not in page and 'id="cannot-apply"' in page
    sme_page = client.get("/vouchers/").get_data(as_text=True)
    assert "（2102）" not in sme_page


def test_the_classes_are_shown_side_by_side_with_what_fits(client, login, sme):
    login(sme)
    page = client.get("/vouchers/").get_data(as_text=True)
    table = page[page.index('id="class-options"'):page.index('id="apply-form"')]
    # 大连海创 (46 staff, revenue 18.5 M, certified): a science-based SME, too large for the
    # small/micro class (revenue over 10 M), and a company, so no start-up team
    assert 'data-code="sme_science_based"><td>科技型中小企业</td><td class="text-end">40%</td>' \
        '<td class="text-end">¥200,000.00</td><td><span class="badge text-bg-success">' in table
    assert table.count("text-bg-success") == 1


def test_project_already_funded_is_refused_with_its_reason(client, login, sme):
    login(sme)
    response = client.post("/vouchers/", data={**APPLY, "project_already_funded": "y"},
                           follow_redirects=True)
    assert "该项目已获得市级科技经费资助" in response.get_data(as_text=True)
    assert db.session.query(Voucher).count() == 0


def test_bad_amount_is_a_form_error_not_a_500(client, login, sme):
    login(sme)
    response = client.post("/vouchers/", data={**APPLY, "amount": "lots"})
    assert response.status_code == 200 and "is-invalid" in response.get_data(as_text=True)


def test_enterprise_sees_only_its_own_vouchers(client, login, make, sme):
    other = make.voucher()
    mine = make.voucher(user=sme, amount_fen=1_234_500)
    login(sme)
    page = client.get("/vouchers/").get_data(as_text=True)
    assert "12,345.00" in page and f"<td>{other.id}</td>" not in page
    assert mine.id


@pytest.mark.parametrize("role", ["member", "lab_manager", "finance"])
def test_university_users_have_no_voucher_page(client, login, make, role):
    login(make.user(role=role))
    assert client.get("/vouchers/").status_code == 403
    assert client.post("/vouchers/", data=APPLY).status_code == 403
    assert db.session.query(Voucher).count() == 0


# --- bureau ----------------------------------------------------------------------------------
def test_bureau_approves_a_smaller_amount_and_rejects_with_reason(client, login, make, bureau):
    first = make.voucher(approve=False)
    second = make.voucher(approve=False)
    login(bureau)
    page = client.get("/vouchers/review").get_data(as_text=True)
    assert f'data-voucher="{first.id}"' in page
    told = client.post(f"/vouchers/{first.id}/approve", data={"amount": "20000"},
                       follow_redirects=True).get_data(as_text=True)
    assert "批准金额少于申请金额时请说明原因" in told  # reported: less, and never why
    client.post(f"/vouchers/{first.id}/approve", data={"amount": "20000",
                                                       "reason": "项目预算中设备费偏高"})
    client.post(f"/vouchers/{second.id}/reject", data={"reason": "材料不全"})
    db.session.expire_all()
    assert (first.state, first.face_value_fen) == ("issued", 2_000_000)
    assert first.decision_reason == "项目预算中设备费偏高"
    notice = db.session.scalar(select(OutboxMessage.body).where(
        OutboxMessage.kind == "voucher.decided").order_by(OutboxMessage.id))
    assert "项目预算中设备费偏高" in notice
    # the inbox notice opens the applicant's vouchers (it led nowhere)
    from booking.inbox.models import InboxNotice

    links = set(db.session.scalars(select(InboxNotice.link).where(
        InboxNotice.kind == "voucher.decided")))
    assert links == {"/vouchers/"}
    assert (second.state, second.decision_reason) == ("rejected", "材料不全")
    response = client.post(f"/vouchers/{first.id}/approve", data={"amount": "20000"},
                           follow_redirects=True)
    assert "该申请已处理" in response.get_data(as_text=True)


def test_reject_without_reason_changes_nothing(client, login, make, bureau):
    voucher = make.voucher(approve=False)
    login(bureau)
    client.post(f"/vouchers/{voucher.id}/reject", data={"reason": ""}, follow_redirects=True)
    db.session.expire_all()
    assert voucher.state == "applied"
    # a reason too long, an amount with three decimals: each says what is wrong with it
    page = client.post(f"/vouchers/{voucher.id}/reject", data={"reason": "理" * 600},
                       follow_redirects=True).get_data(as_text=True)
    assert "请填写拒绝理由" not in page and "500" in page
    page = client.post(f"/vouchers/{voucher.id}/approve", data={"amount": "100.123"},
                       follow_redirects=True).get_data(as_text=True)
    assert "请输入有效金额：" in page and "2" in page.split("请输入有效金额：")[1][:40]
    # reported: no amount approved the whole request; a long reason blamed the amount
    page = client.post(f"/vouchers/{voucher.id}/approve", data={"amount": ""},
                       follow_redirects=True).get_data(as_text=True)
    assert "请填写批准金额" in page
    page = client.post(f"/vouchers/{voucher.id}/approve", data={
        "amount": "100", "reason": "理" * 600}, follow_redirects=True).get_data(as_text=True)
    assert "请输入有效金额" not in page and "不能超过 500 个字符" in page
    db.session.expire_all()
    assert voucher.state == "applied"


@pytest.mark.parametrize("method, path", [
    ("get", "/vouchers/review"), ("post", "/vouchers/{id}/approve"),
    ("post", "/vouchers/{id}/reject"), ("get", "/vouchers/policy"),
    ("post", "/vouchers/policy"), ("post", "/vouchers/policy/publish")])
@pytest.mark.parametrize("role", ["member", "lab_manager", "finance"])
def test_only_bureau_staff_review_and_edit_policy(client, login, make, method, path, role):
    voucher = make.voucher(approve=False)
    login(make.user(role=role, organisation=make.enterprise() if role == "member" else None))
    policies = [(p.version, p.published_at) for p in db.session.query(SubsidyPolicy)]
    queued, trail = messages_queued(), audit_actions(voucher)
    response = getattr(client, method)(path.format(id=voucher.id), data={"reason": "x"})
    assert response.status_code == 403
    db.session.expire_all()
    assert (voucher.state, voucher.decided_by_id, voucher.face_value_fen) == ("applied", None, 0)
    assert [(p.version, p.published_at) for p in db.session.query(SubsidyPolicy)] == policies
    assert (messages_queued(), audit_actions(voucher)) == (queued, trail)


def test_bureau_edits_diffs_and_publishes_the_policy(client, login, bureau):
    login(bureau)
    page = client.get("/vouchers/policy").get_data(as_text=True)
    assert "v2" in page and 'id="policy-diff"' not in page
    assert db.session.query(SubsidyPolicy).filter_by(version=2).count() == 0  # a look writes nothing
    assert 'id="sme_science_based_rate"' in page and 'value="40"' in page  # 0.40, in per cent
    rate = re.search(r'<input[^>]*id="sme_science_based_rate"[^>]*>', page).group(0)
    assert 'max="100"' in rate and 'min="0"' in rate  # per cent on the page too (was max="1")
    # the per-invoice cap says what it caps: one invoice's deduction, not an application
    assert "每张账单的创新券抵扣上限" in page and 'id="per_application-help"' in page
    form = {"small_micro_rate": "50", "small_micro_cap": "100000", "sme_science_based_rate": "45",
            "sme_science_based_cap": "200000", "startup_team_rate": "50",
            "startup_team_cap": "150000", "per_application": "20000", "annual_pool": "10000000",
            "batch_1": "40", "batch_2": "20", "batch_3": "20", "batch_4": "20",
            "validity": "calendar_year", "provider_kinds": ["university", "institute"],
            "excluded": ["statutory_testing", "medical"],
            "related_party_block": ["same_legal_person", "subordination"],
            "non_local_provider_factor": "80", "sample_rate": "5", "reward_rate": "5",
            "reward_cap": "500000", "sample_every_months": "3", "review_sla_days": "10",
            "allocation": "bureau_choice", "aggregate_by": "enterprise"}
    bad = client.post("/vouchers/policy", data={**form, "batch_4": "50"})
    assert "四个批次的比例合计须为 100%" in bad.get_data(as_text=True)
    assert "须介于 0 与 100% 之间" in client.post("/vouchers/policy", data={
        **form, "small_micro_rate": "150"}).get_data(as_text=True)
    for field, value in [("annual_pool", "99999999999999999999"), ("per_application", "1e308"),
                         ("small_micro_cap", "1E+30"), ("startup_team_cap", "sNaN"),
                         ("small_micro_rate", "NaN"), ("reward_cap", "-Infinity")]:
        refused = client.post("/vouchers/policy", data={**form, field: value})
        assert refused.status_code == 422, (field, value, refused.status_code)  # not a 500
        assert f'id="{field}"' in refused.get_data(as_text=True)
    assert client.post("/vouchers/policy", data=form).status_code == 302
    page = client.get("/vouchers/policy").get_data(as_text=True)
    diff = page[page.index('id="policy-diff"'):page.index("</table>", page.index('id="policy-diff"'))]
    assert "classes." not in diff and "_fen" not in diff  # the form's words, not the rules' keys
    assert ">科技型中小企业：补贴比例（%）</td><td data-label=\"已发布\">40 %</td>" \
        "<td class=\"fw-semibold\" data-label=\"草稿\">45 %<" in diff
    assert ">创业团队：年度上限（元）</td><td data-label=\"已发布\">¥100,000.00</td>" \
        "<td class=\"fw-semibold\" data-label=\"草稿\">¥150,000.00<" in diff
    assert ">法定检测和医疗服务<" in diff and ">由科技局决定<" in diff
    assert ">各季度批次比例（一 / 二 / 三 / 四季度）</td><td data-label=\"已发布\">25 % / 25 % / " \
        "25 % / 25 %</td><td class=\"fw-semibold\" data-label=\"草稿\">40 % / 20 % / 20 % / " \
        "20 %<" in diff
    # the publish button asks first, and says whom the new version binds
    assert "已发放的创新券仍按发放时的比例和上限执行" in page
    assert 'id="policy-warnings"' not in page  # nothing unusual in this draft
    # the audit trail reads the edit as the page does (reported: raw fen and rule keys)
    trail = client.get("/admin/audit?action=subsidy_policy.edited").get_data(as_text=True)
    assert "科技型中小企业：补贴比例（%）：40 % → 45 %" in trail
    assert "创业团队：年度上限（元）：¥100,000.00 → ¥150,000.00" in trail
    assert "cap_per_year_fen" not in trail and "classes." not in trail
    client.post("/vouchers/policy/publish", data={})
    current = services.current_policy(2026)
    assert (current.version, current.rules["classes"]["sme_science_based"]["rate"]) == (2, "0.45")
    assert (current.rules["oversight"]["sample_every_months"], current.rules["oversight"][
        "review_sla_days"], current.rules["budget"]["allocation"],
        current.rules["caps"]["aggregate_by"]) == (3, 10, "bureau_choice", "enterprise")
    first = db.session.query(SubsidyPolicy).filter_by(year=2026, version=1).one()
    assert first.rules["classes"]["sme_science_based"]["rate"] == "0.40"


def test_a_draft_that_pays_nothing_or_too_much_is_warned_of_before_publishing(client, login,
                                                                              bureau):
    """Reported: a ¥0 cap per invoice and a 100 % provider reward were saved without a word."""
    login(bureau)
    form = {**POLICY_FORM, "per_application": "0", "reward_rate": "100"}
    assert client.post("/vouchers/policy", data=form).status_code == 302  # allowed, not refused
    page = client.get("/vouchers/policy").get_data(as_text=True)
    box = page[page.index('id="policy-warnings"'):page.index("</div>", page.index(
        'id="policy-warnings"'))]
    assert "每张账单的上限为 ¥0：创新券不抵扣任何账单。" in box
    assert "服务机构奖励为创新券业务额的 100%，高于已发布政策允许的 5%。" in box
    assert "草稿有 2 条提醒。" in page  # the publish confirmation counts them
    client.post("/vouchers/policy/publish")
    assert services.current_policy(2026).rules["caps"]["per_application_fen"] == 0


def test_next_years_policy_is_prepared_ahead_and_carries_this_years(client, login, bureau):
    """Reported: in December the bureau could not prepare next year's policy, and on 1 January
    the year's settings fell back to the default file's."""
    login(bureau)
    form = {**POLICY_FORM, "sme_science_based_rate": "45"}
    assert client.post("/vouchers/policy", data=form).status_code == 302  # 45 % this year
    client.post("/vouchers/policy/publish")
    # next year starts from this year's published rules, not the file's 40 %
    page = client.get("/vouchers/policy?year=2027").get_data(as_text=True)
    assert "2027" in page and 'id="next-year-note"' in page
    assert re.search(r'id="sme_science_based_rate"[^>]*value="45"', page)
    assert client.post("/vouchers/policy?year=2027", data={
        **form, "sme_science_based_rate": "30"}).status_code == 302
    client.post("/vouchers/policy/publish?year=2027")
    assert services.current_policy(2027).rules["classes"]["sme_science_based"]["rate"] == "0.3"
    assert services.current_policy(2026).rules["classes"]["sme_science_based"]["rate"] == "0.45"
    assert services.current_policy(2028).rules["classes"]["sme_science_based"]["rate"] == "0.3"
    assert client.get("/vouchers/policy?year=2029").status_code == 400  # only this and next


def test_a_budget_below_what_approved_vouchers_hold_is_not_published(client, login, make,
                                                                      bureau):
    """Reported: a pool of ¥50,000 published over ¥101,000 already approved left the year's
    budget at −¥51,000 on the dashboard."""
    from booking.subsidies.models import VoucherBudget

    make.voucher(amount_fen=5_000_000)  # ¥50,000 approved
    committed = db.session.get(VoucherBudget, 2026).committed_fen
    assert committed == 5_000_000
    login(bureau)
    form = {**POLICY_FORM, "annual_pool": "40000"}
    assert client.post("/vouchers/policy", data=form).status_code == 302
    refused = client.post("/vouchers/policy/publish", data={}, follow_redirects=True)
    assert "不能低于本年度已批准创新券占用的 ¥50,000.00" in refused.get_data(as_text=True)
    assert services.current_policy(2026).budget_fen != 4_000_000


def test_an_unconfirmed_member_neither_sees_nor_applies_for_the_enterprises_vouchers(
        client, login, api_token, make, sme):
    """Reported: anyone who asked to join a firm read its vouchers and applied in its name
    (first come, first served: enough to crowd the firm's own application out)."""
    make.voucher(user=sme)
    stranger = make.user(organisation=sme.organisation, confirmed=False)
    headers = api_token(stranger)
    assert client.get("/api/v1/vouchers", headers=headers).get_json()["items"] == []
    applied = client.post("/api/v1/vouchers", headers=headers, json={
        "amount_fen": 100_000, "project": "x", "enterprise_class": "sme_science_based"})
    assert applied.status_code == 403
    login(stranger)
    assert client.get("/vouchers/").status_code == 403
    assert client.post("/vouchers/", data=APPLY).status_code == 403
    assert 'href="/vouchers/"' not in client.get("/").get_data(as_text=True)  # not on the bar
    assert db.session.query(Voucher).count() == 1
    assert len(client.get("/api/v1/vouchers", headers=api_token(sme)).get_json()["items"]) == 1


# --- API -------------------------------------------------------------------------------------
def test_api_apply_list_approve(client, api_token, make, sme, bureau):
    body = {"amount_fen": 2_000_000, "project": "XRD", "enterprise_class": "sme_science_based"}
    created = client.post("/api/v1/vouchers", json=body, headers=api_token(sme))
    assert created.status_code == 201, created.get_json()
    voucher = created.get_json()
    assert voucher["state"] == "applied" and voucher["rate"] == "0.4"
    approved = client.post(f"/api/v1/vouchers/{voucher['id']}/approve", json={},
                           headers=api_token(bureau))
    assert approved.status_code == 200
    assert {k: approved.get_json()[k] for k in ("state", "face_value_fen", "remaining_fen",
                                               "enterprise_class")} == {
        "state": "issued", "face_value_fen": 2_000_000, "remaining_fen": 2_000_000,
        "enterprise_class": "sme_science_based"}
    again = client.post(f"/api/v1/vouchers/{voucher['id']}/reject", json={"reason": "x"},
                        headers=api_token(bureau))
    assert again.status_code == 409
    listed = client.get("/api/v1/vouchers", headers=api_token(sme)).get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == voucher["id"]


def test_api_denials(client, api_token, make, sme):
    other = make.voucher(approve=False)
    mine = client.get("/api/v1/vouchers", headers=api_token(sme)).get_json()
    assert mine["total"] == 0
    refused = client.post(f"/api/v1/vouchers/{other.id}/approve", json={},
                          headers=api_token(sme))
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    bigco = make.user(organisation=make.enterprise(staff_count=6800, sme_certified=False))
    ineligible = client.post("/api/v1/vouchers", headers=api_token(bigco), json={
        "amount_fen": 100, "project": "x", "enterprise_class": "sme_science_based"})
    error = ineligible.get_json()["error"]
    assert ineligible.status_code == 422 and error["problems"][0]["code"] == "class_criteria"
    bad = client.post("/api/v1/vouchers", headers=api_token(sme), json={"amount_fen": -1})
    assert bad.status_code == 422
    university = client.post("/api/v1/vouchers", headers=api_token(make.user()), json={
        "amount_fen": 100, "project": "x", "enterprise_class": "sme_science_based"})
    assert university.status_code == 403
    assert client.get("/api/v1/vouchers").status_code == 401
    db.session.expire_all()  # the one application there was, undecided; no new ones
    assert [(v.id, v.state, v.decided_by_id) for v in db.session.query(Voucher)] == [
        (other.id, "applied", None)]


def test_voucher_api_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/vouchers", "/api/v1/vouchers/{voucher_id}/approve",
            "/api/v1/vouchers/{voucher_id}/reject"} <= set(spec["paths"])
    assert "remaining_fen" in spec["components"]["schemas"]["Voucher"]["properties"]


# --- oversight and reimbursement pages --------------------------------------------------------
def test_bureau_dashboard_and_reimbursement_pages(client, login, make, bureau):
    make.voucher()
    login(bureau)
    page = client.get("/vouchers/dashboard").get_data(as_text=True)
    assert 'id="chart-burn-down"' in page and "chart.umd.min.js" in page
    assert client.get("/vouchers/dashboard?year=1900").status_code == 400
    assert client.post("/vouchers/sample", data={"window": "1"}).status_code == 302
    # sample_every_months = 6; in May this half-year is offered first
    assert '<option selected value="1">1–6 月</option>' in page
    assert '<option value="2">7–12 月</option>' in page
    page = client.get("/vouchers/reimbursements?quarter=2026Q2").get_data(as_text=True)
    assert 'id="statements"' in page
    assert client.get("/vouchers/reimbursements?quarter=nope").status_code == 404
    open_ = client.post("/vouchers/reimbursements", data={"quarter": "2026Q2"})  # in May
    assert open_.status_code == 422 and "2026Q2 尚未结束" in open_.get_data(as_text=True)
    with freeze_time("2026-07-01 02:00:00"):  # the quarter is over: its statements are built
        login(bureau)  # the May session has lapsed
        built = client.post("/vouchers/reimbursements?quarter=2026Q2",
                            data={"quarter": "2026Q2"})
        assert built.status_code == 302
        bad = client.post("/vouchers/reimbursements", data={"quarter": "2026Q9"})
        assert bad.status_code == 422 and "is-invalid" in bad.get_data(as_text=True)
        assert 'id="quarter-error">请按' in bad.get_data(as_text=True)  # it says why, there
        ahead = client.post("/vouchers/reimbursements", data={"quarter": "2027q1"})  # lower
        assert ahead.status_code == 422 and "2027Q1 尚未结束" in ahead.get_data(as_text=True)
        assert client.post("/vouchers/reimbursements", data={"quarter": " 2026q2 "}
                           ).status_code == 302
        export = client.get("/vouchers/reimbursements/2026Q2.xlsx")
        assert export.status_code == 200 and export.data[:2] == b"PK"
        assert client.get("/vouchers/reimbursements/2026Q9.xlsx").status_code == 404


def test_a_statement_is_marked_paid_with_the_transfers_reference(client, login, make, bureau):
    """The bureau says which transfer paid it; the provider's finance office reads it, and so
    do the workbook and the audit trail. Without one nothing changes."""
    provider = make.organisation()
    statement = Reimbursement(provider_id=provider.id, period="2026Q1", amount_fen=50_000,
                              policy_id=services.stored_policy(2026).id, redemption_count=2)
    db.session.add(statement)
    db.session.commit()
    login(bureau)
    page = client.get("/vouchers/reimbursements?quarter=2026Q1").get_data(as_text=True)
    assert 'name="reference"' in page and "required" in page
    refused = client.post(f"/vouchers/reimbursements/{statement.id}/paid",
                          data={"reference": "   "}, follow_redirects=True)
    assert "请填写支付该兑付单的转账凭证号" in refused.get_data(as_text=True)
    assert db.session.get(Reimbursement, statement.id).state == "pending"
    assert client.post(f"/vouchers/reimbursements/{statement.id}/paid",
                       data={"reference": "x" * 65}).status_code == 302
    assert db.session.get(Reimbursement, statement.id).state == "pending"

    paid = client.post(f"/vouchers/reimbursements/{statement.id}/paid",
                       data={"reference": " GK-2026-0412 "}, follow_redirects=True)
    page = paid.get_data(as_text=True)
    db.session.expire_all()
    statement = db.session.get(Reimbursement, statement.id)
    assert (statement.state, statement.payment_reference, statement.paid_by_id) == (
        "paid", "GK-2026-0412", bureau.id)
    assert f"经办人：{bureau.name}" in page and "凭证号 GK-2026-0412" in page
    sheet = load_workbook(io.BytesIO(client.get("/vouchers/reimbursements/2026Q1.xlsx").data))
    header, row = list(sheet.worksheets[0].values)[:2]
    assert dict(zip(header, row, strict=True))["支付凭证号"] == "GK-2026-0412"
    assert dict(zip(header, row, strict=True))["经办人"] == bureau.name
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "reimbursement.paid")).one()
    assert event.data["reference"] == "GK-2026-0412"

    login(make.user(role="finance", organisation=provider))
    mine = client.get("/vouchers/statements?year=2026").get_data(as_text=True)
    assert '<dd class="col-6 col-md-3 text-end statement-reference">GK-2026-0412</dd>' in mine


@pytest.mark.parametrize("method, path", [
    ("get", "/vouchers/dashboard"), ("post", "/vouchers/sample"),
    ("get", "/vouchers/reimbursements"), ("post", "/vouchers/reimbursements"),
    ("get", "/vouchers/reimbursements/2026Q2.xlsx"), ("post", "/vouchers/reimbursements/1/paid"),
    ("post", "/vouchers/redemptions/1/clawback"), ("post", "/vouchers/redemptions/1/confirm")])
def test_oversight_is_for_bureau_staff_only(client, login, make, method, path):
    login(make.user(role="finance"))
    audited, queued = audit_rows(), messages_queued()
    assert getattr(client, method)(path, data={"quarter": "2026Q2", "window": "1",
                                              "reason": "x"}).status_code == 403
    assert (audit_rows(), messages_queued()) == (audited, queued)


def test_navigation_shows_the_voucher_review_to_bureau_staff_only(client, login, make, bureau):
    login(bureau)
    assert "/vouchers/review" in client.get("/vouchers/review").get_data(as_text=True)
    client.post("/logout")
    login(make.user(organisation=make.enterprise()))
    page = client.get("/vouchers/").get_data(as_text=True)
    assert "/vouchers/review" not in page


def test_bureau_declares_a_related_party_link(client, login, make, bureau):
    enterprise = make.enterprise(name_zh="关联企业")
    university = make.organisation(name_zh="关联大学")
    login(bureau)
    assert "关联企业" in client.get("/vouchers/links").get_data(as_text=True)
    data = {"enterprise_id": enterprise.id, "institution_id": university.id,
            "kind": "equity_link"}
    assert client.post("/vouchers/links", data=data).status_code == 302
    page = client.get("/vouchers/links").get_data(as_text=True)
    assert "关联大学" in page and 'id="links"' in page
    again = client.post("/vouchers/links", data=data, follow_redirects=True)
    assert again.status_code == 200 and db.session.query(OrganisationLink).count() == 1
    wrong = client.post("/vouchers/links", data={**data, "enterprise_id": university.id},
                        follow_redirects=True)
    assert wrong.status_code == 200 and db.session.query(OrganisationLink).count() == 1
    # a link declared in error is removed, with a reason the audit trail keeps
    link = db.session.query(OrganisationLink).one()
    assert f'action="/vouchers/links/{link.id}/remove"' in page
    assert client.post(f"/vouchers/links/{link.id}/remove", data={"reason": ""}
                       ).status_code == 302 and db.session.query(OrganisationLink).count() == 1
    done = client.post(f"/vouchers/links/{link.id}/remove", data={"reason": "登记有误"},
                       follow_redirects=True)
    assert "关联关系已撤销" in done.get_data(as_text=True)
    assert db.session.query(OrganisationLink).count() == 0
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "organisation_link.removed"))
    assert event.data["reason"] == "登记有误" and event.data["kind"] == "equity_link"


def test_links_are_for_bureau_staff_only(client, login, make):
    enterprise = login(make.user(organisation=make.enterprise())).organisation
    assert client.get("/vouchers/links").status_code == 403
    data = {"enterprise_id": enterprise.id, "institution_id": make.organisation().id,
            "kind": "equity_link"}  # a valid link: refused for who asks, not for what
    assert client.post("/vouchers/links", data=data).status_code == 403
    assert db.session.query(OrganisationLink).count() == 0
    link = OrganisationLink(enterprise_id=enterprise.id, institution_id=data["institution_id"],
                            kind="equity_link")
    db.session.add(link)
    db.session.commit()
    assert client.post(f"/vouchers/links/{link.id}/remove", data={"reason": "x"}
                       ).status_code == 403
    assert db.session.query(OrganisationLink).count() == 1


def test_queue_shows_the_cap_left_and_problems_since_applying(client, login, make, bureau):
    fine = make.voucher(approve=False, amount_fen=1_000_000)
    flagged = make.voucher(approve=False)
    flagged.enterprise.bad_credit = True
    db.session.commit()
    login(bureau)
    page = client.get("/vouchers/review").get_data(as_text=True)
    assert "剩余额度：¥200,000.00" in page and "严重失信" in page
    assert fine.state == flagged.state == "applied"


def test_the_queue_flags_applications_past_the_review_deadline(client, login, make, bureau):
    with freeze_time("2026-05-01 02:00:00"):
        late = make.voucher(approve=False)
    with freeze_time("2026-05-09 02:00:00"):
        fresh = make.voucher(approve=False)
    db.session.commit()
    login(bureau)
    page = client.get("/vouchers/review").get_data(as_text=True)  # Sunday 10 May
    rows = {v.id: page[page.index(f'data-voucher="{v.id}"'):] for v in (late, fresh)}
    assert "overdue" in rows[late.id].split("</tr>")[0]
    assert "overdue" not in rows[fresh.id].split("</tr>")[0]


def test_an_edit_recorded_with_text_values_reads_in_yuan_too(app):
    """Edits recorded before their values were kept as numbers had amounts as text."""
    from booking.subsidies.forms import described_changes

    with app.test_request_context(headers={"Accept-Language": "en"}):
        [(label, old, new)] = described_changes([["budget.annual_pool_fen", "5000000",
                                                  "1000000000"]])
    assert (label, old, new) == ("Annual budget (yuan)", "¥50,000.00", "¥10,000,000.00")
