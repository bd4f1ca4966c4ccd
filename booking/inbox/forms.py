from flask_babel import lazy_gettext as _l
from wtforms import SubmitField

from booking.core.web import CheckboxesField, SiteForm
from booking.inbox import rules


class PreferencesForm(SiteForm):
    """E-mail on or off per group of notices (the choices: the groups the user sees, set by
    the view), and the reminders wanted before a booking starts."""

    emailed = CheckboxesField(_l("Also send by e-mail"), choices=[])
    reminders = CheckboxesField(_l("Remind me of a booking"), choices=[
        (key, _l(str(rules.HORIZON_LABELS[key]))) for key in ("24h", "1h")])
    submit = SubmitField(_l("Save"))
