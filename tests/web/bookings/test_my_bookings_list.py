"""My bookings as a long list: pages, the upcoming/past/all views, each filter and their
combinations, bad input (a 400, never a 500), and nobody else's booking through any filter."""
import re
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import event

from booking.extensions import db
from tests.moments import MONDAY_23_NOV_8AM, TUESDAY_24_NOV_10AM


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time(MONDAY_23_NOV_8AM) as clock:
        yield clock


@pytest.fixture
def mine(make, login):
    """25 upcoming bookings of mine on the SEM (every other one pending, one a day from
    Tuesday 24 Nov, 10:00), 5 past ones on the XRD (completed, the last cancelled), and
    someone else's bookings on both instruments."""
    me, other = make.user(), make.user()
    sem = make.instrument(name_zh="扫描电镜", name_en="SEM")
    xrd = make.instrument(name_zh="X射线衍射仪", name_en="XRD")
    upcoming = [make.placed_booking(sem, me, TUESDAY_24_NOV_10AM + timedelta(days=d),
                                    state="pending" if d % 2 else "approved",
                                    purpose=f"课题 {d}")
                for d in range(25)]
    past = [make.placed_booking(xrd, me, MONDAY_23_NOV_8AM - timedelta(days=d + 1),
                                state="cancelled" if d == 4 else "completed", purpose="物相分析")
            for d in range(5)]
    theirs = [make.placed_booking(instrument, other, TUESDAY_24_NOV_10AM + timedelta(hours=3),
                                  state="pending", purpose="课题 他人")
              for instrument in (sem, xrd)]
    login(me)
    return {"me": me, "sem": sem, "xrd": xrd, "upcoming": upcoming, "past": past,
            "theirs": theirs}


def shown(client, query: str = "") -> list[int]:
    """The ids of the bookings the page lists, in order."""
    response = client.get(f"/bookings/mine{query}")
    assert response.status_code == 200, response.status_code
    return [int(i) for i in re.findall(r'id="booking-(\d+)"', response.get_data(as_text=True))]


def ids(bookings) -> list[int]:
    return [b.id for b in bookings]


def test_upcoming_comes_first_soonest_first_twenty_a_page(client, mine):
    assert shown(client) == ids(mine["upcoming"][:20])
    assert shown(client, "?page=2") == ids(mine["upcoming"][20:])
    assert shown(client, "?per_page=10&page=3") == ids(mine["upcoming"][20:])


def test_upcoming_leaves_out_what_no_longer_holds_its_time(client, make, mine):
    """A booking cancelled or refused is not coming up; asked for by its state, it shows."""
    cancelled = make.placed_booking(mine["sem"], mine["me"], TUESDAY_24_NOV_10AM + timedelta(
        days=30), state="cancelled")
    rejected = make.placed_booking(mine["xrd"], mine["me"], TUESDAY_24_NOV_10AM + timedelta(
        days=31), state="rejected")
    listed = shown(client, "?per_page=100")
    assert listed == ids(mine["upcoming"]) and cancelled.id not in listed
    assert shown(client, "?state=cancelled") == [cancelled.id]
    assert rejected.id in shown(client, "?when=all&per_page=100")


def test_a_page_past_the_last_shows_the_last(client, mine):
    assert shown(client, "?page=9") == ids(mine["upcoming"][20:])
    page = client.get("/bookings/mine?page=9").get_data(as_text=True)
    assert "共 25 条 · 第 2 / 2 页" in page


@pytest.mark.parametrize("query", ["?page=0", "?page=10001", "?page=x", "?per_page=0",
                                   "?per_page=101", "?when=later", "?state=lost",
                                   "?instrument=0", "?instrument=99999999999999999999",
                                   "?from=2026-13-01", "?from=1999-12-31", "?to=2101-01-01",
                                   "?q=" + "x" * 101,
                                   "?q=a%00b", "?q=a%0db"])
def test_bad_input_is_a_400(client, mine, query):
    assert client.get(f"/bookings/mine{query}").status_code == 400


def test_dates_the_wrong_way_round_are_read_the_right_way(client, mine):
    assert shown(client, "?when=all&from=2026-12-31&to=2026-11-01") == shown(
        client, "?when=all&from=2026-11-01&to=2026-12-31")


def test_blank_and_unknown_arguments_are_ignored(client, mine):
    assert shown(client, "?state=&instrument=&from=&to=&q=+&sort=price") == \
        ids(mine["upcoming"][:20])


def test_past_and_all(client, mine):
    assert shown(client, "?when=past") == ids(mine["past"])  # latest first
    everything = shown(client, "?when=all&per_page=100")
    assert everything == ids(reversed(mine["upcoming"])) + ids(mine["past"])


def test_state_filter(client, mine):
    assert shown(client, "?state=pending") == ids(mine["upcoming"][1::2])
    assert shown(client, "?when=past&state=cancelled") == ids(mine["past"][4:])
    assert shown(client, "?when=upcoming&state=completed") == []


def test_instrument_filter_offers_my_instruments(client, mine):
    assert shown(client, f"?when=all&per_page=100&instrument={mine['xrd'].id}") == \
        ids(mine["past"])
    page = client.get("/bookings/mine").get_data(as_text=True)
    offered = re.findall(r'<option value="(\d+)"', page.split('id="f-instrument"')[1]
                         .split("</select>")[0])
    assert sorted(offered) == sorted([str(mine["sem"].id), str(mine["xrd"].id)])
    # the same name at two institutions is told apart by the institution
    assert f'>扫描电镜 · {mine["sem"].organisation.name_zh}</option>' in page


def test_search_by_instrument_purpose_or_number(client, mine):
    assert shown(client, "?when=all&q=xrd") == ids(mine["past"])  # English name, any case
    assert shown(client, "?when=all&q=射线") == ids(mine["past"])
    assert shown(client, "?q=课题 2") == ids([mine["upcoming"][2]] + mine["upcoming"][20:25])
    number = mine["upcoming"][7].id
    assert shown(client, f"?q=%23{number}") == [number]
    assert number in shown(client, f"?q={number}")  # and the purposes holding the digits
    assert shown(client, "?q=%25") == []  # a literal %, not a wildcard
    assert shown(client, "?q=_") == []


def test_period_counts_local_days(client, mine):
    # 24 Nov 10:00 in Shanghai is 02:00 UTC; the day 25 Nov holds exactly one booking
    assert shown(client, "?from=2026-11-25&to=2026-11-25") == [mine["upcoming"][1].id]
    assert shown(client, "?from=2026-12-17") == ids(mine["upcoming"][23:])
    assert shown(client, "?when=past&to=2026-11-20") == ids(mine["past"][2:])


def test_filters_combine_and_are_kept_when_paging(client, mine):
    query = f"?when=all&state=approved&instrument={mine['sem'].id}&q=课题&per_page=5"
    approved = [b for b in reversed(mine["upcoming"]) if b.state == "approved"]
    assert shown(client, query) == ids(approved[:5])
    page = client.get(f"/bookings/mine{query}").get_data(as_text=True)
    following = re.search(r'href="([^"]*)" rel="next"', page).group(1).replace("&amp;", "&")
    for part in ("when=all", "state=approved", f"instrument={mine['sem'].id}", "per_page=5",
                 "page=2"):
        assert part in following
    assert shown(client, following.removeprefix("/bookings/mine")) == ids(approved[5:10])
    form = page.split('id="filters"')[1].split("</form>")[0]  # a new search keeps the rest
    assert 'name="per_page" value="5"' in form and 'name="when" value="all"' in form


def test_nobody_elses_booking_through_any_filter(client, mine):
    theirs = ids(mine["theirs"])
    for query in ("?when=all&per_page=100", f"?when=all&q=%23{theirs[0]}", f"?q={theirs[1]}",
                  "?when=all&q=他人", f"?when=all&instrument={mine['sem'].id}&state=pending"):
        assert not set(shown(client, query)) & set(theirs), query


def test_anonymous_is_sent_to_log_in(client):
    response = client.get("/bookings/mine?state=pending")
    assert response.status_code == 302 and "/login" in response.location


def test_feed_card_is_above_the_list_and_rows_stack_on_phones(client, mine):
    page = client.get("/bookings/mine").get_data(as_text=True)
    assert page.index('id="feed"') < page.index('id="upcoming"')
    assert 'class="table table-sm bg-body shadow-sm table-stack"' in page
    assert 'data-label="状态" class="booking-status"' in page
    assert f'action="/bookings/{mine["upcoming"][0].id}/cancel"' in page  # the row's actions


def test_queries_do_not_grow_with_the_rows(client, mine):
    def statements(query):
        seen = []

        def count(*args):
            seen.append(1)
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            shown(client, query)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(seen)

    shown(client)  # what a first request loads once
    assert statements("?per_page=20") == statements("?per_page=2")
