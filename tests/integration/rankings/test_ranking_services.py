"""Snapshots, reward pools, policy versions and ratings through the services."""
from datetime import date, timedelta

import pytest
from freezegun import freeze_time

from booking.core.db import utc
from booking.extensions import db
from booking.rankings import services
from booking.rankings.models import RankingPolicy
from tests.moments import WEDNESDAY_15_JUL_9AM


@pytest.fixture
def bureau(make):
    return make.user(role="bureau_staff")


@pytest.fixture
def two_universities(make):
    busy, quiet = make.organisation(name_zh="忙大学"), make.organisation(name_zh="闲大学")
    busy_instrument = make.instrument(organisation=busy, purchase_date=date(2020, 1, 1))
    make.instrument(organisation=quiet, purchase_date=date(2020, 1, 1))
    outsider = make.user(organisation=make.enterprise())
    for day in range(10):
        make.usage_session(busy_instrument, outsider, WEDNESDAY_15_JUL_9AM + timedelta(days=day), minutes=480)
    return busy, quiet


@freeze_time("2026-10-08 02:00:00")
def test_compute_stores_rows_with_the_policy_version(bureau, two_universities):
    busy, quiet = two_universities
    snapshot = services.compute_snapshot("2026q3", bureau)
    assert snapshot.period == "2026Q3" and snapshot.policy_version == 1
    assert snapshot.rules["indicators"]["effective_hours"]["weight"] == 25
    ours = [row for row in snapshot.rows if row["org_id"] in (busy.id, quiet.id)]
    assert [row["org_id"] for row in ours] == [busy.id, quiet.id]
    assert ours[0]["score"] > ours[1]["score"]
    assert ours[0]["indicators"]["external_share"] == 1.0
    assert snapshot.computed_at == utc(2026, 10, 8, 2) and not snapshot.is_published


def test_recomputing_replaces_an_unpublished_snapshot(bureau, two_universities, make):
    first = services.compute_snapshot("2026Q3", bureau)
    first_id, count = first.id, len(first.rows)
    make.instrument(purchase_date=date(2020, 1, 1))  # a new university appears
    second = services.compute_snapshot("2026Q3", bureau)
    assert second.id == first_id and len(second.rows) == count + 1


def test_published_snapshot_never_changes(bureau, two_universities):
    snapshot = services.compute_snapshot("2026Q3", bureau)
    services.publish_snapshot(snapshot, bureau)
    rows = list(snapshot.rows)
    with pytest.raises(services.RankingError, match="2026Q3"):
        services.compute_snapshot("2026Q3", bureau)
    with pytest.raises(services.RankingError):
        services.publish_snapshot(snapshot, bureau)
    with pytest.raises(services.RankingError):
        services.set_reward_pool("2026Q3", 100, bureau)
    assert snapshot.rows == rows and services.latest_published() == snapshot


@freeze_time("2027-01-10 02:00:00")
def test_reward_pool_is_split_and_resplit_exactly(bureau, make):
    for n in range(7):  # 7 units: quotas allow 1 excellent and 2 good
        org = make.organisation()
        instrument = make.instrument(organisation=org, purchase_date=date(2020, 1, 1))
        outsider = make.user(organisation=make.enterprise())
        for day in range(n * 24):  # up to 1,440 hours: a year's rated hours
            make.usage_session(instrument, outsider, WEDNESDAY_15_JUL_9AM + timedelta(days=day), minutes=600)
        done = make.placed_booking(instrument, outsider, utc(2026, 9, 20), state="completed")
        make.rating(done, 5, created_at=WEDNESDAY_15_JUL_9AM)
        make.issued_invoice(instrument, outsider.organisation, 20_000_000, WEDNESDAY_15_JUL_9AM)
    services.set_reward_pool("2026", 1_000_001, bureau)
    from booking.core.audit import AuditEvent

    [event] = db.session.query(AuditEvent).filter_by(action="ranking.reward_pool_set")
    assert (event.data["before"], event.data["after"]) == (0, 1_000_001)  # there was no pool
    snapshot = services.compute_snapshot("2026", bureau)
    rewarded = [row for row in snapshot.rows if row["reward_fen"]]
    assert sorted(row["grade"] for row in rewarded) == ["excellent", "good", "good"]
    assert sum(row["reward_fen"] for row in snapshot.rows) + snapshot.reward_remainder_fen \
        == 1_000_001
    assert max(row["reward_fen"] for row in rewarded) <= 150_000
    services.set_reward_pool("2026", 0, bureau)
    assert snapshot.reward_pool_fen == 0 and snapshot.reward_remainder_fen == 0
    assert all(row["reward_fen"] == 0 for row in snapshot.rows)


def test_a_period_not_begun_is_not_ranked_and_one_not_ended_not_published(bureau,
                                                                           two_universities):
    with freeze_time("2026-08-15 02:00:00"), pytest.raises(services.RankingError) as refused:
        services.compute_snapshot("2099", bureau)
    assert refused.value.problems[0].code == "not_started"
    with freeze_time("2026-08-15 02:00:00"):  # within 2026Q3: a preview of part of it
        preview = services.compute_snapshot("2026Q3", bureau)
        with pytest.raises(services.RankingError) as refused:
            services.publish_snapshot(preview, bureau)
    assert refused.value.problems[0].code == "computed_early" and not preview.is_published
    with freeze_time("2026-10-08 02:00:00"):  # computed again once it ended: publishable
        services.publish_snapshot(services.compute_snapshot("2026Q3", bureau), bureau)
    assert preview.is_published


def test_bad_period_is_a_readable_error(bureau):
    with pytest.raises(services.RankingError, match="YYYYQn"):
        services.compute_snapshot("2026Q7", bureau)


def test_policy_draft_is_validated_then_published_and_used(bureau, two_universities):
    with pytest.raises(services.PolicyRefused) as refused:
        services.save_draft({"open_rate": 50}, {}, bureau)
    assert [p.code for p in refused.value.problems] == ["weights_sum"]
    draft = services.save_draft({"open_rate": 18, "effective_hours": 15}, {}, bureau)
    assert draft.version == 2 and not draft.is_published
    again = services.save_draft({"open_rate": 20, "effective_hours": 13}, {}, bureau)
    assert again is draft and draft.rules["indicators"]["open_rate"]["weight"] == 20
    assert services.current_policy().version == 1
    services.publish_policy(draft, bureau)
    assert services.current_policy() == draft
    with pytest.raises(services.RankingError):
        services.publish_policy(draft, bureau)
    assert services.compute_snapshot("2026Q3", bureau).policy_version == 2
    assert db.session.get(RankingPolicy, 1).rules["indicators"]["open_rate"]["weight"] == 8


def test_a_reward_pool_is_budgeted_at_most_for_next_years_periods(bureau):
    """Reported: a pool for 2999 was accepted (a year typed wrong parks money out of sight)."""
    with freeze_time("2026-12-07"):
        services.set_reward_pool("2027", 100, bureau)  # next year's budget: fine
        with pytest.raises(services.RankingError) as refused:
            services.set_reward_pool("2999", 100, bureau)
    assert refused.value.code == "too_far"
    assert services.reward_pool_fen("2027") == 100 and services.reward_pool_fen("2999") == 0


def test_rewards_go_with_the_annual_ranking_not_the_quarters(bureau):
    """Reported: each quarterly ranking carried a reward pool of its own, so a year paid out
    four times (policy: period = "year", quarters allowed for monitoring)."""
    with freeze_time("2026-12-07"), pytest.raises(services.RankingError) as refused:
        services.set_reward_pool("2026Q3", 100, bureau)
    assert refused.value.code == "not_rewarded" and services.reward_pool_fen("2026Q3") == 0


def test_a_ranking_is_not_published_past_a_flag_it_does_not_count(bureau, two_universities):
    """Reported: a false-data flag raised after the computation was published over: the
    flagged unit kept its grade and its reward."""
    org = two_universities[0]  # the busy one: graded well without the flag
    with freeze_time("2026-10-08 02:00:00"):
        snapshot = services.compute_snapshot("2026Q3", bureau)
    with freeze_time("2026-10-08 03:00:00"):
        flag = services.raise_false_data(org, "2026Q3", "伪造使用记录", bureau)
        with pytest.raises(services.RankingError) as refused:
            services.publish_snapshot(snapshot, bureau)
    assert refused.value.code == "flags_changed" and not snapshot.is_published
    with freeze_time("2026-10-08 04:00:00"):
        snapshot = services.compute_snapshot("2026Q3", bureau)  # the flag counts now
        services.publish_snapshot(snapshot, bureau)
    row = next(r for r in snapshot.rows if r["org_id"] == org.id)
    assert row["grade"] == "poor" and flag.is_active
    with freeze_time("2026-10-08 05:00:00"), pytest.raises(services.RankingError) as refused:
        services.raise_false_data(org, "2027Q1", "typed the wrong year", bureau)
    assert refused.value.code == "not_started"


def test_a_quarters_false_data_counts_in_its_years_ranking(bureau, two_universities):
    """Reported: a flag on 2026Q3 left the 2026 ranking, the one that pays rewards, unflagged."""
    busy = two_universities[0]
    with freeze_time("2027-01-10 02:00:00"):
        year = services.compute_snapshot("2026", bureau)
    with freeze_time("2027-01-10 02:30:00"):
        services.raise_false_data(busy, "2026Q3", "伪造第三季度使用记录", bureau)
    with freeze_time("2027-01-10 03:00:00"):
        with pytest.raises(services.RankingError) as refused:
            services.publish_snapshot(year, bureau)
        assert refused.value.code == "flags_changed"
        year = services.compute_snapshot("2026", bureau)
    row = next(r for r in year.rows if r["org_id"] == busy.id)
    assert row["grade"] == "poor" and "false_data" in row["flags"]
    assert [f.period for f in services.flags_counting_for("2026")] == ["2026Q3"]
