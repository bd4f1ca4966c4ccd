from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    IntegerField,
    RadioField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional

from booking.bookings.labels import MODE_LABELS
from booking.bookings.rules import MAX_SAMPLES
from booking.core.web import InServiceWindow

MODE_CHOICES = list(MODE_LABELS.items())


class BookingForm(FlaskForm):
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
    submit = SubmitField(_l("Request booking"))

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


class BulkDecisionForm(FlaskForm):
    """Approve or reject the ticked requests of the queue (ids come as repeated `ids`)."""

    reason = StringField(_l("Reason for rejecting"), validators=[Optional(), Length(max=500)])


class RejectForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Reject"))


class CancelForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Cancel booking"))


class TrainingRequestForm(FlaskForm):
    message = TextAreaField(_l("Message to the lab"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Request training"))


class QualificationForm(FlaskForm):
    email = StringField(_l("E-mail of the user"),
                        validators=[DataRequired(), Email(), Length(max=254)])
    submit = SubmitField(_l("Grant qualification"))


class RatingForm(FlaskForm):
    stars = RadioField(_l("Stars"), coerce=int,
                       choices=[SelectChoice(n, str(n)) for n in range(5, 0, -1)],
                       validators=[InputRequired()])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=1000)])
    submit = SubmitField(_l("Submit rating"))
