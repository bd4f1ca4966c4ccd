"""One rule of who sees an instrument, the same for its page, calendar and the API: listed
instruments anybody; unlisted (private or retired) ones their organisation's confirmed members and
managers, and bureau staff."""
import pytest

QUERY = {"start": "2026-12-21T00:00:00+08:00", "end": "2026-12-22T00:00:00+08:00"}


@pytest.fixture
def private(make):
    return make.instrument(is_public=False)


@pytest.mark.parametrize(("who", "sees"), [("member", True), ("lab_manager", True),
                                           ("bureau_staff", True), ("outsider", False),
                                           ("unconfirmed", False), ("anonymous", False)])
def test_page_calendar_and_api_agree(client, make, login, api_token, private, who, sees):
    """"unconfirmed": signed up as a member (anybody may, of any institution), not confirmed
    by its lab yet: it saw the asset number, value, room and contacts of every instrument."""
    headers = {}
    if who != "anonymous":
        organisation = make.organisation(kind="bureau" if who == "bureau_staff" else
                                         "university") if who in ("outsider", "bureau_staff") \
            else private.organisation
        user = make.user(role="member" if who in ("outsider", "unconfirmed") else who,
                         organisation=organisation, confirmed=who != "unconfirmed")
        login(user)
        headers = api_token(user)
    expected = 200 if sees else 404
    assert client.get(f"/instruments/{private.id}").status_code == expected
    assert client.get(f"/instruments/{private.id}/calendar.json",
                      query_string=QUERY).status_code == expected
    assert client.get(f"/api/v1/instruments/{private.id}/availability", query_string=QUERY,
                      headers=headers).status_code == expected
