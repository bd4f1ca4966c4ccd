"""Every navigation entry a role sees opens for that role (no 403 behind a visible link)."""
import pytest
from flask import url_for

from booking.navigation import NAV

ROLES = ("member", "student", "lab_manager", "finance", "bureau_staff", "admin")


@pytest.mark.parametrize("role", ROLES)
def test_every_visible_nav_entry_opens(app, client, make, login, role):
    organisation = make.organisation(kind="bureau") if role == "bureau_staff" else None
    user = login(make.user(role=role, organisation=organisation))
    views = app.view_functions
    with app.test_request_context():
        visible = [url_for(endpoint) for endpoint, _label, _icon, shown in NAV
                   if endpoint in views and shown(user)]
    assert visible
    for path in visible:
        response = client.get(path)
        assert response.status_code == 200, (role, path, response.status_code)
