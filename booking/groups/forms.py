"""Forms of the groups pages."""
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from booking.core.categories import category_choices
from booking.core.web import (
    CheckboxesField,
    EmailAddressField,
    FiniteDecimalField,
    InServiceWindow,
    SiteForm,
    current_locale,
)
from booking.groups.rules import MAX_BUDGET_FEN

# how far ahead a project account may run (an NSFC grant runs up to five years)
_GRANT_WINDOW = InServiceWindow(any_past=True, years_ahead=10)


class GroupForm(SiteForm):
    name = StringField(_l("Group name"), validators=[DataRequired(), Length(max=200)])


class InviteForm(SiteForm):
    email = EmailAddressField(_l("E-mail of the user"),
                        validators=[DataRequired()])


class ApprovalSettingsForm(SiteForm):
    mode = SelectField(_l("PI approval before the lab sees a request"), choices=[
        SelectChoice("none", _l("Never")), SelectChoice("always", _l("Always")),
        SelectChoice("above_fee", _l("When the fee is above a threshold")),
        SelectChoice("categories", _l("For some instrument categories"))], default="none")
    threshold = FiniteDecimalField(_l("Threshold (CNY)"), places=2, default=0,
                                   validators=[Optional(), NumberRange(0, MAX_BUDGET_FEN // 100)])
    categories = CheckboxesField(_l("Instrument categories the PI approves"), choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.categories.choices = category_choices(current_locale())

    def validate_categories(self, field):
        if self.mode.data == "categories" and not field.data:
            raise ValidationError(_l("Tick at least one category."))

    def validate(self, extra_validators=None) -> bool:
        """The threshold and the categories count for their own mode only: the page hides
        them otherwise, and what they hold then is kept, not judged. The threshold is needed
        in its mode (Optional stops the field's validators when it is empty)."""
        super().validate(extra_validators)
        mode = self.mode.data
        if mode != "above_fee":
            self.threshold.errors = []
        elif self.threshold.data is None and not self.threshold.errors:
            self.threshold.errors = [_l("Give the fee above which the PI approves.")]
        if mode != "categories":
            self.categories.errors = []
        return not any(field.errors for field in self)


class ProjectForm(SiteForm):
    number = StringField(_l("Project number"), validators=[DataRequired(), Length(max=64)])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    funder = StringField(_l("Funder"), validators=[Optional(), Length(max=200)])
    valid_from = DateField(_l("Valid from"), validators=[DataRequired(), _GRANT_WINDOW])
    valid_until = DateField(_l("Valid until"), validators=[DataRequired(), _GRANT_WINDOW])
    budget = FiniteDecimalField(
        _l("Budget (CNY)"), places=2,
        validators=[InputRequired(), NumberRange(Decimal("0.01"), MAX_BUDGET_FEN // 100)])
    over_budget = SelectField(_l("A booking over the remaining budget"), choices=[
        SelectChoice("refuse", _l("is refused")),
        SelectChoice("pi", _l("goes to the PI to decide"))],
        default="refuse")

    def validate_valid_until(self, field):
        if self.valid_from.data and field.data and field.data < self.valid_from.data:
            raise ValidationError(_l("The end must not be before the start."))


class LimitForm(SiteForm):
    instrument = StringField(_l("Instrument"), validators=[Optional(), Length(max=500)],
                             render_kw={"autocomplete": "off", "list": "instrument-suggestions",
                                        "placeholder": _l("Type a name, then choose")})
    category = SelectField(_l("or instrument category"), choices=[], validators=[Optional()])
    limit = FiniteDecimalField(_l("Limit (CNY)"), places=2,
                               validators=[InputRequired(), NumberRange(0, MAX_BUDGET_FEN // 100)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [("", "—"), *category_choices(current_locale())]

    def validate(self, extra_validators=None) -> bool:
        """One target: an instrument or a category (Optional stops field validators when
        empty, so the pair is checked here)."""
        if not super().validate(extra_validators):
            return False
        if bool((self.instrument.data or "").strip()) == bool(self.category.data):
            self.category.errors.append(_l("Give either an instrument or a category."))
            return False
        return True


class DecisionForm(SiteForm):
    reason = StringField(_l("Reason (needed to reject)"), validators=[Optional(),
                                                                       Length(max=500)])
