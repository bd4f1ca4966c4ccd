"""Forms of the kiosk and of the lab manager's usage page."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateTimeLocalField, IntegerField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from booking.core.db import MAX_ID
from booking.core.web import EmailAddressField, InServiceWindow, SiteForm


class KioskPairForm(SiteForm):
    token = StringField(_l("Instrument token"), validators=[DataRequired(), Length(max=100)])


class KioskForm(SiteForm):
    email = EmailAddressField(_l("E-mail"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    walk_up_minutes = IntegerField(_l("Walk-up: planned minutes (internal users, no booking)"),
                                   validators=[Optional(), NumberRange(1, 720)])


class SessionForm(SiteForm):
    user_email = EmailAddressField(_l("User's e-mail"), validators=[DataRequired()])
    booking_id = IntegerField(_l("Booking number (optional)"), validators=[Optional(),
                                                                          NumberRange(1, MAX_ID)])
    start = DateTimeLocalField(_l("Start"), validators=[DataRequired(), InServiceWindow()])
    end = DateTimeLocalField(_l("End"), validators=[DataRequired(), InServiceWindow()])


class CorrectionForm(SiteForm):
    start = DateTimeLocalField(_l("Start"), validators=[Optional(), InServiceWindow()])
    end = DateTimeLocalField(_l("End"), validators=[Optional(), InServiceWindow()])
    void = BooleanField(_l("The use did not happen (void)"))
    note = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class WithdrawNoShowForm(SiteForm):
    """Once the booking is over, the reason is required (services.withdraw_no_show)."""
    reason = StringField(_l("Why it is withdrawn"), validators=[Optional(), Length(max=500)])


class InstrumentTokenForm(SiteForm):
    name = StringField(_l("Name (e.g. kiosk in room 101)"),
                       validators=[DataRequired(), Length(max=100)])
