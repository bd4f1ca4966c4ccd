"""What the console tells people, each in the recipient's own locale."""
from flask_babel import gettext as _

from booking.accounts.models import User
from booking.core.notifications import notify
from booking.core.problems import LIST_SEPARATOR
from booking.core.security import external_url
from booking.labels import role_label


def notify_invited(user: User, actor: User, token: str) -> None:
    notify(user, "account.invited", lambda: (
        _("You have an account on the shared-instrument platform"),
        _("%(actor)s created an account for you (%(email)s) at %(org)s, as %(roles)s. Choose "
          "your password within 7 days at %(url)s (later, use \"Forgot password\" on the login "
          "page).", actor=actor.name, email=user.email,
          org=user.organisation.display_name(user.locale),
          roles=_(LIST_SEPARATOR).join(map(role_label, user.role_names())),
          url=external_url("accounts.reset_password", token=token))))
