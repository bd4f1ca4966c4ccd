from flask_babel import lazy_gettext as _l
from wtforms import (
    FloatField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from booking.core.web import FiniteDecimalField, SiteForm
from booking.rankings.policy import INDICATOR_NAMES, INDICATORS, target_key
from booking.rankings.rules import PeriodError, parse_period

# Display labels for the stored codes.
INDICATOR_LABELS = {name: _l(text) for name, text in INDICATOR_NAMES.items()}
INDICATOR_UNITS = {
    "open_rate": _l("share of instruments in scope listed and bookable"),
    "directory_quality": _l("mean completeness x freshness of listings"),
    "decision_speed": _l("median hours to decide a request"),
    "turnaround": _l("median hours from samples received to report ready (test orders)"),
    "effective_hours": _l("effective / rated hours per instrument"),
    "idle_rate": _l("share of instruments unused in the period (lower is better)"),
    "outcomes": _l("voucher-backed services per instrument"),
    "external_share": _l("external share of effective hours"),
    "sme_reach": _l("SME clients per 10 instruments"),
    "user_rating": _l("mean stars (1-5)"),
    "external_income": _l("(internal + 1.5 x external income) / original value"),
}
#: indicators that are shares (shown in per cent) and those counted in hours
PERCENT_INDICATORS = frozenset({"open_rate", "directory_quality", "effective_hours", "idle_rate",
                                "external_share", "external_income"})
HOUR_INDICATORS = frozenset({"decision_speed", "turnaround"})
AREA_LABELS = {"organisation": _l("Organisation and management"), "operation": _l("Operation"),
               "sharing": _l("Sharing")}
GRADE_LABELS = {"excellent": _l("excellent"), "good": _l("good"), "pass": _l("pass"),
                "poor": _l("poor")}
FLAG_LABELS = {"no_listed_instruments": _l("no listed instruments"),
               "false_data": _l("false data")}


def _period(form, field):
    try:
        field.data = parse_period(field.data or "").label
    except PeriodError as exc:
        raise ValidationError(_l("Use YYYY or YYYYQn, e.g. 2026Q3.")) from exc


class ComputeForm(SiteForm):
    period = StringField(_l("Ranking period"), validators=[DataRequired(), Length(max=6), _period])
    submit = SubmitField(_l("Compute"))


class RewardPoolForm(SiteForm):
    amount_yuan = FiniteDecimalField(_l("Reward pool (CNY)"), places=2,
                                     validators=[InputRequired(), NumberRange(0, 10**11)])
    submit = SubmitField(_l("Set reward pool"))


class FlagForm(SiteForm):
    """Raise a false_data flag on an institution for a period."""

    org_id = SelectField(_l("Institution"), coerce=int)
    period = StringField(_l("Ranking period"), validators=[DataRequired(), Length(max=6), _period])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Flag false data"))


class ClearFlagForm(SiteForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Clear"))


class _PolicyFormBase(SiteForm):
    submit = SubmitField(_l("Save draft"))

    def weights(self) -> dict[str, int]:
        return {name: self[f"weight_{name}"].data for name in INDICATORS}

    def targets(self) -> dict[str, float]:
        return {name: self[f"target_{name}"].data for name in INDICATORS}


def policy_form(rules: dict) -> _PolicyFormBase:
    """A form with a weight and a target per indicator, filled from `rules`."""
    fields, data = {}, {}
    for name in INDICATORS:
        spec = rules["indicators"][name]
        fields[f"weight_{name}"] = IntegerField(INDICATOR_LABELS[name],
                                                validators=[InputRequired(), NumberRange(0, 100)])
        fields[f"target_{name}"] = FloatField(_l("Target"), validators=[InputRequired(),
                                                                        NumberRange(0, 10**12)])
        data[f"weight_{name}"] = spec["weight"]
        data[f"target_{name}"] = spec[target_key(name)]
    form_class = type("PolicyForm", (_PolicyFormBase,), fields)
    return form_class(data=data)
