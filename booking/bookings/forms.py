from datetime import timedelta

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from booking.bookings.labels import MODE_LABELS
from booking.bookings.recurrence import MAX_INTERVAL, MAX_OCCURRENCES, WEEKDAYS, Repeat
from booking.bookings.rules import MAX_SAMPLES, too_far_ahead
from booking.core.clock import local_today, now_utc, to_local
from booking.core.web import EmailAddressField, InServiceWindow, SiteForm, SubForm

MODE_CHOICES = list(MODE_LABELS.items())


class BookingForm(SiteForm):
    start = DateTimeLocalField(_l("Start"), format="%Y-%m-%dT%H:%M",
                               validators=[InputRequired(), InServiceWindow()])
    end = DateTimeLocalField(_l("End"), format="%Y-%m-%dT%H:%M",
                             validators=[InputRequired(), InServiceWindow()])
    mode = RadioField(_l("Service mode"), choices=MODE_CHOICES, default="self_operated",
                      validators=[InputRequired()])
    # Staff-operated (送样) only: the page shows it with that mode; the service checks 1-1000.
    samples = IntegerField(_l("Number of samples"), validators=[Optional()],
                           render_kw={"min": 1, "max": MAX_SAMPLES, "inputmode": "numeric"},
                           description=_l("Samples you hand in; the lab charges per sample."))
    purpose = TextAreaField(_l("Purpose"), validators=[DataRequired(), Length(max=2000)],
                            description=_l("What you will measure, samples, special needs."))
    # The project account (经费卡) charged: offered when the user may charge any; 0 = none.
    project = SelectField(_l("Charged to project"), coerce=int, default=0,
                          choices=[SelectChoice(0, "")], validate_choice=True)
    submit = SubmitField(_l("Request booking"))

    def set_projects(self, projects: list, default_id: int | None) -> None:
        """Offer the user's project accounts, their default preselected."""
        self.project.choices = [SelectChoice(0, _l("No project (pay yourself)"))] + [
            SelectChoice(p.id, p.label) for p in projects]
        if not self.is_submitted() and default_id in {p.id for p in projects}:
            self.project.data = default_id

    def set_modes(self, self_operated: bool, staff_operated: bool) -> None:
        offered = {"self_operated": self_operated, "staff_operated": staff_operated}
        self.mode.choices = [(v, label) for v, label in MODE_CHOICES if offered[v]]
        if not self.is_submitted() and not offered.get(self.mode.data):
            self.mode.data = self.mode.choices[0][0]

    @property
    def sample_count(self) -> int:
        """The samples of a staff-operated request; a self-operated one hands in none (the
        hidden field's value is ignored)."""
        return (self.samples.data or 0) if self.mode.data == "staff_operated" else 0


class BulkDecisionForm(SiteForm):
    """Approve or reject the ticked requests of the queue (ids come as repeated `ids`)."""

    reason = StringField(_l("Reason for rejecting"), validators=[Optional(), Length(max=500)])


class RejectForm(SiteForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Reject"))


class CancelForm(SiteForm):
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Cancel booking"))


class TrainingRequestForm(SiteForm):
    message = TextAreaField(_l("Message to the lab"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Request training"))


class QualificationForm(SiteForm):
    email = EmailAddressField(_l("E-mail of the user"),
                        validators=[DataRequired()])
    submit = SubmitField(_l("Grant qualification"))


class RatingForm(SiteForm):
    stars = RadioField(_l("Stars"), coerce=int,
                       choices=[SelectChoice(n, str(n)) for n in range(5, 0, -1)],
                       validators=[InputRequired()])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=1000)])
    submit = SubmitField(_l("Submit rating"))


def on_slot_grid(form, slot_minutes: int, timezone: str, max_days_ahead: int) -> None:
    """The times' pickers step by the instrument's slot from today's midnight on (the step's
    base is `min`: from now, it would be off the grid) up to the instrument's horizon; a time
    typed beyond the horizon is refused with the horizon's words (not the service window's,
    which reaches years further)."""
    today = local_today(tz_name=timezone)
    last = to_local(now_utc() + timedelta(days=max_days_ahead), timezone)  # as the rule reads it
    for field in (form.start, form.end):
        field.render_kw = {**(field.render_kw or {}), "step": slot_minutes * 60,
                           "min": f"{today.isoformat()}T00:00", "max": f"{last:%Y-%m-%dT%H:%M}"}
    form.too_far_ahead = too_far_ahead(max_days_ahead).text()


class RescheduleForm(SiteForm):
    """Move a booking: the new times in the instrument's local time. `check` shows the new
    price and what the time breaks before anything changes."""
    start = DateTimeLocalField(_l("New start"), format="%Y-%m-%dT%H:%M",
                               validators=[InputRequired(), InServiceWindow()])
    end = DateTimeLocalField(_l("New end"), format="%Y-%m-%dT%H:%M",
                             validators=[InputRequired(), InServiceWindow()])
    check = SubmitField(_l("Check the new time"))
    submit = SubmitField(_l("Move the booking"))


class RepeatForm(SubForm):
    """How a requested booking repeats (a series): part of the booking form's POST, and the
    query of its series preview; no CSRF of its own (the booking form carries it). Bounded
    here, checked in full by recurrence.repeat_problems."""

    freq = SelectField(_l("Repeat"), choices=[
        SelectChoice("", _l("Does not repeat")), SelectChoice("daily", _l("Daily")),
        SelectChoice("weekly", _l("Weekly")), SelectChoice("monthly", _l("Monthly"))],
        default="")
    interval = IntegerField(_l("Every"), default=1,
                            validators=[Optional(), NumberRange(1, MAX_INTERVAL)],
                            render_kw={"min": 1, "max": MAX_INTERVAL, "inputmode": "numeric"})
    byweekday = SelectMultipleField(_l("On"), choices=[SelectChoice(d, d) for d in WEEKDAYS],
                                    validators=[Optional()])
    ends = RadioField(_l("Ends"), choices=[SelectChoice("count", _l("After a number of times")),
                                           SelectChoice("until", _l("On a date"))],
                      default="count")
    count = IntegerField(_l("Times"), default=10,
                         validators=[Optional(), NumberRange(1, MAX_OCCURRENCES)],
                         render_kw={"min": 1, "max": MAX_OCCURRENCES, "inputmode": "numeric"})
    until = DateField(_l("Last day"), validators=[Optional(), InServiceWindow()])

    def __init__(self, formdata=None, **kwargs):
        super().__init__(formdata, prefix="repeat", **kwargs)

    def repeat(self) -> Repeat | None:
        """The rule (None: the booking does not repeat); call after validate()."""
        if not self.freq.data:
            return None
        by_count = self.ends.data != "until"
        return Repeat(self.freq.data, self.interval.data or 1,
                      tuple(self.byweekday.data or ()) if self.freq.data == "weekly" else (),
                      count=self.count.data if by_count else None,
                      until=None if by_count else self.until.data)


class BookForForm(BookingForm):
    """The lab books for someone: a registered user (found by e-mail or name, then picked) or
    a walk-in registered on the spot."""
    who = StringField(_l("User: e-mail or name"), validators=[Optional(), Length(max=254)])
    user_id = RadioField(_l("Pick the user"), coerce=int, choices=[], validate_choice=False,
                         validators=[Optional()])
    new_name = StringField(_l("Name"), validators=[Optional(), Length(max=100)])
    new_email = EmailAddressField(_l("E-mail"), validators=[Optional()])
    new_organisation = SelectField(_l("Organisation"), coerce=int, choices=[],
                                   validate_choice=False, validators=[Optional()])
    samples = IntegerField(_l("Number of samples"), validators=[Optional()],
                           render_kw={"min": 1, "max": MAX_SAMPLES, "inputmode": "numeric"},
                           description=_l("Samples the user hands in; the lab charges per "
                                          "sample."))
    purpose = TextAreaField(_l("Purpose"), validators=[DataRequired(), Length(max=2000)],
                            description=_l("What the user will measure, samples, special needs."))
    submit = SubmitField(_l("Book for this user"))
