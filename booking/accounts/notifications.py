"""What people are told about their accounts, each in the recipient's own locale."""
from flask_babel import gettext as _

from booking.accounts.models import Organisation, User
from booking.core.notifications import notify
from booking.core.security import external_url


def notify_member_pending(manager: User, member: User) -> None:
    organisation = member.organisation
    notify(manager, "member.pending", lambda: (
        _("New member waiting for confirmation"),
        _("%(name)s (%(email)s) asked to join %(org)s. Confirm at %(url)s", name=member.name,
          email=member.email, org=organisation.display_name(manager.locale),
          url=external_url("accounts.members", org_id=organisation.id))))


def notify_organisation_verified(member: User, organisation: Organisation) -> None:
    notify(member, "organisation.verified", lambda: (
        _("Your organisation has been verified"),
        _("%(org)s is verified. You can now book instruments.",
          org=organisation.display_name(member.locale))))


def notify_membership_confirmed(member: User) -> None:
    notify(member, "member.confirmed", lambda: (
        _("Your membership has been confirmed"),
        _("%(org)s confirmed your membership.",
          org=member.organisation.display_name(member.locale))))


def notify_password_reset(user: User, token: str) -> None:
    notify(user, "password.reset", lambda: (
        _("Reset your password"),
        _("Open this link within 2 hours to choose a new password: %(url)s",
          url=external_url("accounts.reset_password", token=token))))
