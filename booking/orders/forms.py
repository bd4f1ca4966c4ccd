from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FieldList,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from booking.core.web import CheckboxesField, InServiceWindow, SiteForm, SubForm
from booking.orders import rules

SAMPLE_STATE_LABELS = {"solid": _l("solid"), "powder": _l("powder"), "liquid": _l("liquid"),
                       "film": _l("film")}
HAZARD_LABELS = {"toxic": _l("toxic"), "radioactive": _l("radioactive"),
                 "biological": _l("biological"), "flammable": _l("flammable")}
LEFTOVER_LABELS = {"return": _l("Return them to me"), "dispose": _l("The lab disposes of them")}
OUTCOME_LABELS = {"return": _l("Returned to the customer"), "dispose": _l("Disposed of")}
RELEASE_LABELS = {"issued": _l("once the invoice is issued"), "paid": _l("once it is paid")}
FORM_ROWS = 6  # sample rows on the page (the API takes up to rules.MAX_SAMPLE_LINES)


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


class SampleRow(SubForm):
    name = StringField(_l("Sample name"), validators=[Optional(), Length(max=200)])
    count = IntegerField(_l("Count"), default=1, validators=[Optional(), NumberRange(
        1, rules.MAX_SAMPLE_COUNT)], render_kw={"min": 1, "max": rules.MAX_SAMPLE_COUNT})
    state = SelectField(_l("Physical state"), choices=_choices(SAMPLE_STATE_LABELS),
                        default="solid")
    composition = StringField(_l("Composition (if known)"),
                              validators=[Optional(), Length(max=500)])
    hazards = CheckboxesField(_l("Hazards"), choices=_choices(HAZARD_LABELS),
                                 validate_choice=True)


class OrderForm(SiteForm):
    samples = FieldList(FormField(SampleRow), min_entries=FORM_ROWS, max_entries=FORM_ROWS)
    tests = CheckboxesField(_l("Tests from the instrument's capabilities"), choices=[],
                               validate_choice=True)
    other_tests = TextAreaField(_l("Other tests (one per line)"),
                                validators=[Optional(), Length(max=2000)])
    leftovers = RadioField(_l("Leftover samples"), choices=_choices(LEFTOVER_LABELS),
                           default="return", validators=[InputRequired()])
    desired_date = DateField(_l("Desired date"), validators=[Optional(), InServiceWindow()])
    urgent = BooleanField(_l("Urgent"))
    notes = TextAreaField(_l("Notes for the lab"), validators=[Optional(), Length(max=2000)])
    hazards_acknowledged = BooleanField(_l(
        "I declare the hazards above truthfully and understand that hazardous samples are "
        "refused unless the lab accepts them."))
    terms = BooleanField(_l("I accept the terms of the commission: the lab tests the samples "
                            "as listed, and I pay the quoted fee."))
    preview = SubmitField(_l("Update quote"))
    submit = SubmitField(_l("Submit order"))

    def sample_lines(self) -> list[rules.SampleLine]:
        """The rows with a name (blank rows are left out)."""
        return [rules.SampleLine(row.form.name.data.strip(), row.form.count.data or 0,
                                 row.form.state.data, row.form.composition.data or "",
                                 tuple(row.form.hazards.data or ()))
                for row in self.samples if (row.form.name.data or "").strip()]

    def test_names(self) -> list[str]:
        others = [line.strip() for line in (self.other_tests.data or "").splitlines()]
        return list(dict.fromkeys([*(self.tests.data or []), *(t for t in others if t)]))


class ReasonForm(SiteForm):
    reason = TextAreaField(_l("Reason for declining"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Decline"))


class ReceiveForm(SiteForm):
    condition = TextAreaField(_l("Condition as received"),
                              validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Samples received"))


class ScheduleForm(SiteForm):
    start = DateTimeLocalField(_l("Start"), format="%Y-%m-%dT%H:%M",
                               validators=[InputRequired(), InServiceWindow()])
    minutes = IntegerField(_l("Minutes"), default=60,
                           validators=[InputRequired(), NumberRange(15, 24 * 60)])
    submit = SubmitField(_l("Schedule"))


class ReportForm(SiteForm):
    report = MultipleFileField(_l("Report (PDF)"))
    data = MultipleFileField(_l("Data files"))
    submit = SubmitField(_l("Upload report"))


class PhotoForm(SiteForm):
    photo = MultipleFileField(_l("Photos (JPEG or PNG)"))
    submit = SubmitField(_l("Add photos"))


class CloseForm(SiteForm):
    outcome = RadioField(_l("Leftover samples"), choices=_choices(OUTCOME_LABELS),
                         validators=[InputRequired()])
    submit = SubmitField(_l("Close order"))


class SettingsForm(SiteForm):
    surcharge = IntegerField(_l("Urgency surcharge (%)"), default=0, validators=[
        InputRequired(), NumberRange(0, rules.MAX_SURCHARGE_PERCENT)])
    release_on = RadioField(_l("Customers download the report"),
                            choices=_choices(RELEASE_LABELS), default="issued",
                            validators=[InputRequired()])
    submit = SubmitField(_l("Save"))
