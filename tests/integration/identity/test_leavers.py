"""The leaver sync against the private slapd: people gone from the directory are deactivated,
their future bookings cancelled with a notice, and they can neither sign in nor use tokens."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from booking.accounts.services import create_api_token, user_for_api_token
from booking.bookings.models import Booking
from booking.core.clock import now_utc
from booking.extensions import db
from booking.identity import ldap_directory, services
from booking.identity.assertion import SignOnRefused
from booking.identity.models import ExternalIdentity
from booking.inbox.models import InboxNotice
from tests.factories.identity import ldap_provider
from tests.servers import LDAP_PASSWORD, free_port
from tests.servers.flows import ldap_sign_in


@pytest.fixture
def leaver(ldap_server, request):
    """A person added to the directory for this test (removed again after it)."""
    uid = f"leaver.{request.node.name[-20:].strip('[]_')}".replace("[", "-")[:60]
    ldap_server.add_person(uid, mail=f"{uid}@campus.example", cn="Leaving Person")
    yield uid
    ldap_server.remove_person(uid)


def test_sync_deactivates_the_leaver_and_cancels_future_bookings(app, make, ldap_server,
                                                                  leaver):
    provider = ldap_provider(ldap_server)
    user = ldap_sign_in(provider, leaver, LDAP_PASSWORD)
    stayer = ldap_sign_in(provider, "ldap.member", LDAP_PASSWORD)
    instrument = make.instrument(requires_approval=False)
    future = make.placed_booking(instrument, user, now_utc() + timedelta(days=3))
    past = make.placed_booking(instrument, user, now_utc() - timedelta(days=3),
                               state="completed")
    _, token = create_api_token(user, "script")
    assert user_for_api_token(token) == user

    ldap_server.remove_person(leaver)
    result = services.sync_leavers(provider)

    assert (result.deactivated, result.bookings_cancelled) == (1, 1)
    assert result.checked == 2
    assert user.active is False and stayer.active is True
    assert db.session.get(Booking, future.id).state == "cancelled"
    assert db.session.get(Booking, past.id).state == "completed"
    assert db.session.scalar(select(InboxNotice).where(
        InboxNotice.user_id == user.id, InboxNotice.kind == "booking.cancelled"))
    assert user_for_api_token(token) is None
    with pytest.raises(SignOnRefused):
        ldap_directory.authenticate(provider, leaver, LDAP_PASSWORD)  # gone from LDAP too


def test_sync_changes_nothing_when_the_directory_cannot_be_read(app, make, ldap_server):
    provider = ldap_provider(ldap_server)
    user = ldap_sign_in(provider, "ldap.member", LDAP_PASSWORD)
    provider.settings = {**provider.settings, "url": f"ldap://127.0.0.1:{free_port()}"}
    with pytest.raises(SignOnRefused) as refused:
        services.sync_leavers(provider)
    assert refused.value.code == "provider_unreachable"
    assert user.active is True


def test_sync_with_a_wrong_search_base_changes_nothing(app, ldap_server):
    provider = ldap_provider(ldap_server, search_base="ou=nowhere,dc=campus,dc=example")
    ldap_sign_in(ldap_provider(ldap_server), "ldap.member", LDAP_PASSWORD)
    with pytest.raises(SignOnRefused):
        services.sync_leavers(provider)


def test_sync_command_by_credit_code(app, make, ldap_server, leaver):
    provider = ldap_provider(ldap_server)
    user = ldap_sign_in(provider, leaver, LDAP_PASSWORD)
    ldap_server.remove_person(leaver)
    result = app.test_cli_runner().invoke(args=["sso", "sync", "--org",
                                                provider.organisation.credit_code])
    assert result.exit_code == 0, result.output
    assert "1 deactivated" in result.output
    assert user.active is False


def test_sync_command_refuses_unknown_organisations(app):
    result = app.test_cli_runner().invoke(args=["sso", "sync", "--org", "nope"])
    assert result.exit_code != 0 and "no organisation" in result.output


def test_identity_is_keyed_by_the_directory_uuid(app, ldap_server):
    provider = ldap_provider(ldap_server)
    user = ldap_sign_in(provider, "ldap.member", LDAP_PASSWORD)
    identity = db.session.scalar(select(ExternalIdentity).where(
        ExternalIdentity.user_id == user.id))
    assert len(identity.subject) == 36 and identity.subject.count("-") == 4  # entryUUID
