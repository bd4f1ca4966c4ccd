from flask_babel import lazy_gettext as _l
from wtforms import SelectMultipleField, SubmitField, widgets

from booking.core.web import SiteForm
from booking.inbox import rules


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes; a value not among the choices is refused."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class PreferencesForm(SiteForm):
    """E-mail on or off per group of notices (the choices: the groups the user sees, set by
    the view), and the reminders wanted before a booking starts."""

    emailed = CheckboxesField(_l("Also send by e-mail"), choices=[])
    reminders = CheckboxesField(_l("Remind me of a booking"), choices=[
        (key, _l(str(rules.HORIZON_LABELS[key]))) for key in ("24h", "1h")])
    submit = SubmitField(_l("Save"))
