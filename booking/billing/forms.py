"""Forms of the invoice page and the finance pages."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, StringField
from wtforms.validators import DataRequired, Length, NumberRange


class BankTransferForm(FlaskForm):
    reference = StringField(_l("Bank reference"), validators=[DataRequired(), Length(max=200)])


class GrantCodeForm(FlaskForm):
    grant_code = StringField(_l("Internal account or grant code"),
                             validators=[DataRequired(), Length(max=200)])


class VoidForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class CreditForm(FlaskForm):
    amount = DecimalField(_l("Amount (CNY)"), places=2,
                          validators=[DataRequired(), NumberRange(0.01, 10**10)])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=300)])

