"""Rankings pages: who may do what, and what the pages show."""
import csv
import io
import re
from datetime import date, timedelta

import pytest
from freezegun import freeze_time
from openpyxl import load_workbook
from sqlalchemy import select

from booking.bookings.models import Rating
from booking.extensions import db
from booking.instruments.models import Instrument
from booking.rankings import services
from booking.rankings.models import RankingSnapshot
from tests.moments import WEDNESDAY_15_JUL_9AM
from tests.web.matrix import audit_actions


@pytest.fixture
def ranked(make):
    """A university with a used instrument, its manager, and an unpublished 2026Q3 ranking."""
    uni = make.organisation(name_zh="测试理工大学")
    instrument = make.instrument(organisation=uni, purchase_date=date(2020, 1, 1))
    sme_user = make.user(organisation=make.enterprise(name_zh="测试小企业"))
    for day in range(5):
        make.usage_session(instrument, sme_user, WEDNESDAY_15_JUL_9AM + timedelta(days=day), minutes=300)
    make.instrument(organisation=uni, purchase_date=date(2020, 1, 1), name_zh="闲置光谱仪")
    other = make.organisation(name_zh="别的大学")
    make.instrument(organisation=other, purchase_date=date(2020, 1, 1))
    snapshot = services.compute_snapshot("2026Q3")
    db.session.commit()
    return {"uni": uni, "other": other, "snapshot": snapshot,
            "manager": make.user(role="lab_manager", organisation=uni),
            "other_manager": make.user(role="lab_manager", organisation=other)}


BUREAU_ONLY = [("get", "/bureau/rankings"), ("post", "/bureau/rankings/compute"),
               ("post", "/bureau/rankings/2026Q3/publish"), ("post", "/bureau/rankings/2026Q3/pool"),
               ("get", "/bureau/rankings/policy"), ("post", "/bureau/rankings/policy"),
               ("post", "/bureau/rankings/policy/publish"), ("post", "/bureau/rankings/flags"),
               ("post", "/bureau/rankings/flags/1/clear")]


@pytest.mark.parametrize("role", ["member", "student", "lab_manager", "finance"])
def test_only_bureau_staff_compute_publish_and_edit(client, make, login, role):
    uni = make.organisation()
    make.instrument(organisation=uni, purchase_date=date(2020, 1, 1))
    snapshot = services.compute_snapshot("2026Q3")
    login(make.user(role=role, organisation=uni))
    for method, url in BUREAU_ONLY:
        response = getattr(client, method)(url, data={"period": "2026Q3", "amount_yuan": "1",
                                                      "org_id": uni.id, "reason": "x"})
        assert response.status_code == 403, url
    assert not snapshot.is_published and snapshot.reward_pool_fen == 0
    assert services.draft_policy() is None and services.flags_of("2026Q3") == []


def test_anonymous_is_sent_to_log_in(client, ranked):
    response = client.get("/bureau/rankings")
    assert response.status_code == 302 and "/login" in response.location


def test_bureau_computes_reviews_and_publishes(client, make, login, ranked):
    login(make.user(role="bureau_staff"))
    response = client.post("/bureau/rankings/compute", data={"period": "2026q3"})
    assert response.status_code == 302 and "period=2026Q3" in response.location
    page = client.get("/bureau/rankings?period=2026Q3&sort=external_share").get_data(as_text=True)
    assert "测试理工大学" in page and "chart-scores" in page and "未发布" in page
    # the chart reads as the column does, and says what above 100 % is
    assert "各单位有效机时（占额定机时）" in page and "超过 100%：使用超出额定机时" in page
    other = client.get("/bureau/rankings?period=2025Q1").get_data(as_text=True)
    assert "尚未计算 2025Q1 的排名：当前显示 2026Q3。" in other  # not silently another
    assert 'id="monitoring-only"' in page and 'id="pool-form"' not in page  # a quarter
    assert client.post("/bureau/rankings/2026Q3/pool",
                       data={"amount_yuan": "10000.50"}).status_code == 302
    assert ranked["snapshot"].reward_pool_fen == 0
    assert client.post("/bureau/rankings/2026Q3/publish").status_code == 302
    assert ranked["snapshot"].is_published
    # published: recomputing is refused with a message, the page still works
    client.post("/bureau/rankings/compute", data={"period": "2026Q3"})
    assert "已发布" in client.get("/bureau/rankings?period=2026Q3").get_data(as_text=True)


def test_a_period_with_no_data_is_not_published(client, make, login, ranked):
    """Reported: 2025, before the platform, was computed and published, grading every
    institution 较差 (poor) in public: the grade that brings criticism and cut funds."""
    login(make.user(role="bureau_staff"))
    client.post("/bureau/rankings/compute", data={"period": "2025"})
    page = client.get("/bureau/rankings?period=2025").get_data(as_text=True)
    assert 'id="no-data"' in page  # said before anyone tries to publish it
    assert 'id="no-data"' not in client.get("/bureau/rankings?period=2026Q3").get_data(
        as_text=True)
    refused = client.post("/bureau/rankings/2025/publish", follow_redirects=True)
    assert "没有任何预约或使用记录" in refused.get_data(as_text=True)
    from booking.rankings.services import get_snapshot
    assert not get_snapshot("2025").is_published


def test_bad_period_is_a_message_not_an_error(client, make, login):
    login(make.user(role="bureau_staff"))
    response = client.post("/bureau/rankings/compute", data={"period": "2026Q9"},
                           follow_redirects=True)
    assert response.status_code == 200
    assert "YYYYQn" in response.get_data(as_text=True)
    assert client.get("/rankings/20X6/institutions/1").status_code == 404


def test_public_page_shows_only_published_rankings(client, ranked, make):
    assert "测试理工大学" not in client.get("/rankings").get_data(as_text=True)
    assert client.get("/rankings/2026Q3/export.csv").status_code == 404
    services.publish_snapshot(ranked["snapshot"], make.user(role="bureau_staff"))
    db.session.commit()
    page = client.get("/rankings").get_data(as_text=True)
    assert "测试理工大学" in page and "2026Q3" in page
    # the blurb names the areas the table shows (it listed five things for three columns)
    assert "总分由表中 3 个方面的得分相加：组织管理、运行使用、" in page


def test_a_reader_of_english_reads_the_institutions_english_names(client, ranked, make, login):
    ranked["uni"].name_en, ranked["other"].name_en = "Test University of Technology", ""
    services.publish_snapshot(ranked["snapshot"], make.user(role="bureau_staff"))
    db.session.commit()
    english = client.get("/rankings", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Test University of Technology" in english and "测试理工大学" not in english
    assert "别的大学" in english  # no English name: the Chinese one
    assert "测试理工大学" in client.get("/rankings").get_data(as_text=True)
    login(make.user(role="bureau_staff", locale="en"))
    dashboard = client.get("/bureau/rankings").get_data(as_text=True)
    table = dashboard.split('id="ranking-table"')[1].split("</table>")[0]
    charts = dashboard.split('id="chart-data"')[1].split("</script>")[0]
    for shown in (table, charts):
        assert "Test University of Technology" in shown and "测试理工大学" not in shown


def test_an_english_scorecard_names_the_institution_and_its_instruments_in_english(
        client, ranked, make, login):
    ranked["uni"].name_en = "Test University of Technology"
    idle = db.session.scalars(select(Instrument).where(Instrument.name_zh == "闲置光谱仪")).one()
    idle.name_en = "Idle spectrometer"
    db.session.commit()
    login(make.user(role="bureau_staff", locale="en"))
    page = client.get(f"/rankings/2026Q3/institutions/{ranked['uni'].id}").get_data(as_text=True)
    title = page.split('id="scorecard-title">')[1].split("<")[0]
    instruments = page.split('id="instrument-table"')[1].split("</table>")[0]
    assert title == "Test University of Technology"
    assert "Idle spectrometer" in instruments and "闲置光谱仪" not in instruments
    login(make.user(role="bureau_staff"))  # a reader of Chinese: the Chinese names
    page = client.get(f"/rankings/2026Q3/institutions/{ranked['uni'].id}").get_data(as_text=True)
    assert 'id="scorecard-title">测试理工大学<' in page and "闲置光谱仪" in page


def test_a_ranking_computed_before_its_period_ended_says_so(client, make, login, ranked):
    with freeze_time("2026-12-06 02:00:00"):  # Q3 is over, Q4 under way
        login(make.user(role="bureau_staff"))
        assert 'id="computed-early"' not in client.get("/bureau/rankings?period=2026Q3"
                                                       ).get_data(as_text=True)
        services.compute_snapshot("2026Q4")
        db.session.commit()
        page = client.get("/bureau/rankings?period=2026Q4").get_data(as_text=True)
        assert 'id="publish-form"' in client.get("/bureau/rankings?period=2026Q3"
                                                 ).get_data(as_text=True)
    assert 'id="computed-early"' in page
    assert 'id="publish-form"' not in page  # a preview is not offered for publishing


def test_exports(client, ranked, make, login):
    login(make.user(role="bureau_staff"))
    csv_text = client.get("/rankings/2026Q3/export.csv").get_data().decode("utf-8-sig")
    # in the reader's language, money in yuan (the header said reward_fen, a clerk read 15000000)
    header = csv_text.splitlines()[0]
    assert header.startswith("名次,单位编号,单位,等级,得分,奖励（元）") and "(pts)" not in header
    assert "测试理工大学" in csv_text
    assert "开放率（%）" in header and "审批时效（小时）" in header  # units, as the page shows them
    table = list(csv.reader(io.StringIO(csv_text)))
    column = table[0].index("开放率（%）")
    by_name = {row["org_name"]: row for row in ranked["snapshot"].rows}
    for line in table[1:]:  # the share in per cent, as the page shows it (0.5 was written)
        share = by_name[line[2]]["indicators"]["open_rate"]
        assert line[column] == ("" if share is None else str(round(100 * share, 1)))
    rewards = [line.split(",")[5] for line in csv_text.splitlines()[1:]]
    assert rewards and all(re.fullmatch(r"\d+\.\d\d", reward) for reward in rewards)  # yuan
    response = client.get("/rankings/2026Q3/export.xlsx")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet.title == "2026Q3" and sheet.max_row == len(ranked["snapshot"].rows) + 1
    assert client.get("/rankings/2026Q3/export.pdf").status_code == 404


@freeze_time("2027-01-10 02:00:00")
def test_the_public_page_says_how_the_pool_was_split(client, ranked, make, login):
    login(make.user(role="bureau_staff"))
    client.post("/bureau/rankings/compute", data={"period": "2026"})
    assert 'id="pool-form"' in client.get("/bureau/rankings?period=2026").get_data(as_text=True)
    client.post("/bureau/rankings/2026/pool", data={"amount_yuan": "1000000"})
    client.post("/bureau/rankings/2026/publish")
    page = client.get("/rankings").get_data(as_text=True)
    note = page.split('id="reward-note">', 1)[1].split("</p>", 1)[0]
    assert "奖励资金 ¥1,000,000.00" in note and "优秀、良好" in note
    assert "15%（¥150,000.00）" in note  # the policy's cap, in yuan
    year = services.get_snapshot("2026")
    assert {row["grade"] for row in year.rows} == {"poor"}
    assert year.reward_remainder_fen == 100_000_000  # nobody good enough
    assert "没有单位达到该等级，¥1,000,000.00 未分配" in note


@pytest.mark.parametrize(("rewards", "left", "says"), [
    ((150, 150), 700, "这些单位均已达到上限，¥7.00 未分配。"),  # both capped
    ((600, 400), 0, "封顶后多出的部分按同样比例分给其他单位。"),
])
def test_the_reward_note_says_what_became_of_the_rest(app, rewards, left, says):
    from types import SimpleNamespace

    from booking.rankings.policy import default_rules
    from booking.rankings.routes import _reward_note

    snapshot = SimpleNamespace(reward_pool_fen=1_000, reward_remainder_fen=left,
                               rules=default_rules(), rows=[{"reward_fen": r} for r in rewards])
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert _reward_note(snapshot).endswith(says)


def test_a_scorecard_says_what_utilisation_is_measured_against(client, ranked, make, login):
    login(make.user(role="bureau_staff"))
    page = client.get(f"/rankings/2026Q3/institutions/{ranked['uni'].id}").get_data(as_text=True)
    note = page.split('id="utilisation-note">', 1)[1].split("</p>", 1)[0]
    assert "每年 1400 小时" in note and "特殊类别 800 小时" in note and "100% 以上" in note


def test_the_public_ranking_links_the_scorecards_its_reader_may_open(client, login, ranked,
                                                                    make):
    uni, other = ranked["uni"], ranked["other"]
    services.publish_snapshot(ranked["snapshot"], None)
    db.session.commit()
    assert "scorecard-link" not in client.get("/rankings").get_data(as_text=True)  # anonymous
    login(ranked["manager"])
    page = client.get("/rankings").get_data(as_text=True)
    assert f'href="/rankings/2026Q3/institutions/{uni.id}"' in page
    assert f'href="/rankings/2026Q3/institutions/{other.id}"' not in page
    login(make.user(role="bureau_staff"))
    assert client.get("/rankings").get_data(as_text=True).count("scorecard-link") == 2


def test_manager_sees_only_their_own_scorecard(client, login, ranked, make):
    uni, other = ranked["uni"], ranked["other"]
    services.publish_snapshot(ranked["snapshot"], None)
    db.session.commit()
    login(ranked["manager"])
    response = client.get("/rankings/mine")
    assert response.location.endswith(f"/rankings/2026Q3/institutions/{uni.id}")
    page = client.get(response.location).get_data(as_text=True)
    assert "测试理工大学" in page and "what-would-raise" in page and "scorecard-facts" in page
    assert "闲置光谱仪" in page and "测试小企业" in page  # idle instrument, external client
    # the column counts instruments open for booking: "公开" (public) marked a public one
    # under maintenance ✗; and the gaps' colon is Chinese
    assert "<th>开放预约</th>" in page and "其中开放预约" in page and "<th>公开</th>" not in page
    assert "：最多可多得" in page
    assert client.get(f"/rankings/2026Q3/institutions/{other.id}").status_code == 403


def test_manager_cannot_see_an_unpublished_scorecard(client, login, ranked):
    login(ranked["manager"])
    assert client.get(f"/rankings/2026Q3/institutions/{ranked['uni'].id}").status_code == 404
    assert client.get("/rankings/mine").status_code == 302


def test_bureau_sees_any_scorecard(client, login, ranked, make):
    login(make.user(role="bureau_staff"))
    assert client.get(f"/rankings/2026Q3/institutions/{ranked['other'].id}").status_code == 200


def test_policy_form_shows_every_problem_then_saves_and_publishes(client, make, login):
    login(make.user(role="bureau_staff"))
    data = {f"weight_{name}": spec["weight"] for name, spec in
            services.current_policy().rules["indicators"].items()}
    data |= {f"target_{name}": spec.get("target", spec.get("target_hours")) for name, spec in
             services.current_policy().rules["indicators"].items()}
    response = client.post("/bureau/rankings/policy",
                           data=data | {"weight_open_rate": 30, "target_sme_reach": 0})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "122" in page and "policy-problems" in page
    assert "“服务中小企业”的目标值" in page and "sme_reach" not in page.split('id="policy-problems"')[1][:600]
    stars = client.post("/bureau/rankings/policy", data=data | {"target_user_rating": 1e9})
    assert stars.status_code == 422 and "不能高于 5" in stars.get_data(as_text=True)
    assert client.post("/bureau/rankings/policy",
                       data=data | {"weight_open_rate": 10, "weight_idle_rate": 3}
                       ).status_code == 302
    draft = services.draft_policy()
    assert draft.rules["indicators"]["open_rate"]["weight"] == 10
    assert client.post("/bureau/rankings/policy/publish").status_code == 302
    assert services.current_policy().version == draft.version


def test_rating_form_for_the_booker_of_a_completed_booking(client, make, login):
    user = make.user()
    instrument = make.instrument()
    done = make.placed_booking(instrument, user, WEDNESDAY_15_JUL_9AM, state="completed")
    pending = make.placed_booking(instrument, user, WEDNESDAY_15_JUL_9AM + timedelta(days=1))
    login(user)
    assert f"/bookings/{done.id}/rate" in client.get("/ratings").get_data(as_text=True)
    response = client.get(f"/bookings/{pending.id}/rate")
    assert response.status_code == 302
    response = client.post(f"/bookings/{done.id}/rate", data={"stars": "4", "comment": "好"})
    assert response.status_code == 302
    assert db.session.query(Rating).filter_by(booking_id=done.id).one().stars == 4
    assert "4" in client.get(f"/bookings/{done.id}/rate").get_data(as_text=True)
    assert client.post(f"/bookings/{done.id}/rate", data={"stars": "1"}).status_code == 200
    assert db.session.query(Rating).filter_by(booking_id=done.id).count() == 1


def test_nobody_rates_someone_elses_booking(client, make, login):
    done = make.placed_booking(make.instrument(), make.user(), WEDNESDAY_15_JUL_9AM, state="completed")
    login(make.user())
    assert client.get(f"/bookings/{done.id}/rate").status_code == 403
    assert client.post(f"/bookings/{done.id}/rate", data={"stars": "1"}).status_code == 403
    assert client.get("/bookings/999999/rate").status_code == 404
    assert db.session.query(Rating).count() == 0


def test_bad_star_count_is_refused(client, make, login):
    user = make.user()
    done = make.placed_booking(make.instrument(), user, WEDNESDAY_15_JUL_9AM, state="completed")
    login(user)
    assert client.post(f"/bookings/{done.id}/rate", data={"stars": "9"}).status_code == 200
    assert db.session.query(RankingSnapshot).count() >= 0
    assert db.session.query(Rating).count() == 0


def test_bureau_flags_false_data_and_clears_it(client, make, login, ranked):
    """The flagged university (the only one with use, so first) is graded poor and ranked
    last once recomputed; clearing it restores its place. Both are audited with reasons."""
    login(make.user(role="bureau_staff"))
    first = ranked["snapshot"].rows[0]
    assert first["org_name"] == "测试理工大学" and first["flags"] == []
    refused = client.post("/bureau/rankings/flags", data={
        "org_id": ranked["uni"].id, "period": "2026q3", "reason": ""}, follow_redirects=True)
    assert "理由：该字段是必填字段。" in refused.get_data(as_text=True)  # it named no field
    response = client.post("/bureau/rankings/flags", data={
        "org_id": ranked["uni"].id, "period": "2026q3", "reason": "上报机时与刷卡记录不符"})
    assert response.status_code == 302
    client.post("/bureau/rankings/compute", data={"period": "2026Q3"})
    rows = ranked["snapshot"].rows
    assert (rows[-1]["org_name"], rows[-1]["grade"], rows[-1]["flags"]) == (
        "测试理工大学", "poor", ["false_data"])
    page = client.get("/bureau/rankings?period=2026Q3").get_data(as_text=True)
    assert "上报机时与刷卡记录不符" in page and "数据造假" in page
    [flag] = services.flags_of("2026Q3")
    assert client.post(f"/bureau/rankings/flags/{flag.id}/clear",
                       data={"reason": ""}).status_code == 302 and flag.is_active
    client.post(f"/bureau/rankings/flags/{flag.id}/clear", data={"reason": "复核无误"})
    client.post("/bureau/rankings/compute", data={"period": "2026Q3"})
    assert ranked["snapshot"].rows[0]["org_name"] == "测试理工大学"
    assert audit_actions(flag) == ["ranking.flag_raised", "ranking.flag_cleared"]


def test_a_flag_cannot_change_a_published_ranking(client, make, login, ranked):
    services.publish_snapshot(ranked["snapshot"], None)
    db.session.commit()
    login(make.user(role="bureau_staff"))
    client.post("/bureau/rankings/flags", data={
        "org_id": ranked["uni"].id, "period": "2026Q3", "reason": "late"})
    assert services.flags_of("2026Q3") == []



@pytest.mark.parametrize(("typed", "says"), [("99999999999999", "100000000000"),
                                              ("0.001", "2"), ("1e3", "")])
def test_a_reward_pool_typed_wrong_says_what_is_wrong(client, make, login, typed, says):
    """Reported: one message ("0 or more") for a pool too large, with 3 decimals, or 1e3."""
    login(make.user(role="bureau_staff"))
    page = client.post("/bureau/rankings/2026/pool", data={"amount_yuan": typed},
                       follow_redirects=True).get_data(as_text=True)
    assert "奖励资金" in page and "alert-danger" in page and says in page
    assert services.reward_pool_fen("2026") == 0
