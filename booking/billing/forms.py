"""Forms of the invoice page and the finance pages."""
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from booking.core.web import FiniteDecimalField, PastDate, SiteForm


class BankTransferForm(SiteForm):
    """What arrived: the amount (in part, in full or more), the day, the bank's reference."""

    amount = FiniteDecimalField(_l("Amount received (CNY)"), places=2, id="received-amount",
                                validators=[InputRequired(), NumberRange(Decimal("0.01"), 10**10)])
    received_on = DateField(_l("Date received"),
                            validators=[DataRequired(), PastDate()])
    reference = StringField(_l("Bank reference"), validators=[DataRequired(), Length(max=200)])
    # asked for only when the amount is above what is outstanding (a zero typed too many)
    overpay = BooleanField(_l("Record it: what is paid beyond the amount due is carried as "
                              "the customer's balance"))


class RefundForm(SiteForm):
    """A credit note's money paid back to the customer: the day and the bank's reference."""

    refunded_on = DateField(_l("Date refunded"),
                            validators=[DataRequired(), PastDate()])
    reference = StringField(_l("Bank reference"), validators=[DataRequired(), Length(max=200)])


class InternalSettlementForm(SiteForm):
    """Settle by internal transfer from one of the customer's project accounts (经费卡)."""

    project = SelectField(_l("Project account"), coerce=int, choices=[],
                          validate_choice=False)  # the service checks the customer may charge it


class ProviderSettingsForm(SiteForm):
    bank_name = StringField(_l("Bank and branch"), validators=[Optional(), Length(max=200)])
    bank_account = StringField(_l("Bank account number"), validators=[Optional(), Length(max=64)])
    tax_number = StringField(_l("Taxpayer number"), validators=[Optional(), Length(max=32)])
    block_overdue_days = IntegerField(
        _l("Block new bookings of customers with invoices overdue more than (days)"),
        validators=[Optional(), NumberRange(1, 365)],
        description=_l("Leave empty to never block."))


class VoidForm(SiteForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class CreditForm(SiteForm):
    amount = FiniteDecimalField(
        _l("Amount (CNY)"), places=2,
        validators=[InputRequired(), NumberRange(Decimal("0.01"), 10**10)],
        description=_l("What the customer gets back of what they were charged (the amount due, "
                       "after any voucher)."))
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=300)])

