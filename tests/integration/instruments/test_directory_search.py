"""The directory's full-text search on the real database (SQLite FTS5 / PostgreSQL tsvector)."""
from datetime import timedelta

from sqlalchemy import event

from booking.core.clock import now_utc
from booking.core.db import utc
from booking.extensions import db
from booking.instruments import directory, search_index
from booking.instruments.models import Blackout


def _names(query, viewer=None, **fields):
    page = directory.search(directory.DirectoryQuery(q=query, **fields),
                            viewer or directory.Viewer(), now_utc())
    return [instrument.name_zh for instrument, _hourly in page.rows]


def test_two_character_query_finds_full_name(make):
    make.instrument(name_zh="场发射扫描电子显微镜", name_en="FE-SEM")
    make.instrument(name_zh="核磁共振波谱仪 400MHz", name_en="NMR spectrometer")
    assert _names("电镜") == ["场发射扫描电子显微镜"]
    assert _names("核磁") == ["核磁共振波谱仪 400MHz"]


def test_acronym_finds_chinese_name(make):
    make.instrument(name_zh="透射电子显微镜", name_en="")
    make.instrument(name_zh="X射线衍射仪", name_en="")
    make.instrument(name_zh="电感耦合等离子体质谱仪", name_en="")
    assert _names("TEM") == ["透射电子显微镜"]
    assert _names("xrd") == ["X射线衍射仪"]
    assert _names("ICP-MS") == ["电感耦合等离子体质谱仪"]
    assert _names("质谱") == ["电感耦合等离子体质谱仪"]


def test_exact_name_ranks_first(make):
    make.instrument(name_zh="扫描电子显微镜配套能谱仪", description="扫描电子显微镜 " * 5)
    make.instrument(name_zh="扫描电子显微镜")
    assert _names("扫描电子显微镜")[0] == "扫描电子显微镜"


def test_description_and_institution_are_searched(make):
    make.instrument(name_zh="流变仪", description="测试高分子熔体的黏度")
    assert _names("黏度") == ["流变仪"]


def test_retired_and_private_instruments_are_not_listed(make):
    make.instrument(name_zh="液相色谱仪甲")
    make.instrument(name_zh="液相色谱仪乙", status="retired")
    make.instrument(name_zh="液相色谱仪丙", is_public=False)
    make.instrument(name_zh="液相色谱仪丁", status="maintenance")
    assert sorted(_names("液相")) == ["液相色谱仪丁", "液相色谱仪甲"]


def test_filters_category_institution_city_and_mode(make):
    dalian = make.organisation(city="大连")
    anshan = make.organisation(city="鞍山")
    make.instrument(organisation=dalian, name_zh="拉曼光谱仪甲", category="analytical")
    make.instrument(organisation=anshan, name_zh="拉曼光谱仪乙", category="analytical",
                    allows_self_operated=False)
    make.instrument(organisation=anshan, name_zh="拉曼光谱仪丙", category="laser")
    assert _names("拉曼", city="鞍山", category="analytical") == ["拉曼光谱仪乙"]
    assert sorted(_names("拉曼", org_id=anshan.id)) == ["拉曼光谱仪丙", "拉曼光谱仪乙"]
    assert sorted(_names("拉曼", mode="self_operated")) == ["拉曼光谱仪丙", "拉曼光谱仪甲"]


def test_price_filter_uses_the_viewers_class(make):
    owner = make.organisation()
    make.instrument(organisation=owner, name_zh="热分析仪",
                    rates={"internal": 5_000, "academic": 10_000, "enterprise": 30_000})
    assert _names("热分析", price_max_fen=20_000) == []  # anonymous: enterprise price
    academic = directory.Viewer(organisation_id=None, outside_class="academic")
    assert _names("热分析", viewer=academic, price_max_fen=20_000) == ["热分析仪"]
    internal = directory.Viewer(organisation_id=owner.id, outside_class="academic")
    assert _names("热分析", viewer=internal, price_min_fen=6_000) == []


def test_current_rate_not_a_future_one(make):
    instrument = make.instrument(name_zh="粒度仪", rates={"enterprise": 10_000})
    from booking.instruments.models import Rate

    instrument.rates.append(Rate(customer_class="enterprise", hourly_fen=99_000,
                                 valid_from=now_utc() + timedelta(days=30)))
    db.session.commit()
    page = directory.search(directory.DirectoryQuery(q="粒度"), directory.Viewer(), now_utc())
    assert page.rows[0][1] == 10_000


def test_available_this_week(make):
    open_one = make.instrument(name_zh="比表面仪甲")
    make.instrument(name_zh="比表面仪乙", hours=None)
    closed = make.instrument(name_zh="比表面仪丙")
    closed.blackouts.append(Blackout(start_at=now_utc() - timedelta(days=1),
                                     end_at=now_utc() + timedelta(days=10), reason="维修"))
    db.session.commit()
    assert _names("比表面", available_week=True) == [open_one.name_zh]


def test_sort_and_pages(make):
    for n in range(5):
        make.instrument(name_zh=f"万能试验机{n}", original_value_fen=(n + 1) * 10_000_000)
    page = directory.search(directory.DirectoryQuery(q="试验机", sort="value", per_page=2, page=2),
                            directory.Viewer(), now_utc())
    assert page.total == 5 and page.pages == 3
    assert [i.name_zh for i, _h in page.rows] == ["万能试验机2", "万能试验机1"]


def test_reindex_replaces_the_old_text(make):
    instrument = make.instrument(name_zh="旧名称仪器")
    instrument.name_zh = "新名称仪器"
    search_index.reindex(instrument)
    assert _names("旧名") == [] and _names("新名") == ["新名称仪器"]


def test_directory_page_issues_a_bounded_number_of_queries(client, make):
    for n in range(25):
        make.instrument(name_zh=f"电子显微镜{n}", organisation=make.organisation())
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get("/?q=电镜&sort=price")
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200
    assert response.get_data(as_text=True).count("instrument-card") == 20
    assert 2 <= len(statements) <= 6, len(statements)


def test_purchase_date_and_utc_roundtrip(make):
    instrument = make.instrument(name_zh="测试仪", info_updated_at=utc(2025, 1, 1))
    db.session.expire_all()
    assert instrument.info_updated_at == utc(2025, 1, 1)


def test_the_institutions_short_code_and_a_spoken_abbreviation_find(make):
    """Reported: "sem dlut" and "mass spec" found nothing (an English-speaking visitor)."""
    dlut = make.organisation(short_code="DLUT", name_en="Dalian University of Technology")
    make.instrument(organisation=dlut, name_zh="场发射扫描电子显微镜", name_en="")
    make.instrument(name_zh="扫描电子显微镜", name_en="")
    make.instrument(name_zh="电感耦合等离子体质谱仪", name_en="")
    assert _names("sem dlut") == ["场发射扫描电子显微镜"]
    assert _names("mass spec") == ["电感耦合等离子体质谱仪"]


def test_an_organisation_renamed_is_found_by_its_new_name_and_reindex_rebuilds(app, make):
    from booking.admin.services import update_organisation

    org = make.organisation(name_en="Old Name Institute")
    make.instrument(organisation=org, name_zh="拉曼光谱仪")
    update_organisation(org, {"name_en": "Liaoning Photonics Institute"},
                        make.user(role="admin"))
    assert _names("photonics") == ["拉曼光谱仪"] and _names("old name") == []
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["instruments", "reindex"])
    assert result.exit_code == 0 and "instruments reindexed: 1" in result.output
    assert _names("photonics") == ["拉曼光谱仪"]
