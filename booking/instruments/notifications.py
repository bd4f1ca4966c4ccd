"""What lab managers are told about their instruments, in the manager's locale."""
from flask_babel import gettext as _

from booking.accounts.models import User
from booking.core.notifications import notify
from booking.instruments import rules
from booking.instruments.models import Instrument

REMINDER_KIND = "instrument.stale_reminder"


def notify_stale(manager: User, instruments: list[Instrument], console_url: str) -> None:
    """Instruments not reviewed for a while: their information may be out of date."""
    lines = "\n".join(f"- {i.display_name(manager.locale)} (#{i.id})" for i in instruments)
    notify(manager, REMINDER_KIND, lambda: (
        _("Please review your instrument information"),
        "\n".join([_("These instruments were not reviewed for %(days)d days:",
                     days=rules.STALE_AFTER_DAYS), lines,
                   _("Review them at %(url)s", url=console_url)])))
