"""The turnaround indicator on the pages: the policy editor's round trip, the scorecard and
the dashboard, and stored policies and snapshots from before the indicator."""
import copy
import re
from datetime import date

import pytest

from booking.extensions import db
from booking.rankings import services
from tests.rankings import used_in_the_period

EN = {"Accept-Language": "en"}


@pytest.fixture
def bureau(make, login):
    user = make.user(role="bureau_staff", locale="en")  # English labels, before and after
    login(user)                                            # the translations are merged
    return user


def _field(page: str, name: str) -> str:
    return re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1)


def _shown(page: str) -> dict:
    """The editor's fields as a browser would post them back."""
    return dict(re.findall(r'name="((?:weight|target)_\w+)"[^>]*value="([^"]*)"', page))


def _without_turnaround(rules: dict) -> dict:
    rules = copy.deepcopy(rules)
    del rules["indicators"]["turnaround"]
    rules["indicators"]["decision_speed"]["weight"] = 6
    return rules


def test_policy_editor_round_trip_of_turnaround(client, bureau):
    page = client.get("/bureau/rankings/policy", headers=EN).get_data(as_text=True)
    assert "Test turnaround" in page
    assert _field(page, "weight_turnaround") == "2" and _field(page, "weight_decision_speed") == "4"
    assert float(_field(page, "target_turnaround")) == 120
    data = _shown(page) | {"weight_decision_speed": "3", "weight_turnaround": "3",
                           "target_turnaround": "96"}
    assert client.post("/bureau/rankings/policy", data=data).status_code == 302
    draft = services.draft_policy()
    assert draft.rules["indicators"]["turnaround"] == {"area": "organisation", "weight": 3,
                                                       "target_hours": 96}
    page = client.get("/bureau/rankings/policy", headers=EN).get_data(as_text=True)
    assert _field(page, "weight_turnaround") == "3" and float(_field(page, "target_turnaround")) == 96
    refused = client.post("/bureau/rankings/policy", data=data | {"target_turnaround": "0"})
    assert refused.status_code == 422 and "policy-problems" in refused.get_data(as_text=True)
    assert client.post("/bureau/rankings/policy/publish").status_code == 302
    assert services.current_policy().rules["indicators"]["turnaround"]["target_hours"] == 96


def test_the_editor_shows_turnaround_of_a_version_stored_before_it(client, bureau):
    policy = services.current_policy()
    policy.rules = _without_turnaround(policy.rules)
    db.session.commit()
    page = client.get("/bureau/rankings/policy", headers=EN).get_data(as_text=True)
    assert _field(page, "weight_turnaround") == "0" and _field(page, "weight_decision_speed") == "6"
    assert client.post("/bureau/rankings/policy", data=_shown(page)).status_code == 302
    assert services.draft_policy().rules["indicators"]["turnaround"]["weight"] == 0


@pytest.fixture
def ranked(make):
    uni = make.organisation(name_zh="测试理工大学")
    make.instrument(organisation=uni, purchase_date=date(2020, 1, 1))
    snapshot = services.compute_snapshot("2026Q3")
    db.session.commit()
    return uni, snapshot


def test_scorecard_and_dashboard_show_turnaround_as_an_indicator(client, bureau, ranked):
    uni, _snapshot = ranked
    page = client.get(f"/rankings/2026Q3/institutions/{uni.id}", headers=EN).get_data(
        as_text=True)
    row = re.search(r'<tr id="indicator-turnaround">.*?</tr>', page, re.S).group(0)
    assert "Test turnaround" in row and "120.0 h" in row and "2.00 / 2" in row
    assert "shown, not scored" not in page
    dashboard = client.get("/bureau/rankings?sort=turnaround", headers=EN)
    assert dashboard.status_code == 200 and "Test turnaround" in dashboard.get_data(as_text=True)
    header = client.get("/rankings/2026Q3/export.csv").get_data().decode("utf-8-sig")
    assert "Test turnaround" in header.splitlines()[0]


def test_a_snapshot_stored_before_turnaround_still_shows_and_exports(client, bureau, ranked):
    uni, snapshot = ranked
    snapshot.rules = _without_turnaround(snapshot.rules)
    rows = copy.deepcopy(snapshot.rows)
    for row in rows:
        del row["indicators"]["turnaround"], row["points"]["turnaround"]
    snapshot.rows = rows
    used_in_the_period(uni)
    services.publish_snapshot(snapshot, bureau)
    db.session.commit()
    page = client.get(f"/rankings/2026Q3/institutions/{uni.id}", headers=EN)
    assert page.status_code == 200 and "indicator-turnaround" not in page.get_data(as_text=True)
    for url in ("/bureau/rankings", "/bureau/rankings?sort=turnaround", "/rankings",
                "/api/v1/rankings?period=2026Q3"):
        assert client.get(url, headers=EN).status_code == 200, url
    header, _row = client.get("/rankings/2026Q3/export.csv", headers=EN).get_data().decode(
        "utf-8-sig").splitlines()
    assert "Decision speed" in header and "turnaround" not in header.lower()
    assert len(header.split(",")) == 6 + 2 * 10  # its ten indicators, values and points
