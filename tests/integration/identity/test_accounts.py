"""Accounts from what providers assert: created in the provider's organisation only, keyed by
(provider, subject), linked once to an existing account, never across institutions."""
import pytest
from sqlalchemy import select

from booking.accounts.models import User
from booking.extensions import db
from booking.identity import services
from booking.identity.assertion import Assertion, SignOnRefused
from booking.identity.models import ExternalIdentity
from tests.factories.identity import CAS_RULES, create_provider


def _provider(make, **fields):
    return create_provider("cas", make.organisation(), server_url="https://cas.example/cas",
                           role_rules=CAS_RULES, **fields)


def _person(subject="zs001", email="zs001@a.edu.cn", affiliation=("student",), name="张三"):
    return Assertion(subject=subject, email=email, name=name,
                     attributes={"eduPersonAffiliation": list(affiliation)})


def test_the_same_subject_at_two_providers_is_two_people(make):
    a, b = _provider(make), _provider(make)
    first = services.sign_in(a, _person())
    second = services.sign_in(b, _person(email="zs001@b.edu.cn"))
    assert first.id != second.id
    assert (first.organisation_id, second.organisation_id) == (a.organisation_id,
                                                                b.organisation_id)


def test_a_provider_cannot_take_over_an_account_of_another_institution_by_email(make):
    a, b = _provider(make), _provider(make)
    victim = services.sign_in(a, _person())
    with pytest.raises(SignOnRefused) as refused:
        services.sign_in(b, _person(subject="someone-else"))  # asserts the victim's e-mail
    assert refused.value.code == "email_in_other_organisation"
    assert db.session.scalar(select(ExternalIdentity).where(
        ExternalIdentity.provider_id == b.id)) is None
    assert victim.organisation_id == a.organisation_id


def test_an_identity_pointing_into_another_organisation_is_refused(make):
    a, b = _provider(make), _provider(make)
    user = services.sign_in(a, _person())
    db.session.add(ExternalIdentity(provider=b, user=user, subject="forged"))
    db.session.flush()
    with pytest.raises(SignOnRefused) as refused:
        services.sign_in(b, _person(subject="forged"))
    assert refused.value.code == "other_organisation"


def test_an_existing_local_account_must_be_linked_with_its_password(make):
    provider = _provider(make)
    local = make.user(organisation=provider.organisation, email="li@a.edu.cn", role="member")
    with pytest.raises(services.NeedsLink) as needs:
        services.sign_in(provider, _person(subject="li", email="LI@a.edu.cn"))
    pending = needs.value.pending
    with pytest.raises(SignOnRefused) as wrong:
        services.link_pending(pending, "not-the-password")
    assert wrong.value.code == "wrong_password"
    linked = services.link_pending(pending, make.PASSWORD)
    assert linked.id == local.id
    assert linked.role_names() == ["student"]  # the provider's mapping now rules the role
    # linked once: later sign-ins find the account by the subject
    assert services.sign_in(provider, _person(subject="li", email="li@a.edu.cn")).id == local.id
    with pytest.raises(SignOnRefused) as again:
        services.link_pending(pending, make.PASSWORD)
    assert again.value.code == "already_linked"


def test_a_local_account_of_another_organisation_is_not_offered_for_linking(make):
    provider = _provider(make)
    make.user(email="wang@a.edu.cn")  # another organisation
    with pytest.raises(SignOnRefused) as refused:
        services.sign_in(provider, _person(subject="wang", email="wang@a.edu.cn"))
    assert refused.value.code == "email_in_other_organisation"


def test_no_email_no_account(make):
    with pytest.raises(SignOnRefused) as refused:
        services.sign_in(_provider(make), _person(email=""))
    assert refused.value.code == "no_email"


def test_roles_the_provider_does_not_manage_stay(make):
    provider = _provider(make)
    user = services.sign_in(provider, _person())
    from booking.accounts.models import Role

    user.roles.append(Role(organisation_id=provider.organisation_id, name="finance"))
    db.session.flush()
    services.sign_in(provider, _person(affiliation=("staff",)))
    assert user.role_names() == ["finance", "member"]


def test_a_new_email_is_taken_unless_another_account_has_it(make):
    provider = _provider(make)
    user = services.sign_in(provider, _person())
    services.sign_in(provider, _person(email="new@a.edu.cn"))
    assert user.email == "new@a.edu.cn"
    make.user(email="taken@a.edu.cn")
    services.sign_in(provider, _person(email="taken@a.edu.cn"))
    assert user.email == "new@a.edu.cn"


def test_disabled_providers_and_unverified_organisations_are_not_offered(make):
    shown, hidden = _provider(make), _provider(make)
    hidden.enabled = False
    unverified = create_provider("cas", make.organisation(verified=False),
                                 server_url="https://x/cas")
    offered = services.enabled_providers()
    assert shown in offered and hidden not in offered and unverified not in offered


def test_email_domains_route_to_the_provider(make):
    provider = _provider(make, email_domains="a.edu.cn,mail.a.edu.cn")
    assert services.provider_for_email("Zhang@Mail.A.edu.cn") == provider
    assert services.provider_for_email("zhang@b.edu.cn") is None
    assert services.provider_for_email("not-an-address") is None


def test_users_made_by_sign_on_are_ordinary_users(make):
    user = services.sign_in(_provider(make), _person())
    assert isinstance(user, User) and user.can_book
