"""GET /api/v1/rankings: public when published, bureau token for unpublished."""
from datetime import date

import pytest

from booking.accounts.models import Organisation
from booking.extensions import db
from booking.rankings import services
from tests.rankings import used_in_the_period


@pytest.fixture
def snapshot(make):
    uni = make.organisation(name_zh="接口大学")
    make.instrument(organisation=uni, purchase_date=date(2020, 1, 1))
    snapshot = services.compute_snapshot("2026Q3")
    db.session.commit()
    return snapshot


def test_published_ranking_is_public(client, snapshot):
    used_in_the_period(db.session.scalar(db.select(Organisation).where(
        Organisation.name_zh == "接口大学")))
    services.publish_snapshot(snapshot, None)
    db.session.commit()
    for url in ("/api/v1/rankings?period=2026Q3", "/api/v1/rankings"):
        body = client.get(url).get_json()
        assert body["period"] == "2026Q3" and body["published"] is True
        row = next(r for r in body["rows"] if r["org_name"] == "接口大学")
        assert set(row) >= {"org_id", "org_name", "score", "rank", "grade", "reward_fen",
                            "indicators"}
        assert row["grade"] in ("excellent", "good", "pass", "poor")
        assert "external_share" in row["indicators"]
        # decimal strings, never binary floats: what the bureau sees, digit for digit
        stored = next(r for r in snapshot.rows if r["org_name"] == "接口大学")
        assert row["score"] == f"{stored['score']:.2f}"
        assert all(value is None or (isinstance(value, str) and len(value.split(".")[1]) == 4)
                   for value in row["indicators"].values())
        assert all(isinstance(value, str) for value in row["points"].values())


def test_unpublished_needs_a_bureau_token(client, snapshot, make, api_token):
    assert client.get("/api/v1/rankings?period=2026Q3").status_code == 404
    member = api_token(make.user())
    assert client.get("/api/v1/rankings?period=2026Q3", headers=member).status_code == 404
    bureau = api_token(make.user(role="bureau_staff"))
    body = client.get("/api/v1/rankings?period=2026Q3", headers=bureau).get_json()
    assert body["published"] is False and body["rows"]


def test_bad_period_and_bad_token(client, snapshot):
    response = client.get("/api/v1/rankings?period=2026-07")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "bad_period"
    response = client.get("/api/v1/rankings?period=2026Q3",
                          headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


def test_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/rankings" in spec["paths"]
    assert "RankingRow" in spec["components"]["schemas"]
