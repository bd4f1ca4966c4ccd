"""Every navigation entry a role sees opens for that role (no 403 behind a visible link)."""
import pytest
from flask import url_for

from booking.navigation import NAV, NavMenu, nav_items

ROLES = ("member", "student", "lab_manager", "finance", "bureau_staff", "admin")


@pytest.mark.parametrize("role", ROLES)
def test_every_visible_nav_entry_opens(app, client, make, login, role):
    organisation = make.organisation(kind="bureau") if role == "bureau_staff" else None
    user = login(make.user(role=role, organisation=organisation))
    views = app.view_functions
    with app.test_request_context():
        visible = [url_for(entry.endpoint) for entry in NAV
                   if entry.endpoint in views and entry.visible(user)]
    assert visible
    for path in visible:
        response = client.get(path)
        assert response.status_code == 200, (role, path, response.status_code)


def _bar(app, user) -> list:
    """The bar `user` sees: link endpoints, and each menu as (its label, its endpoints)."""
    with app.test_request_context():
        from flask_login import login_user
        login_user(user)
        return [(str(item.label), [link.endpoint for link in item.links])
                if isinstance(item, NavMenu) else item.endpoint for item in nav_items()]


def test_a_lab_managers_work_pages_are_one_menu(app, make):
    bar = _bar(app, make.user(role="lab_manager"))
    assert ("实验室", ["metering.lab_day", "bookings.queue", "instruments.manage", "orders.lab",
                    "admin.audit"]) in bar
    assert "bookings.queue" not in bar  # not on the bar itself as well
    assert bar[0] == "instruments.index" and "bookings.mine" in bar


def test_the_bureaus_work_pages_are_one_menu(app, make):
    bar = _bar(app, make.user(role="bureau_staff", organisation=make.organisation(kind="bureau")))
    assert ("科技局", ["rankings.dashboard", "subsidies.queue", "admin.organisations"]) in bar
    assert not any(isinstance(item, tuple) and item[0] == "实验室" for item in bar)


def test_a_menu_of_one_entry_is_a_plain_link(app, make, monkeypatch):
    from booking import navigation

    monkeypatch.setattr(navigation, "NAV", [
        e._replace(group="lab") if e.endpoint == "rankings.public" else e for e in NAV])
    bar = _bar(app, make.user(role="student"))
    assert bar[-1] == "rankings.public"
    assert all(isinstance(item, str) for item in bar)

