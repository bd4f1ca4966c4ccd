import pytest


def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_chinese_is_the_default_and_english_is_a_switch_away(client):
    page = client.get("/").get_data(as_text=True)
    assert "大型仪器共享平台" in page and "登录" in page
    client.post("/language", data={"locale": "en", "next": "/"})
    page = client.get("/").get_data(as_text=True)
    assert "Instrument Sharing Platform" in page and "Log in" in page


def test_language_switch_is_remembered_on_the_account(client, make, login):
    user = login(make.user())
    client.post("/language", data={"locale": "en", "next": "//evil.example"})
    assert user.locale == "en"


@pytest.mark.parametrize("lang,text", [("zh-CN", "页面不存在"), ("en", "Page not found")])
def test_404_page_in_both_languages(client, lang, text):
    response = client.get("/no/such/page", headers={"Accept-Language": lang})
    assert response.status_code == 404 and text in response.get_data(as_text=True)


@pytest.mark.parametrize("lang,text", [("zh-CN", "没有权限"), ("en", "Access denied")])
def test_403_page_in_both_languages(client, make, login, lang, text):
    login(make.user())
    client.post("/language", data={"locale": "zh_CN" if lang == "zh-CN" else "en"})
    response = client.get("/organisations")
    assert response.status_code == 403 and text in response.get_data(as_text=True)


def test_500_page_rolls_back_and_renders(app, client, monkeypatch):
    from booking.instruments import routes

    def boom():
        raise RuntimeError("kaput")

    monkeypatch.setitem(app.view_functions, "instruments.index", boom)
    response = client.get("/", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    assert "Something went wrong" in response.get_data(as_text=True)
    assert routes  # the real view is restored by monkeypatch


def test_every_page_names_its_icon_and_the_browsers_default_finds_it(client):
    page = client.get("/instruments").get_data(as_text=True)
    assert 'rel="icon" type="image/svg+xml" href="/static/img/favicon.svg"' in page
    assert client.get("/favicon.ico").location.endswith("/static/img/favicon.svg")
    icon = client.get("/static/img/favicon.svg")
    assert icon.status_code == 200 and icon.data.startswith(b"<svg")


def test_a_method_not_allowed_reads_in_one_language(client):
    """Reported: GET /logout said 此处不允许该操作 and then Werkzeug's English sentence."""
    page = client.get("/logout").get_data(as_text=True)
    assert "此处不允许该操作" in page and "The method is not allowed" not in page
