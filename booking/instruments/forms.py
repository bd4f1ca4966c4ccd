from datetime import datetime, time
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from booking.bookings.labels import CLASS_LABELS
from booking.core.categories import category_choices
from booking.core.clock import from_local, local_today
from booking.core.money import yuan_to_fen
from booking.core.web import (
    EmailAddressField,
    FiniteDecimalField,
    InServiceWindow,
    PastDate,
    PercentField,
    SiteForm,
    TimezoneField,
)
from booking.instruments import rules

WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
            _l("Saturday"), _l("Sunday"))
STATUS_LABELS = {"active": _l("in service"), "maintenance": _l("under maintenance"),
                 "retired": _l("retired")}
MODE_LABELS = {"self_operated": _l("self-operated"), "staff_operated": _l("staff-operated")}
# Completeness keys of rules.COMPLETENESS_FIELDS -> what to tell the manager is missing.
COMPLETENESS_LABELS = {
    "name_en": _l("English name"), "model": _l("model"), "manufacturer": _l("manufacturer"),
    "purchase_date": _l("purchase date"), "original_value_fen": _l("original value"),
    "location": _l("location"), "lab": _l("laboratory"), "contact": _l("contact"),
    "description": _l("description"), "capabilities": _l("capabilities"), "photo": _l("photo"),
    "rates": _l("rates"), "hours": _l("opening hours"),
}
_MONEY = [InputRequired(), NumberRange(min=0, message=_l("Must not be negative.")),
          NumberRange(max=10**10, message=_l("At most 10,000,000,000 yuan."))]


def _known_class(form, field):
    from booking.instruments import classification

    if field.data and field.data not in classification.classes():
        raise ValidationError(_l("Not a valid choice."))


def national_class_choices(locale: str) -> list[tuple[str, str]]:
    from booking.instruments import classification

    return [("", "—")] + [(c.code, ("\u2003" if c.parent else "") + f"{c.code} {c.label(locale)}")
                          for c in classification.classes().values()]


def _minutes(label, default, low=1, high=rules.MAX_BOOKING_MINUTES):
    return IntegerField(label, default=default, validators=[InputRequired(),
                                                            NumberRange(low, high)])


_ROWS = {"rows": 5}  # the long texts of an instrument: a paragraph, a list


class InstrumentForm(SiteForm):
    organisation_id = SelectField(_l("Institution"), coerce=int)
    name_zh = StringField(_l("Name (Chinese)"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=200)])
    model = StringField(_l("Model"), validators=[Optional(), Length(max=120)])
    manufacturer = StringField(_l("Manufacturer"), validators=[Optional(), Length(max=120)])
    category = SelectField(_l("Category"), choices=category_choices("zh_CN"))
    # checked by _known_class: an instrument without a class loads None, not a choice
    national_class = SelectField(_l("National class"), choices=[], validate_choice=False,
                                 validators=[Optional(), _known_class])
    asset_number = StringField(_l("Asset number"), validators=[Optional(), Length(max=64)])
    original_value = FiniteDecimalField(_l("Original value (CNY)"), places=2, default=Decimal(0),
                                        validators=_MONEY)
    purchase_date = DateField(_l("Purchase date"), validators=[Optional(), PastDate()])
    lab = StringField(_l("Laboratory"), validators=[Optional(), Length(max=200)])
    lab_en = StringField(_l("Laboratory (English)"), validators=[Optional(), Length(max=200)])
    location = StringField(_l("Location"), validators=[Optional(), Length(max=200)])
    location_en = StringField(_l("Location (English)"), validators=[Optional(), Length(max=200)])
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=100)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=32)])
    contact_email = EmailAddressField(_l("Contact e-mail"),
                                validators=[Optional()])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)],
                                render_kw=_ROWS)
    description_en = TextAreaField(_l("Description (English)"),
                                   validators=[Optional(), Length(max=5000)], render_kw=_ROWS)
    capabilities = TextAreaField(_l("Capabilities and typical tests (one per line)"),
                                 validators=[Optional(), Length(max=5000)], render_kw=_ROWS)
    capabilities_en = TextAreaField(_l("Capabilities and typical tests (English, one per line)"),
                                    validators=[Optional(), Length(max=5000)], render_kw=_ROWS)
    allows_self_operated = BooleanField(_l("Self-operated use"), default=True)
    allows_staff_operated = BooleanField(_l("Staff-operated service (samples sent in)"),
                                         default=True)
    status = SelectField(_l("Status"), choices=list(STATUS_LABELS.items()), default="active")
    is_public = BooleanField(_l("Listed in the public directory"), default=True)
    timezone = TimezoneField(_l("Time zone"), default="Asia/Shanghai")
    slot_minutes = _minutes(_l("Slot grid (minutes)"), 30, 5, 1440)
    min_minutes = _minutes(_l("Shortest booking (minutes)"), 30)
    max_minutes = _minutes(_l("Longest booking (minutes)"), 480)
    lead_minutes = _minutes(_l("Book at least this many minutes ahead"), 60, 0)
    max_days_ahead = _minutes(_l("Book at most this many days ahead"), 60, 1, 730)
    cancel_deadline_hours = _minutes(_l("Free cancellation until (hours before)"), 24, 0, 720)
    requires_approval = BooleanField(_l("Bookings need approval"), default=True)
    approval_timeout_hours = _minutes(_l("Undecided requests expire after (hours)"), 48, 1, 720)
    check_in_early_minutes = _minutes(_l("Check-in opens before the booked start (minutes)"),
                                      15, 0, 240)
    # per cent on the page (a manager writes 50 %), a fraction stored (three decimals)
    no_show_fraction = PercentField(_l("No-show charge (per cent of the booked time's fee)"),
                                    places=1, default=Decimal("0.5"))
    late_cancel_fraction = PercentField(
        _l("Late-cancellation charge (per cent of the booked time's fee)"), places=1,
        default=Decimal("0.5"))
    requires_qualification = BooleanField(_l("Self-operated use needs a qualification"))
    qualification_lapse_days = IntegerField(_l("Qualification lapses after (days unused)"),
                                            validators=[Optional(), NumberRange(1, 3650)])
    per_sample_fee = FiniteDecimalField(_l("Fee per sample, staff-operated (CNY)"), places=2,
                                        default=Decimal(0), validators=_MONEY)
    submit = SubmitField(_l("Save"))

    # Form fields copied as they are onto the Instrument.
    PLAIN = ("name_zh", "name_en", "model", "manufacturer", "category", "purchase_date", "lab",
             "lab_en", "location", "location_en", "contact_name", "contact_phone", "contact_email",
             "description", "description_en", "capabilities", "capabilities_en",
             "allows_self_operated", "allows_staff_operated",
             "status", "is_public", "timezone", "slot_minutes", "min_minutes", "max_minutes",
             "lead_minutes", "max_days_ahead", "cancel_deadline_hours", "requires_approval",
             "approval_timeout_hours", "check_in_early_minutes", "no_show_fraction", "late_cancel_fraction",
             "requires_qualification", "qualification_lapse_days")

    def load(self, instrument) -> None:
        """Fill the money fields (stored in fen) from an instrument."""
        self.original_value.data = Decimal(instrument.original_value_fen) / 100
        self.per_sample_fee.data = Decimal(instrument.per_sample_fee_fen) / 100

    def instrument_fields(self) -> dict:
        fields = {name: getattr(self, name).data for name in self.PLAIN}
        fields["national_class"] = self.national_class.data or None
        fields["asset_number"] = (self.asset_number.data or "").strip() or None
        for name in ("name_zh", "name_en", "model", "manufacturer", "lab", "lab_en",
                     "location", "contact_name", "contact_phone", "contact_email"):
            fields[name] = (fields[name] or "").strip()
        fields["original_value_fen"] = yuan_to_fen(self.original_value.data)
        fields["per_sample_fee_fen"] = yuan_to_fen(self.per_sample_fee.data)
        return fields

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not (self.allows_self_operated.data or self.allows_staff_operated.data):
            self.allows_staff_operated.errors.append(_("Offer at least one service mode."))
            return False
        problems = rules.booking_rules_problems(self.slot_minutes.data, self.min_minutes.data,
                                               self.max_minutes.data)
        self.max_minutes.errors.extend(_(p) for p in problems)
        return not problems


class RateForm(SiteForm):
    customer_class = SelectField(_l("Customer class"), choices=list(CLASS_LABELS.items()))
    hourly = FiniteDecimalField(_l("Hourly price (CNY)"), places=2, validators=_MONEY)
    rounding_minutes = IntegerField(_l("Rounding increment (minutes)"), default=15,
                                    validators=[InputRequired(), NumberRange(1, 240)])
    minimum_minutes = IntegerField(_l("Minimum charge (minutes)"), default=30,
                                   validators=[InputRequired(), NumberRange(0, 1440)])
    setup_fee = FiniteDecimalField(_l("Set-up fee (CNY)"), places=2, default=Decimal(0),
                                   validators=_MONEY)
    # a date in the past means "from now on" (the service moves it); today by default
    valid_from = DateField(_l("Valid from"), default=local_today,
                           validators=[DataRequired(), InServiceWindow(any_past=True)])
    submit = SubmitField(_l("Add rate"))


class HoursForm(SiteForm):
    """One text field per weekday: "08:00-12:00, 13:30-18:00", empty when closed."""

    day0 = StringField(WEEKDAYS[0])
    day1 = StringField(WEEKDAYS[1])
    day2 = StringField(WEEKDAYS[2])
    day3 = StringField(WEEKDAYS[3])
    day4 = StringField(WEEKDAYS[4])
    day5 = StringField(WEEKDAYS[5])
    day6 = StringField(WEEKDAYS[6])
    submit = SubmitField(_l("Save opening hours"))

    def days(self):
        return [getattr(self, f"day{d}") for d in range(7)]

    def load(self, opening_hours) -> None:
        for day, field in enumerate(self.days()):
            field.data = ", ".join(f"{h.opens:%H:%M}-{rules.clock_text(h.closes)}"
                                   for h in opening_hours if h.weekday == day)

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        self.intervals = {}
        for day, field in enumerate(self.days()):
            self.intervals[day], problems = rules.parse_intervals(field.data)
            field.errors = list(field.errors) + [_(p) for p in problems]
            ok = ok and not problems
        return ok


class ExceptionForm(SiteForm):
    day = DateField(_l("Date"), validators=[DataRequired(), InServiceWindow()])
    closed = BooleanField(_l("Closed all day"), default=True)
    opens = TimeField(_l("Opens"), validators=[Optional()])
    closes = TimeField(_l("Closes"), validators=[Optional()])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Add exception"))

    def hours(self) -> tuple[time | None, time | None]:
        return (None, None) if self.closed.data else (self.opens.data, self.closes.data)

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.closed.data and (self.opens.data or self.closes.data):
            # hours typed under 'closed all day' (ticked by default) were dropped unsaid
            self.closed.errors.append(_("Closed all day, or open at the hours typed: untick "
                                        "closed, or clear the hours."))
            return False
        if self.closed.data:
            return True
        if not (self.opens.data and self.closes.data):
            self.opens.errors.append(_("Give the special opening hours, or tick closed."))
            return False
        problems = rules.interval_problems([(self.opens.data, self.closes.data)])
        self.closes.errors.extend(_(p) for p in problems)
        return not problems


class BlackoutForm(SiteForm):
    start = DateTimeLocalField(_l("From (instrument local time)"), format="%Y-%m-%dT%H:%M",
                               validators=[DataRequired(), InServiceWindow()])
    end = DateTimeLocalField(_l("Until (instrument local time)"), format="%Y-%m-%dT%H:%M",
                             validators=[DataRequired(), InServiceWindow()])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=200)])
    confirmed = HiddenField()  # "1": the lab has seen the bookings it cancels
    submit = SubmitField(_l("Add blackout"))

    def utc_range(self, tz_name: str) -> tuple[datetime, datetime]:
        return from_local(self.start.data, tz_name), from_local(self.end.data, tz_name)

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.end.data <= self.start.data:
            self.end.errors.append(_("The end must be after the start."))
            return False
        return True


class PhotoForm(SiteForm):
    photo = FileField(_l("Photo (JPEG, PNG or WebP, at most 5 MB)"),
                      validators=[FileRequired()])
    submit = SubmitField(_l("Upload photo"))
