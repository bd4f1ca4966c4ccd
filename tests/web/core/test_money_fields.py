"""Money typed into a form: finite, at most two decimals, and one message for one mistake."""
import pytest
from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms.validators import InputRequired, NumberRange, Optional

from booking.core.web import FiniteDecimalField


class AmountForm(Form):
    required = FiniteDecimalField(validators=[InputRequired(), NumberRange(0, 100)])
    optional = FiniteDecimalField(validators=[Optional(), NumberRange(0, 100)])


@pytest.mark.parametrize("typed, errors", [
    ({"required": "12.34"}, {}),
    ({"required": "5.000"}, {}),  # the same five yuan
    ({"required": "1e400"}, {"required": ["Not a valid decimal value."]}),
    ({"required": "1e1"}, {"required": ["Not a valid decimal value."]}),  # digits, not ¥10
    ({"required": "12.345"}, {"required": ["At most 2 decimal places."]}),
    ({"required": "abc"}, {"required": ["Not a valid decimal value."]}),
    ({"required": "NaN"}, {"required": ["Not a valid decimal value."]}),
    ({"required": "101"}, {"required": ["Number must be between 0 and 100."]}),
    ({"required": ""}, {"required": ["This field is required."]}),
    ({"required": "1", "optional": ""}, {}),
    ({"required": "1", "optional": "0.001"}, {"optional": ["At most 2 decimal places."]}),
])
def test_one_message_for_one_mistake(app, typed, errors):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        form = AmountForm(MultiDict(typed))
        form.validate()
        assert form.errors == errors


@pytest.mark.parametrize("typed, errors", [
    ({"days": "abc", "day": "2026-03-01"}, {"days": ["Not a valid integer value."]}),
    ({"days": "5", "day": "2026-02-30"}, {"day": ["Not a valid date value."]}),
    ({"days": "", "day": ""}, {"days": ["This field is required."],
                               "day": ["This field is required."]}),
    ({"days": "500", "day": "2026-03-01"}, {"days": ["Number must be between 1 and 365."]}),
])
def test_what_cannot_be_read_says_so_alone(app, typed, errors):
    """Letters in a number read "not a valid integer" and "must be between 1 and 365"; a
    date that does not exist read "this field is required"."""
    from wtforms import DateField, IntegerField
    from wtforms.validators import DataRequired

    from booking.core.web import SiteForm

    class Settings(SiteForm):
        days = IntegerField(validators=[DataRequired(), NumberRange(1, 365)])
        day = DateField(validators=[DataRequired()])

    with app.test_request_context(headers={"Accept-Language": "en"}):
        form = Settings(MultiDict(typed), meta={"csrf": False})
        form.validate()
        assert form.errors == errors
