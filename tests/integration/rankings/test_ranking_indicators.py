"""Indicators from real rows, against hand-computed expectations (period 2026Q3: 92 days)."""
from datetime import date, timedelta

import pytest

from booking.core.db import utc
from booking.extensions import db
from booking.metering.models import UsageSession
from booking.rankings import indicators
from booking.rankings.policy import default_rules
from booking.rankings.rules import parse_period
from tests.moments import WEDNESDAY_15_JUL_9AM

Q3 = parse_period("2026Q3")  # 2026-06-30 16:00 UTC .. 2026-09-30 16:00 UTC
RULES = default_rules()


@pytest.fixture
def world(make):
    uni = make.organisation(name_zh="甲大学")
    other_uni = make.organisation(name_zh="乙大学")
    sme = make.enterprise(name_zh="小企业")
    w = {"uni": uni, "other_uni": other_uni, "sme": sme,
         "staff": make.user(organisation=uni), "sme_user": make.user(organisation=sme),
         "academic": make.user(organisation=other_uni),
         "manager": make.user(role="lab_manager", organisation=uni)}
    w["i1"] = make.instrument(organisation=uni, purchase_date=date(2020, 1, 1))
    w["i2"] = make.instrument(organisation=uni, purchase_date=date(2026, 8, 1),
                              category="special_testing",
                              info_updated_at=Q3.end - timedelta(days=455))
    w["i4"] = make.instrument(organisation=uni, purchase_date=date(2020, 1, 1), is_public=False)
    make.instrument(organisation=uni, original_value_fen=1_000_000)          # small: out
    make.instrument(organisation=uni, status="retired", purchase_date=date(2020, 1, 1))
    make.instrument(organisation=uni, purchase_date=date(2026, 10, 5))      # after the period
    w["b1"] = make.instrument(organisation=other_uni, is_public=False,          # red flag
                              purchase_date=date(2021, 3, 1))
    make.instrument(organisation=sme)                                        # not a provider
    return w


def test_every_indicator_of_an_institution(make, world):
    w = world
    make.usage_session(w["i1"], w["staff"], WEDNESDAY_15_JUL_9AM, minutes=10 * 60)
    make.usage_session(w["i1"], w["sme_user"], WEDNESDAY_15_JUL_9AM + timedelta(days=1), minutes=20 * 60)
    # 7 h starting 2 h before the period: 5 h count
    make.usage_session(w["i1"], w["academic"], utc(2026, 6, 30, 14), minutes=7 * 60)
    make.usage_session(w["i2"], w["sme_user"], utc(2026, 8, 3, 1), minutes=4 * 60)
    make.usage_session(w["i1"], w["staff"], utc(2026, 10, 5, 1), minutes=60)   # after Q3
    voided = make.usage_session(w["i1"], w["staff"], WEDNESDAY_15_JUL_9AM + timedelta(days=5),
                                minutes=100 * 60)
    db.session.add(UsageSession(instrument_id=w["i1"].id, user_id=w["staff"].id,
                                customer_org_id=w["staff"].organisation_id,
                                started_at=voided.started_at, ended_at=voided.ended_at,
                                source="manager", corrects_id=voided.id, void=True))
    for n, hours in enumerate((2, 4, 30)):
        make.placed_booking(w["i1"], w["staff"], WEDNESDAY_15_JUL_9AM + timedelta(days=20 + 2 * n),
                            created_at=WEDNESDAY_15_JUL_9AM,
                            decided_at=WEDNESDAY_15_JUL_9AM + timedelta(hours=hours),
                            decided_by_id=w["manager"].id, minutes=30 * hours)
    make.placed_booking(w["i1"], w["staff"], WEDNESDAY_15_JUL_9AM + timedelta(days=40),
                        created_at=WEDNESDAY_15_JUL_9AM,
                        decided_at=WEDNESDAY_15_JUL_9AM + timedelta(hours=500))  # automatic: no decider
    done = [make.placed_booking(w["i1"], w["sme_user"], WEDNESDAY_15_JUL_9AM + timedelta(days=30 + n),
                                state="completed") for n in range(3)]
    make.rating(done[0], 5, created_at=WEDNESDAY_15_JUL_9AM)
    make.rating(done[1], 4, created_at=WEDNESDAY_15_JUL_9AM)
    make.rating(done[2], 1, created_at=utc(2026, 10, 2))                 # after Q3
    make.issued_invoice(w["i1"], w["sme"], 40_000, WEDNESDAY_15_JUL_9AM, voucher_fen=10_000)
    make.issued_invoice(w["i1"], w["uni"], 20_000, WEDNESDAY_15_JUL_9AM, state="paid")
    credited = make.issued_invoice(w["i1"], w["sme"], 9_000, utc(2026, 6, 1))  # before Q3
    make.issued_invoice(w["i1"], w["sme"], 5_000, WEDNESDAY_15_JUL_9AM, kind="credit_note", credits=credited)
    make.issued_invoice(w["i1"], w["sme"], 77_000, WEDNESDAY_15_JUL_9AM, state="void", voucher_fen=7_000)

    result = indicators.compute(Q3, RULES)

    assert set(result) == {w["uni"].id, w["other_uni"].id}
    values = result[w["uni"].id].values
    rated_i1, rated_i2 = 1400 * 92 / 365, 800 * 61 / 365
    value = 300_000_000 * (92 + 61 + 92) / 365
    assert values == pytest.approx({
        "open_rate": 2 / 3,
        "directory_quality": (0.6 + 0.6 * 0.5) / 2,
        "decision_speed": 4.0,
        "turnaround": None,  # no test order (see test_ranking_turnaround.py)
        "effective_hours": (35 / rated_i1 + 4 / rated_i2 + 0) / 3,
        "idle_rate": 1 / 3,
        "outcomes": 1 / 3,
        "external_share": 29 / 39,
        "sme_reach": 10 / 3,
        "user_rating": 4.5,
        "external_income": (20_000 + 1.5 * (40_000 - 5_000)) / value,
    })
    assert result[w["uni"].id].flags == ()
    assert result[w["uni"].id].facts == {"instruments": 3, "listed": 2, "hours": 39.0,
                                         "external_clients": 2, "sme_clients": 1}


def test_institution_with_nothing_listed_is_flagged_and_empty(world):
    other = indicators.compute(Q3, RULES)[world["other_uni"].id]
    assert other.flags == ("no_listed_instruments",)
    assert other.values == {"open_rate": 0.0, "directory_quality": None, "decision_speed": None,
                            "turnaround": None, "effective_hours": 0.0, "idle_rate": 1.0, "outcomes": 0.0,
                            "external_share": None, "sme_reach": 0.0, "user_rating": None,
                            "external_income": 0.0}


def test_empty_database_period(app):
    assert indicators.compute(parse_period("2001"), RULES) == {}


def test_drill_down_lists_instruments_and_external_clients(make, world):
    w = world
    make.usage_session(w["i1"], w["sme_user"], WEDNESDAY_15_JUL_9AM, minutes=120)
    make.usage_session(w["i1"], w["academic"], WEDNESDAY_15_JUL_9AM + timedelta(days=1), minutes=60)
    make.usage_session(w["i2"], w["staff"], utc(2026, 8, 3, 1), minutes=30)
    used = indicators.instrument_usage(w["uni"].id, Q3, RULES)
    assert [(i.id, i.hours) for i in used] == [(w["i1"].id, pytest.approx(3)),
                                               (w["i2"].id, pytest.approx(0.5)),
                                               (w["i4"].id, 0.0)]
    clients = indicators.external_clients(w["uni"].id, Q3, RULES["min_original_value_fen"])
    assert [(org.id, pytest.approx(hours)) for org, hours in clients] == [
        (w["sme"].id, 2), (w["other_uni"].id, 1)]


def test_directory_sql_covers_the_catalogue_completeness_fields():
    from booking.instruments.rules import COMPLETENESS_FIELDS

    assert set(indicators.DIRECTORY_FILLED) == {key for key, _weight in COMPLETENESS_FIELDS}


def test_directory_sql_scores_as_the_catalogue_does(make):
    """The rankings' SQL and the lab console's Python give every instrument the same score: a
    laboratory named in English only counts, a contact needs a name and a way to reach them."""
    from sqlalchemy import select

    from booking.instruments import directory
    from booking.instruments.models import Instrument
    from booking.instruments.rules import COMPLETENESS_FIELDS

    made = [make.instrument(), make.instrument(lab="", lab_en="Testing Center"),
            make.instrument(lab="", lab_en=""), make.instrument(contact_name="张工"),
            make.instrument(contact_name="张工", contact_phone="0411-1"),
            make.instrument(contact_phone="0411-1"), make.instrument(hours=None)]
    sql = dict(db.session.execute(select(Instrument.id, indicators.FILLED_WEIGHT)).all())
    for instrument in made:
        values = directory.completeness_values(instrument, bool(instrument.rates),
                                               bool(instrument.opening_hours))
        assert sql[instrument.id] == sum(w for key, w in COMPLETENESS_FIELDS if values[key]), \
            instrument.id
    assert sql[made[1].id] == sql[made[0].id] > sql[made[2].id]
