from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from booking.accounts.rules import (
    credit_code_problem,
    is_valid_region_code,
    password_problems,
    region_of_city,
)
from booking.core.web import (
    EmailAddressField,
    PastDate,
    SiteForm,
    TimezoneField,
    current_locale,
)


def _password_strength(form, field):
    """`account_email`: the address of the account whose password changes (a form without
    an e-mail field: the profile's, the reset's), set by the route."""
    email = getattr(form, "account_email", None) or (
        getattr(form, "email", None) and form.email.data)
    problems = password_problems(field.data or "", email)
    if problems:
        raise ValidationError(_l("Password too weak: %(why)s",
                                 why="; ".join(p.text() for p in problems)))


def _credit_code(form, field):
    problem = credit_code_problem(field.data or "")
    if problem:
        raise ValidationError(_l("Invalid unified social credit code: %(why)s",
                                 why=gettext(problem)))


def _region_code(form, field):
    if not is_valid_region_code(field.data or ""):
        raise ValidationError(_l("Region code must be 2 to 6 digits, e.g. 2102 for Dalian."))


LOCALE_CHOICES = [("zh_CN", "中文"), ("en", "English")]


class LoginForm(SiteForm):
    email = StringField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Remember me"))
    submit = SubmitField(_l("Log in"))


class _AccountFields(SiteForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=100)])
    email = EmailAddressField(_l("E-mail"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200),
                                                         _password_strength])
    confirm = PasswordField(_l("Repeat password"), validators=[
        DataRequired(), EqualTo("password", message=_l("Passwords do not match."))])
    # the language the page was read in, which registering visitors chose already
    locale = SelectField(_l("Language"), choices=LOCALE_CHOICES, default=current_locale)


class JoinForm(_AccountFields):
    organisation_id = SelectField(_l("Organisation"), coerce=int,
                                  validators=[DataRequired()])
    as_student = BooleanField(_l("I am a student"))
    submit = SubmitField(_l("Register"))


class EnterpriseForm(_AccountFields):
    org_name_zh = StringField(_l("Enterprise name (Chinese)"),
                              validators=[DataRequired(), Length(max=200)])
    org_name_en = StringField(_l("Enterprise name (English)"),
                              validators=[Optional(), Length(max=200)])
    credit_code = StringField(_l("Unified social credit code"),
                              validators=[DataRequired(), _credit_code])
    city = StringField(_l("City"), validators=[DataRequired(), Length(max=64)])
    region_code = StringField(_l("Region code"),
                              validators=[Optional(), _region_code])
    founded_on = DateField(_l("Founded on"), validators=[Optional(), PastDate()])
    staff_count = IntegerField(_l("Staff"), validators=[Optional(), NumberRange(0, 10_000_000)])
    annual_revenue_yuan = IntegerField(_l("Annual revenue (CNY)"),
                                       validators=[Optional(), NumberRange(0, 10**13)])
    total_assets_yuan = IntegerField(_l("Total assets (CNY)"),
                                     validators=[Optional(), NumberRange(0, 10**13)])
    registered_capital_yuan = IntegerField(_l("Registered capital (CNY)"),
                                           validators=[Optional(), NumberRange(0, 10**13)])
    sme_certified = BooleanField(_l("Registered science-based SME (科技型中小企业)"))
    high_tech = BooleanField(_l("High-tech enterprise (高新技术企业)"))
    startup_team = BooleanField(_l("Start-up team, not yet incorporated (创业团队)"))
    submit = SubmitField(_l("Register enterprise"))

    def validate(self, extra_validators=None) -> bool:
        """A Liaoning city's region code is known: taken when none is given, and a code of
        another city refused (a Shenyang company stored as Dalian's counts in Dalian's
        figures). Optional stops the field's own validators when it is empty."""
        valid = super().validate(extra_validators)
        field, known = self.region_code, region_of_city(self.city.data or "")
        typed = (field.data or "").strip()
        if not typed and not known:
            field.errors = [*field.errors, _l("Give the region code of the city.")]
        elif typed and known and not typed.startswith(known):
            field.errors = [*field.errors, _l("The region code of %(city)s begins with %(code)s.",
                                              city=self.city.data.strip(), code=known)]
        field.data = typed or known
        return valid and not field.errors

    def organisation_fields(self) -> dict:
        def fen(yuan):
            return None if yuan is None else yuan * 100

        return {
            "name_zh": self.org_name_zh.data.strip(),
            "name_en": (self.org_name_en.data or "").strip(),
            "credit_code": self.credit_code.data,
            "city": self.city.data.strip(),
            "region_code": self.region_code.data.strip(),
            "founded_on": self.founded_on.data,
            "staff_count": self.staff_count.data,
            "annual_revenue_fen": fen(self.annual_revenue_yuan.data),
            "total_assets_fen": fen(self.total_assets_yuan.data),
            "registered_capital_fen": fen(self.registered_capital_yuan.data),
            "sme_certified": self.sme_certified.data,
            "high_tech": self.high_tech.data,
            "legal_person": not self.startup_team.data,
        }


class ProfileForm(SiteForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=100)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)])
    locale = SelectField(_l("Language"), choices=LOCALE_CHOICES)
    timezone = TimezoneField(_l("Time zone"), validators=[DataRequired()])
    submit = SubmitField(_l("Save"))


class ChangePasswordForm(SiteForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200),
                                                             _password_strength])
    confirm = PasswordField(_l("Repeat new password"), validators=[
        DataRequired(), EqualTo("password", message=_l("Passwords do not match."))])
    submit = SubmitField(_l("Change password"))

    def validate_password(self, field):
        if field.data and field.data == self.current.data:
            raise ValidationError(_l("The new password must differ from the current one."))


class ChangeEmailForm(SiteForm):
    new_email = EmailAddressField(_l("New e-mail address"), validators=[DataRequired()])
    current = PasswordField(_l("Current password"), validators=[DataRequired(),
                                                                Length(max=200)])
    submit = SubmitField(_l("Send the confirmation link"))


class ResetRequestForm(SiteForm):
    email = EmailAddressField(_l("E-mail"), validators=[DataRequired()])
    submit = SubmitField(_l("Send reset link"))


class ResetPasswordForm(SiteForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200),
                                                             _password_strength])
    confirm = PasswordField(_l("Repeat new password"), validators=[
        DataRequired(), EqualTo("password", message=_l("Passwords do not match."))])
    submit = SubmitField(_l("Set new password"))


class ApiTokenForm(SiteForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)])
    valid_days = RadioField(_l("Valid for"), coerce=int, default=90, choices=[
        (30, _l("30 days")), (90, _l("90 days")), (365, _l("1 year")), (0, _l("No expiry"))])
    submit = SubmitField(_l("Create token"))
