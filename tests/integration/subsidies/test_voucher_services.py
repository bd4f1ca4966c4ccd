"""Policy versions, applications, approval against the budget, expiry (real database)."""
import copy
from datetime import UTC, datetime

import pytest
from flask_babel import force_locale
from freezegun import freeze_time
from sqlalchemy import func, select

from booking.core.audit import AuditEvent
from booking.core.clock import now_utc
from booking.core.notifications import OutboxMessage
from booking.extensions import db
from booking.subsidies import services
from booking.subsidies.models import SubsidyPolicy, Voucher, VoucherBudget
from tests.moments import SUNDAY_10_MAY_10AM


@pytest.fixture(autouse=True)
def may_2026():
    with freeze_time(SUNDAY_10_MAY_10AM):  # Q2 in Dalian
        yield


@pytest.fixture
def bureau(make):
    return make.user(role="bureau_staff")


@pytest.fixture
def sme_user(make):
    return make.user(organisation=make.enterprise(actual_controller="测试控制人A"))


def _apply(user, amount_fen=5_000_000, declared_class="sme_science_based"):
    return services.apply_for_voucher(user, amount_fen=amount_fen, project="XRD",
                                      declared_class=declared_class, declaration={})


def _publish(bureau, change):
    draft = services.draft_policy(2026, bureau)
    rules = copy.deepcopy(draft.rules)
    change(rules)
    services.save_draft(draft, rules, bureau)
    services.publish_policy(draft, bureau)
    return draft


# --- policy versions -------------------------------------------------------------------------
def test_reading_a_new_years_policy_writes_nothing_until_a_write_needs_it(app, bureau):
    policy = services.current_policy(2026)
    assert (policy.version, policy.is_published, policy.budget_fen) == (1, True, 1_000_000_000)
    assert policy.id is None and policy not in db.session
    assert services.budget_status(2026)["committed_fen"] == 0
    assert services.draft_policy(2026, bureau, save=False).version == 2
    assert [v.version for v in services.policy_versions(2026)] == [1]  # the default in force
    assert db.session.scalar(select(func.count(SubsidyPolicy.id))) == 0
    stored = services.stored_policy(2026)
    assert stored.id is not None and services.stored_policy(2026) is stored
    assert services.current_policy(2026) is stored
    assert db.session.get(VoucherBudget, 2026).committed_fen == 0
    assert db.session.scalar(select(AuditEvent.data).where(
        AuditEvent.action == "subsidy_policy.created")) == {
        "year": 2026, "version": 1, "source": "default"}


def test_a_first_writer_that_lost_the_race_takes_the_winners_version(app):
    default = services.current_policy(2026)
    # another writer stores version 1 between this one's read and its write
    winner = SubsidyPolicy(year=2026, version=1, rules=default.rules, budget_fen=1,
                           published_at=now_utc())
    db.session.add(winner)
    db.session.flush()
    assert services._store_default_policy(default) is winner
    assert db.session.scalar(select(func.count(SubsidyPolicy.id))) == 1
    assert services.stored_policy(2026) is winner


def test_editing_starts_a_draft_and_publishing_makes_it_current(bureau):
    v1 = services.current_policy(2026)
    draft = services.draft_policy(2026, bureau)
    assert (draft.version, draft.is_published) == (2, False)
    assert services.draft_policy(2026, bureau) is draft
    rules = copy.deepcopy(draft.rules)
    rules["classes"]["sme_science_based"]["rate"] = "0.45"
    services.save_draft(draft, rules, bureau)
    assert services.policy_changes(draft) == [("classes.sme_science_based.rate", "0.40", "0.45")]
    assert v1.rules["classes"]["sme_science_based"]["rate"] == "0.40"
    services.publish_policy(draft, bureau)
    assert services.current_policy(2026) is draft
    with pytest.raises(services.PolicyError):
        services.save_draft(draft, rules, bureau)
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "subsidy_policy.published")).data == {"version": 2}


def test_invalid_draft_is_refused_with_every_problem(bureau):
    draft = services.draft_policy(2026, bureau)
    rules = copy.deepcopy(draft.rules)
    rules["classes"]["small_micro"]["rate"] = "1.2"
    rules["budget"]["quarterly_batches"] = ["0.5", "0.5", "0.5", "0"]
    with pytest.raises(services.PolicyError) as refused:
        services.save_draft(draft, rules, bureau)
    assert len(refused.value.problems) == 2
    assert draft.rules["classes"]["small_micro"]["rate"] == "0.50"


def test_publishing_an_unchanged_draft_is_refused(bureau):
    draft = services.draft_policy(2026, bureau)
    with pytest.raises(services.PolicyError) as refused:
        services.publish_policy(draft, bureau)
    assert len(refused.value.problems) == 1 and not draft.is_published


# --- applications and approval ---------------------------------------------------------------
def test_apply_records_class_rate_and_policy_version(sme_user):
    voucher = _apply(sme_user)
    assert (voucher.state, voucher.enterprise_class, voucher.requested_fen) == (
        "applied", "sme_science_based", 5_000_000)
    assert str(voucher.rate) in ("0.40", "0.4000") and voucher.policy.version == 1


def test_large_enterprise_is_refused_with_reasons(make):
    bigco = make.user(organisation=make.enterprise(staff_count=6800, sme_certified=False,
                                                   annual_revenue_fen=10**12))
    with pytest.raises(services.VoucherError) as refused:
        _apply(bigco)
    assert [p.code for p in refused.value.problems] == ["class_criteria"]


def test_application_over_the_yearly_cap_is_refused(sme_user):
    with pytest.raises(services.VoucherError) as refused:
        _apply(sme_user, amount_fen=20_000_001)
    assert [p.code for p in refused.value.problems] == ["year_cap"]


def test_approval_issues_the_voucher_and_commits_budget(sme_user, bureau):
    voucher = _apply(sme_user, 5_000_000)
    with pytest.raises(services.VoucherError) as refused:  # less than asked: say why
        services.approve_voucher(voucher, bureau, 3_000_000)
    assert refused.value.code == "reason_for_less" and voucher.state == "applied"
    services.approve_voucher(voucher, bureau, 3_000_000, "年度预算已近用完")
    assert voucher.decision_reason == "年度预算已近用完"
    assert (voucher.state, voucher.face_value_fen, voucher.remaining_fen, voucher.quarter) == (
        "issued", 3_000_000, 3_000_000, 2)
    assert voucher.valid_until == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)  # midnight Dalian
    assert db.session.get(VoucherBudget, 2026).committed_fen == 3_000_000
    assert services.budget_status(2026)["available_fen"] == 500_000_000 - 3_000_000
    with pytest.raises(services.VoucherError):
        services.approve_voucher(voucher, bureau)


def test_approving_more_than_requested_is_refused(sme_user, bureau):
    voucher = _apply(sme_user, 1_000_000)
    with pytest.raises(services.VoucherError) as refused:
        services.approve_voucher(voucher, bureau, 1_000_001)
    assert [p.code for p in refused.value.problems] == ["over_request"]


def test_caps_aggregate_per_actual_controller(make, bureau):
    first = make.user(organisation=make.enterprise(actual_controller="张三"))
    sister = make.user(organisation=make.enterprise(actual_controller="张三"))
    services.approve_voucher(_apply(first, 15_000_000), bureau)
    with pytest.raises(services.VoucherError) as refused:
        _apply(sister, 6_000_000)
    assert [p.code for p in refused.value.problems] == ["year_cap"]
    pending = _apply(sister, 5_000_000)
    with pytest.raises(services.VoucherError) as refused:  # the group's cap counts the pending
        _apply(first, 5_000_000)
    assert [p.code for p in refused.value.problems] == ["pending_over_cap"]
    services.approve_voucher(pending, bureau)
    assert pending.state == "issued"


def test_caps_count_each_enterprise_alone_when_the_policy_says_so(make, bureau):
    # aggregate_by = "enterprise": the sister firm's 150,000 CNY does not count against its
    # own 200,000 CNY cap, so 60,000 CNY is fine (with "actual_controller" only 50,000 is left)
    _publish(bureau, lambda r: r["caps"].update(aggregate_by="enterprise"))
    first = make.user(organisation=make.enterprise(actual_controller="张三"))
    sister = make.user(organisation=make.enterprise(actual_controller="张三"))
    services.approve_voucher(_apply(first, 15_000_000), bureau)
    voucher = _apply(sister, 6_000_000)
    services.approve_voucher(voucher, bureau)
    assert voucher.state == "issued"


def test_unused_quarter_budget_rolls_forward_but_not_past_released_batches(make, bureau):
    _publish(bureau, lambda r: r["budget"].update(annual_pool_fen=40_000_000))  # 100k per batch
    with freeze_time("2026-02-01 02:00:00"):  # Q1: 100,000 CNY released
        first = _apply(make.user(organisation=make.enterprise()), 6_000_000)
        services.approve_voucher(first, bureau)
        second = _apply(make.user(organisation=make.enterprise()), 6_000_000)
        with pytest.raises(services.VoucherError) as refused:
            services.approve_voucher(second, bureau)
        assert [p.code for p in refused.value.problems] == ["budget_exhausted"]
    services.approve_voucher(second, bureau)  # Q2: 200,000 released, 60,000 used
    assert db.session.get(VoucherBudget, 2026).committed_fen == 12_000_000
    assert second.policy.version == 2  # decided under the version in force


def test_reject_needs_a_reason_and_notifies(sme_user, bureau):
    voucher = _apply(sme_user)
    with pytest.raises(services.VoucherError):
        services.reject_voucher(voucher, bureau, "  ")
    services.reject_voucher(voucher, bureau, "项目与检测需求不符")
    assert (voucher.state, voucher.decision_reason) == ("rejected", "项目与检测需求不符")
    assert db.session.get(VoucherBudget, 2026).committed_fen == 0


def test_vouchers_expire_at_the_end_of_the_year(sme_user, bureau):
    voucher = _apply(sme_user)
    services.approve_voucher(voucher, bureau)
    pending = _apply(sme_user, 1_000_000)
    with freeze_time("2026-12-31 15:59:00"):
        assert services.expire_vouchers() == 0
    with freeze_time("2026-12-31 16:00:00"):
        # reading shows the expiry at once and writes nothing
        listed = services.vouchers_of(sme_user.organisation)
        assert [v.state_at(now_utc()) for v in listed] == ["expired", "expired"]
        assert voucher.remaining_fen == 0
        assert not db.session.dirty and (voucher.state, pending.state) == ("issued", "applied")
        # the daily job writes it, and tells the applicant whose application lapsed
        assert services.expire_vouchers() == 2
    assert (voucher.state, pending.state) == ("expired", "expired")
    lapse = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "voucher.lapsed"))
    assert lapse.recipient == sme_user.email and str(pending.id) in lapse.body
    assert "2026" in lapse.body and "申请" in lapse.subject  # in the applicant's language


def test_the_applicant_is_told_in_the_applicants_language(make, bureau):
    """Decided by an English-speaking bureau user, written to a Chinese-speaking applicant."""
    bureau.locale = "en"
    applicant = make.user(organisation=make.enterprise(), locale="zh_CN")
    english = make.user(organisation=make.enterprise(), locale="en")
    with force_locale("en"):  # the bureau user's request
        services.approve_voucher(_apply(applicant), bureau)
        services.reject_voucher(_apply(english), bureau, "no")
    decided = {m.recipient: m for m in db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "voucher.decided"))}
    assert decided[applicant.email].subject == "您的科技创新券申请已批准"
    assert decided[english.email].subject == "Your innovation voucher application was rejected"


def test_demo_seed_is_idempotent(app):
    from booking.accounts.demo import seed_accounts
    from booking.subsidies.demo import seed

    seed_accounts()
    seed("small")
    seed("small")
    vouchers = db.session.scalars(select(Voucher)).all()
    assert sorted((v.state, v.face_value_fen) for v in vouchers) == [
        ("issued", 5_000_000), ("issued", 15_000_000)]
    assert db.session.scalars(select(SubsidyPolicy)).all()[0].is_published


def test_non_local_enterprises_are_limited_to_their_share_of_the_pool(make, bureau):
    def admit_non_local(rules):
        rules["eligibility"]["registered_in_region"] = False
        rules["budget"]["non_local_share_cap"] = "0.001"  # 10,000 CNY of the 10 M pool
    _publish(bureau, admit_non_local)
    shenyang = make.user(organisation=make.enterprise(region_code="2101"))
    first = _apply(shenyang, amount_fen=800_000)
    services.approve_voucher(first, bureau)
    second = _apply(make.user(organisation=make.enterprise(region_code="2101")),
                    amount_fen=800_000)
    with pytest.raises(services.VoucherError) as refused:
        services.approve_voucher(second, bureau)
    assert "non_local_share" in [p.code for p in refused.value.problems]
    services.reject_voucher(second, bureau, "外地企业额度已用完")  # first come, first served
    local = _apply(make.user(organisation=make.enterprise()), amount_fen=800_000)
    services.approve_voucher(local, bureau)  # local firms are not counted against that share
    assert local.state == "issued"


def test_applications_are_decided_first_come_first_served(make, bureau):
    """Budget 400,000 CNY a year: 100,000 CNY released in Q1. A asks 60,000 CNY and arrives
    first, B asks 30,000 CNY, C asks 80,000 CNY."""
    _publish(bureau, lambda r: r["budget"].update(annual_pool_fen=40_000_000))
    with freeze_time("2026-02-01 02:00:00"):
        a, b, c = (_apply(make.user(organisation=make.enterprise()), amount)
                   for amount in (6_000_000, 3_000_000, 8_000_000))
        # A (60,000) fits the 100,000 left and waits: B may not jump the queue
        with pytest.raises(services.VoucherError) as refused:
            services.approve_voucher(b, bureau)
        assert [p.code for p in refused.value.problems] == ["earlier_waiting"]
        assert f"Application #{a.id} arrived earlier" in refused.value.problems[0].message
        services.approve_voucher(a, bureau)  # 40,000 left
        # C (80,000) waits but does not fit what is left: B, the first that fits, goes ahead
        services.approve_voucher(b, bureau)
        assert (a.state, b.state, c.state) == ("issued", "issued", "applied")


def test_the_bureau_may_choose_the_order_when_the_policy_says_so(make, bureau):
    _publish(bureau, lambda r: r["budget"].update(allocation="bureau_choice"))
    first = _apply(make.user(organisation=make.enterprise()), 1_000_000)
    later = _apply(make.user(organisation=make.enterprise()), 1_000_000)
    services.approve_voucher(later, bureau)
    assert (first.state, later.state) == ("applied", "issued")


def test_an_application_of_december_cannot_be_approved_in_january(sme_user, bureau):
    """DESIGN §6: a quota lives in the year it was granted. Applied on 2026-12-20, decided on
    2027-01-05 (before the daily job wrote the lapse): refused, nothing is committed against
    either year's budget, and the application still lapses with its notice."""
    with freeze_time("2026-12-20 02:00:00"):
        pending = _apply(sme_user)
    with freeze_time("2027-01-05 02:00:00"):
        with pytest.raises(services.VoucherError) as refused:
            services.approve_voucher(pending, bureau)
        assert [p.code for p in refused.value.problems] == ["lapsed"]
        assert refused.value.http_status == 409
        assert pending.state == "applied" and pending.face_value_fen == 0
        assert db.session.get(VoucherBudget, 2026).committed_fen == 0
        assert db.session.get(VoucherBudget, 2027) is None
        assert services.expire_vouchers() == 1 and pending.state == "expired"


def test_applications_past_the_review_deadline_are_flagged_and_reminded(make, bureau, app):
    """review_sla_days = 5: applied Monday 2 March 10:00, overdue from Saturday 7 March
    10:00:01; the daily reminder tells bureau staff, in their language."""
    with freeze_time("2026-03-02 02:00:00"):
        voucher = _apply(make.user(organisation=make.enterprise()))
    with freeze_time("2026-03-07 02:00:00"):
        assert services.overdue_applications() == []
        assert services.remind_overdue() == 0
    with freeze_time("2026-03-07 02:00:01"):
        assert services.overdue_applications() == [voucher]
        result = app.test_cli_runner().invoke(args=["vouchers", "remind"])
        assert "1 application(s) overdue" in result.output
    [mail] = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "voucher.overdue")).all()
    assert mail.recipient == bureau.email and f"#{voucher.id}" in mail.body
    assert "审核期限" in mail.subject


def test_a_shorter_review_deadline_flags_sooner(make, bureau):
    _publish(bureau, lambda r: r["oversight"].update(review_sla_days=1))
    with freeze_time("2026-03-02 02:00:00"):
        voucher = _apply(make.user(organisation=make.enterprise()))
    with freeze_time("2026-03-03 02:00:01"):
        assert services.overdue_applications() == [voucher]
