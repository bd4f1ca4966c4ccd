"""What people are told about their accounts, each in the recipient's own locale."""
from flask_babel import gettext as _

from booking.accounts.models import Organisation, User
from booking.core.notifications import compose_notice, notify, queue_message
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


def notify_email_change_requested(user: User, new_email: str, token: str) -> None:
    """The link goes to the new address only (opening it proves the address is the user's);
    the current one hears of the request, in case it was not the user's."""
    link = compose_notice(user, "account.email_change", lambda: (
        _("Confirm your new e-mail address"),
        _("Open this link within 2 days to make %(email)s the address of your account: "
          "%(url)s", email=new_email, url=external_url("accounts.change_email", token=token))))
    queue_message(new_email, link.subject, link.body, link.kind)
    notify(user, "account.email_change_requested", lambda: (
        _("A change of your e-mail address was asked"),
        _("Someone logged in as you asked to change your address to %(email)s; it changes once "
          "the link sent there is opened. If it was not you, change your password: %(url)s",
          email=new_email, url=external_url("accounts.profile"))))


def notify_email_changed(user: User, before: str) -> None:
    """The old address hears of the change: the last message it gets about the account."""
    notice = compose_notice(user, "account.email_changed", lambda: (
        _("Your e-mail address was changed"),
        _("Your account's address is now %(email)s; this one (%(before)s) gets no more "
          "messages. If you did not ask for it, tell the platform's administrators at once.",
          email=user.email, before=before)))
    queue_message(before, notice.subject, notice.body, notice.kind)
