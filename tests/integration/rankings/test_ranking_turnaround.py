"""The turnaround indicator from real test orders (送样), and policy versions stored before it."""
import io
from datetime import date, timedelta

import pytest
from freezegun import freeze_time
from werkzeug.datastructures import FileStorage

from booking.extensions import db
from booking.orders import files
from booking.orders import services as orders
from booking.rankings import indicators, services
from booking.rankings.models import RankingPolicy
from booking.rankings.policy import default_rules, with_settings
from booking.rankings.rules import parse_period, rank
from tests.moments import MONDAY_7_DEC_9AM

Q4 = parse_period("2026Q4")
T = MONDAY_7_DEC_9AM
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def lab(make):
    return make.testing_lab(purchase_date=date(2020, 1, 1))


@pytest.fixture
def customer(make):
    return make.user(organisation=make.enterprise())


def _received(make, lab, customer, slot: int):
    """An order accepted and received at T, its instrument time booked for T + slot h 30 min."""
    order = make.order(lab.instrument, customer)
    orders.accept_order(order, lab.manager)
    orders.receive_order(order, lab.manager, condition="sealed")
    start = T + timedelta(hours=slot, minutes=30)
    orders.schedule_booking(order, lab.manager, start=start, end=start + timedelta(hours=1))
    db.session.flush()
    return order, start


def _two_reported_and_one_in_testing(make, lab, customer, clock):
    """All received at T; one at a time on the instrument, reports ready 48 h and 96 h after
    the receipt; the third order is still testing."""
    runs = [_received(make, lab, customer, slot) for slot in (0, 50, 100)]
    for (order, start), hours in zip(runs, (48, 96, None), strict=True):
        clock.move_to(start)
        orders.start_testing(order, lab.manager)
        if hours is not None:
            clock.move_to(T + timedelta(hours=hours))
            files.store(order, FileStorage(io.BytesIO(PDF), "report.pdf",
                                           content_type="application/pdf"), "report",
                        lab.manager)
            orders.complete_with_report(order, lab.manager, "LAB")
    db.session.flush()
    return [order for order, _start in runs]


def test_median_hours_from_receipt_to_report_and_the_points(make, lab, customer):
    quiet = make.organisation()
    make.instrument(organisation=quiet, purchase_date=date(2020, 1, 1))
    with freeze_time(T) as clock:
        reported = _two_reported_and_one_in_testing(make, lab, customer, clock)
        assert [o.state for o in reported] == ["report_ready", "report_ready", "testing"]
        facts = indicators.compute(Q4, default_rules())
        # median of 48 h and 96 h; the order still testing has no report and does not count
        assert facts[lab.organisation.id].values["turnaround"] == pytest.approx(72.0)
        assert facts[quiet.id].values["turnaround"] is None  # no test order: nothing waited
        before = indicators.compute(Q4.previous(), default_rules())  # reports of Q4 only
        assert before[lab.organisation.id].values["turnaround"] is None

        snapshot = services.compute_snapshot("2026Q4")
    ours, theirs = snapshot.row_for(lab.organisation.id), snapshot.row_for(quiet.id)
    # 72 h is within the 120 h target: full marks, 2 points of the organisation area
    assert ours["indicators"]["turnaround"] == 72.0 and ours["points"]["turnaround"] == 2.0
    assert theirs["indicators"]["turnaround"] is None and theirs["points"]["turnaround"] == 2.0
    # against a 24 h target: 2 x (240 - 72) / (240 - 24) = 2 x 168 / 216 = 1.56 points
    strict = with_settings(default_rules(), {}, {"turnaround": 24})
    row = next(r for r in rank(facts, strict) if r.org_id == lab.organisation.id)
    assert row.points["turnaround"] == 1.56


def _store_version_1() -> RankingPolicy:
    """Make the published version look as it was stored before the turnaround indicator."""
    policy = services.current_policy()
    rules = default_rules()
    del rules["indicators"]["turnaround"]
    rules["indicators"]["decision_speed"]["weight"] = 6
    policy.rules = rules
    db.session.flush()
    return policy


@freeze_time("2027-01-08 02:00:00")
def test_a_policy_stored_before_turnaround_scores_it_with_weight_0(make, lab):
    _store_version_1()
    snapshot = services.compute_snapshot("2026Q4")
    row = snapshot.row_for(lab.organisation.id)
    assert snapshot.rules["indicators"]["turnaround"] == {"area": "organisation", "weight": 0,
                                                          "target_hours": 120}
    assert row["points"]["turnaround"] == 0.0 and row["indicators"]["turnaround"] is None
    assert row["points"]["decision_speed"] == 6.0  # the old weight, no request to decide
    assert "turnaround" not in services.current_policy().rules["indicators"]  # unchanged


def test_a_draft_from_an_old_version_gets_turnaround(make):
    bureau = make.user(role="bureau_staff")
    _store_version_1()
    draft = services.save_draft({"decision_speed": 3, "turnaround": 3}, {"turnaround": 96},
                                bureau)
    assert draft.rules["indicators"]["turnaround"] == {"area": "organisation", "weight": 3,
                                                       "target_hours": 96}
    services.publish_policy(draft, bureau)
    assert services.current_policy().rules["indicators"]["turnaround"]["weight"] == 3


def test_a_draft_saved_before_turnaround_is_completed_when_published(make):
    bureau = make.user(role="bureau_staff")
    rules = default_rules()
    del rules["indicators"]["turnaround"]
    rules["indicators"]["decision_speed"]["weight"] = 6
    draft = RankingPolicy(version=2, rules=rules, created_by_id=bureau.id)
    db.session.add(draft)
    db.session.flush()
    services.publish_policy(draft, bureau)
    assert draft.is_published and draft.rules["indicators"]["turnaround"]["weight"] == 0
