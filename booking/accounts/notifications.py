"""What people are told about their accounts, each in the recipient's own locale."""
from flask_babel import gettext as _

from booking.accounts.models import Organisation, User
from booking.core.notifications import notify
from booking.core.security import external_url, site_path


def notify_member_pending(manager: User, member: User) -> None:
    organisation = member.organisation
    notify(manager, "member.pending", lambda: (
        _("New member waiting for confirmation"),
        _("%(name)s (%(email)s) asked to join %(org)s. Confirm at %(url)s", name=member.name,
          email=member.email, org=organisation.display_name(manager.locale),
          url=external_url("accounts.members", org_id=organisation.id))))


def notify_organisation_registered(staff: User, organisation: Organisation,
                                   registrant: User) -> None:
    """An enterprise registered: bureau staff verify it before its people can book."""
    notify(staff, "organisation.registered", lambda: (
        _("An enterprise waits for verification"),
        _("%(org)s (credit code %(code)s) registered with %(name)s (%(email)s). Its members "
          "can book once it is verified.", org=organisation.display_name(staff.locale),
          code=organisation.credit_code, name=registrant.name, email=registrant.email)),
        link=site_path("admin.organisations", state="unverified"))


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


def notify_email_confirmation(user: User, token: str) -> None:
    notify(user, "account.confirm_email", lambda: (
        _("Confirm your e-mail address"),
        _("Open this link within 7 days to confirm %(email)s and start booking: %(url)s",
          email=user.email, url=external_url("accounts.confirm_email", token=token))))
