"""The approval queue as a long list: pages in order of arrival, each filter and their
combinations, bad input (a 400), and only the requests of the labs one manages through every
filter."""
import re
from datetime import timedelta

import pytest
from freezegun import freeze_time

from tests.moments import MONDAY_23_NOV_8AM, TUESDAY_24_NOV_10AM


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time(MONDAY_23_NOV_8AM) as clock:
        yield clock


@pytest.fixture
def queue(make, login, frozen):
    """30 pending requests on a lab's two instruments (requested a minute apart, the last
    five by 王芳 of an enterprise for the XRD), decided and cancelled ones, and another lab's
    pending request."""
    lab = make.organisation(name_zh="化学学院")
    manager = make.user(role="lab_manager", organisation=lab)
    sem = make.instrument(organisation=lab, name_zh="扫描电镜", name_en="SEM")
    xrd = make.instrument(organisation=lab, name_zh="X射线衍射仪", name_en="XRD")
    student = make.user(organisation=lab, name="李雷", email="lilei@example.cn")
    company = make.organisation(kind="enterprise", name_zh="海创材料")
    engineer = make.user(organisation=company, name="王芳")
    pending = []
    for n in range(30):
        frozen.tick(timedelta(minutes=1))
        who, instrument = (engineer, xrd) if n >= 25 else (student, sem)
        pending.append(make.placed_booking(instrument, who,
                                           TUESDAY_24_NOV_10AM + timedelta(days=n),
                                           state="pending", purpose=f"样品 {n}"))
    decided = [make.placed_booking(sem, student, TUESDAY_24_NOV_10AM + timedelta(hours=4),
                                   state=state) for state in ("approved", "cancelled")]
    elsewhere = make.placed_booking(make.instrument(name_zh="扫描电镜"), student,
                                    TUESDAY_24_NOV_10AM, state="pending", purpose="样品 他处")
    login(manager)
    return {"manager": manager, "sem": sem, "xrd": xrd, "pending": pending,
            "decided": decided, "elsewhere": elsewhere}


def shown(client, query: str = "") -> list[int]:
    response = client.get(f"/bookings/queue{query}")
    assert response.status_code == 200, response.status_code
    return [int(i) for i in re.findall(r'id="request-(\d+)"', response.get_data(as_text=True))]


def ids(bookings) -> list[int]:
    return [b.id for b in bookings]


def test_pages_of_25_in_order_of_arrival(client, queue):
    assert shown(client) == ids(queue["pending"][:25])
    assert shown(client, "?page=2") == ids(queue["pending"][25:])
    assert shown(client, "?page=3") == ids(queue["pending"][25:])  # the last one
    page = client.get("/bookings/queue?page=2").get_data(as_text=True)
    assert "共 30 条 · 第 2 / 2 页" in page


@pytest.mark.parametrize("query", ["?page=0", "?page=10001", "?per_page=500", "?instrument=-1",
                                   "?from=yesterday", "?to=2026-02-30",
                                   "?q=" + "搜" * 101,
                                   "?q=%7f"])
def test_bad_input_is_a_400(client, queue, query):
    assert client.get(f"/bookings/queue{query}").status_code == 400


def test_instrument_filter_offers_the_instruments_with_requests(client, queue):
    assert shown(client, f"?instrument={queue['xrd'].id}") == ids(queue["pending"][25:])
    page = client.get("/bookings/queue").get_data(as_text=True)
    offered = re.findall(r'<option value="(\d+)"', page.split('id="f-instrument"')[1]
                         .split("</select>")[0])
    assert sorted(offered) == sorted([str(queue["sem"].id), str(queue["xrd"].id)])


@pytest.mark.parametrize("text, expected", [
    ("王芳", slice(25, 30)), ("海创", slice(25, 30)), ("LILEI@", slice(0, 25)),
    ("xrd", slice(25, 30)), ("样品 2", slice(2, 3)), ("化学学院", slice(0, 25))])
def test_search_requester_organisation_instrument_purpose(client, queue, text, expected):
    # the requester's organisation is the paying one: 李雷 studies at the lab's 化学学院
    found = shown(client, f"?q={text}&per_page=100")
    if text == "样品 2":
        assert found == ids([queue["pending"][2]] + queue["pending"][20:30])
    else:
        assert found == ids(queue["pending"][expected])


def test_search_by_number(client, queue):
    number = queue["pending"][12].id
    assert shown(client, f"?q=%23{number}") == [number]


def test_period_of_the_requested_slot(client, queue):
    # slots from Tue 24 Nov, one a day: 1-2 Dec local are pending[7] and pending[8]
    assert shown(client, "?from=2026-12-01&to=2026-12-02") == ids(queue["pending"][7:9])


def test_filters_combine_and_are_kept_when_paging(client, queue):
    query = f"?instrument={queue['sem'].id}&q=李雷&from=2026-11-25&per_page=10"
    assert shown(client, query) == ids(queue["pending"][1:11])
    page = client.get(f"/bookings/queue{query}").get_data(as_text=True)
    following = re.search(r'href="([^"]*)" rel="next"', page).group(1).replace("&amp;", "&")
    assert shown(client, following.removeprefix("/bookings/queue")) == \
        ids(queue["pending"][11:21])


def test_only_the_labs_own_pending_requests_through_any_filter(client, queue):
    other = queue["elsewhere"].id
    decided = ids(queue["decided"])
    for query in ("?per_page=100", f"?q=%23{other}", "?q=他处", "?q=李雷&per_page=100",
                  f"?instrument={queue['elsewhere'].instrument_id}",
                  f"?q=%23{decided[0]}", f"?q=%23{decided[1]}"):
        found = shown(client, query)
        assert other not in found and not set(decided) & set(found), query


def test_the_other_labs_manager_sees_only_theirs(client, make, login, queue):
    login(make.user(role="lab_manager", organisation=queue["elsewhere"].instrument.organisation))
    assert shown(client, "?per_page=100") == [queue["elsewhere"].id]
    assert shown(client, f"?instrument={queue['sem'].id}") == []


def test_only_lab_managers(client, make, login, queue):
    client.post("/logout")
    assert client.get("/bookings/queue?q=x").status_code == 302
    login(make.user())
    assert client.get("/bookings/queue?q=x").status_code == 403
    assert client.get("/bookings/queue?page=0").status_code == 403  # asked before any input


def test_nothing_matches_says_so_and_keeps_the_filters(client, queue):
    page = client.get("/bookings/queue?q=nobody").get_data(as_text=True)
    assert 'class="list-empty"' in page and 'value="nobody"' in page
    assert 'id="queue-empty"' not in page


def test_a_decision_returns_to_the_filtered_page_it_was_made_on(client, queue):
    listed = "/bookings/queue?q=%E7%8E%8B%E8%8A%B3&page=1"  # 王芳's requests
    booking = queue["pending"][25]
    response = client.post(f"/bookings/{booking.id}/approve", data={"next": listed})
    assert response.status_code == 302 and response.headers["Location"] == listed
    assert booking.state == "approved"
    away = client.post(f"/bookings/{queue['pending'][26].id}/approve",
                       data={"next": "https://evil.example/queue"})
    assert away.headers["Location"] == "/bookings/queue"  # never off the site
