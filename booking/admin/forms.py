from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from booking.accounts.forms import LOCALE_CHOICES, _credit_code
from booking.accounts.rules import ORG_KINDS
from booking.core.web import EmailAddressField, SiteForm
from booking.labels import kind_label


class OrganisationForm(SiteForm):
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    name_zh = StringField(_l("Name (Chinese)"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=200)])
    credit_code = StringField(_l("Unified social credit code"),  # pasted with spaces: read
                              validators=[DataRequired(), _credit_code])  # as the checker does
    city = StringField(_l("City"), validators=[DataRequired(), Length(max=64)])
    region_code = StringField(
        _l("Region code"), validators=[Optional(), Regexp(r"^\d{2,6}$", message=_l(
            "Region code must be 2 to 6 digits, e.g. 2102 for Dalian."))])
    short_code = StringField(_l("Invoice prefix"), validators=[
        Optional(), Length(max=16), Regexp(r"^[A-Z0-9]+$", message=_l(
            "Capital letters and digits only."))])
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [(k, kind_label(k)) for k in ORG_KINDS]

    def fields_dict(self) -> dict:
        return {name: getattr(self, name).data for name in
                ("kind", "name_zh", "name_en", "credit_code", "city", "region_code",
                 "short_code")}


class InviteForm(SiteForm):
    email = EmailAddressField(_l("E-mail"), validators=[DataRequired()])
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=100)])
    organisation = SelectField(_l("Organisation"), coerce=int, validators=[DataRequired()])
    roles = SelectMultipleField(_l("Roles"), validators=[DataRequired()])
    locale = SelectField(_l("Language"), choices=LOCALE_CHOICES, default="zh_CN")
    submit = SubmitField(_l("Send invitation"))


class ReasonForm(SiteForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Deactivate"))
