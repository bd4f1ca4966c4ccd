from booking.extensions import db


def test_token_exchange_and_error_format(client, make):
    user = make.user()
    ok = client.post("/api/v1/tokens", json={"email": user.email, "password": make.PASSWORD})
    assert ok.status_code == 201 and ok.get_json()["token"].startswith("ipt_")

    wrong = client.post("/api/v1/tokens", json={"email": user.email, "password": "nope"})
    assert wrong.status_code == 401
    assert wrong.get_json()["error"]["code"] == "invalid_credentials"

    bad = client.post("/api/v1/tokens", json={"email": "not-an-email", "password": "x",
                                              "valid_days": 0})
    body = bad.get_json()["error"]
    assert bad.status_code == 422 and body["code"] == "validation_error"
    assert {p["field"] for p in body["problems"]} == {"email", "valid_days"}


def test_api_404_is_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_openapi_document_is_generated_from_schemas(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    request_schema = spec["paths"]["/api/v1/tokens"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    assert request_schema["$ref"].endswith("TokenRequest")
    assert "bearerAuth" in spec["components"]["securitySchemes"]


def test_me_needs_a_valid_bearer_token(client, make, api_token):
    from booking.accounts.services import create_api_token, revoke_api_token

    user = make.user()
    assert client.get("/api/v1/me", headers=api_token(user)).get_json()["email"] == user.email
    assert client.get("/api/v1/me").get_json()["error"]["code"] == "unauthorized"
    token, raw = create_api_token(user, "x")
    revoke_api_token(token, user)
    db.session.commit()
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "invalid_token"


def test_session_cookie_does_not_authenticate_the_api(client, make, login):
    login(make.user())
    assert client.get("/api/v1/me").status_code == 401
