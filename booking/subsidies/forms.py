"""Voucher application, decision and policy forms. Money is entered in yuan, stored in fen."""
import copy
from decimal import Decimal

from babel.lists import format_list
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from booking.core.money import fen_to_yuan, format_cny, yuan_to_fen
from booking.core.web import (
    CheckboxesField,
    FiniteDecimalField,
    PastDate,
    PercentField,
    SiteForm,
    stripped,
)
from booking.subsidies.policy import (
    ENTERPRISE_CLASSES,
    LINK_KINDS,
    PROVIDER_KINDS,
    RELATED_PARTY_KINDS,
    SERVICE_TYPES,
)
from booking.subsidies.rules import SAMPLE_EVERY_MONTHS

CLASS_LABELS = {"small_micro": _l("Small or micro enterprise"),
                "sme_science_based": _l("Science-based SME"),
                "startup_team": _l("Start-up team")}
SERVICE_LABELS = {"instrument_use": _l("Instrument use"), "testing": _l("Testing"),
                  "rd_design": _l("R&D design"), "commissioned_rd": _l("Commissioned R&D"),
                  "statutory_testing": _l("Statutory testing"),
                  "mandatory_testing": _l("Mandatory testing"),
                  "certification": _l("Certification"),
                  "commercial_inspection": _l("Commercial inspection"), "medical": _l("Medical")}
RELATED_LABELS = {"same_legal_person": _l("Same legal person or actual controller"),
                  "subordination": _l("Subordination"), "co_construction": _l("Co-construction"),
                  "equity_link": _l("Equity link")}
PROVIDER_LABELS = {"university": _l("University"), "institute": _l("Research institute")}

_yuan = {"places": 2}
MAX_YUAN = 10**10  # a policy's pool or cap: far above any city's, far below a fen column's range


def fen_or_none(yuan: Decimal | None) -> int | None:
    return None if yuan is None else yuan_to_fen(yuan)


class ApplicationForm(SiteForm):
    amount = FiniteDecimalField(_l("Amount applied for (yuan)"), validators=[
        InputRequired(), NumberRange(min=Decimal("0.01"), max=Decimal("100000000"))], **_yuan)
    project = TextAreaField(_l("Project and testing need"),
                            validators=[DataRequired(), Length(max=2000)])
    declared_class = SelectField(_l("Enterprise class"),
                                 choices=[(c, CLASS_LABELS[c]) for c in ENTERPRISE_CLASSES])
    staff_count = IntegerField(_l("Staff"), validators=[Optional(), NumberRange(0, 10_000_000)])
    annual_revenue = FiniteDecimalField(_l("Annual revenue (yuan)"),
                                        validators=[Optional(), NumberRange(0, 10**13)], **_yuan)
    total_assets = FiniteDecimalField(_l("Total assets (yuan)"),
                                      validators=[Optional(), NumberRange(0, 10**13)], **_yuan)
    registered_capital = FiniteDecimalField(
        _l("Registered capital (yuan)"), validators=[Optional(), NumberRange(0, 10**13)], **_yuan)
    founded_on = DateField(_l("Founded on"), validators=[Optional(), PastDate()])
    project_already_funded = BooleanField(
        _l("This project already received city science and technology funding"))
    submit = SubmitField(_l("Apply"))

    def fill_from(self, org) -> None:
        self.staff_count.data = org.staff_count
        self.annual_revenue.data = fen_to_yuan(org.annual_revenue_fen)
        self.total_assets.data = fen_to_yuan(org.total_assets_fen)
        self.registered_capital.data = fen_to_yuan(org.registered_capital_fen)
        self.founded_on.data = org.founded_on

    def declaration(self) -> dict:
        return {"staff_count": self.staff_count.data,
                "annual_revenue_fen": fen_or_none(self.annual_revenue.data),
                "total_assets_fen": fen_or_none(self.total_assets.data),
                "registered_capital_fen": fen_or_none(self.registered_capital.data),
                "founded_on": self.founded_on.data.isoformat() if self.founded_on.data else None,
                "project_already_funded": self.project_already_funded.data}


class ApproveForm(SiteForm):
    # required: an amount lost on the way (a stale page, a script) must not approve in full
    amount = FiniteDecimalField(_l("Approved amount (yuan)"), validators=[
        InputRequired(message=_l("Enter the amount to approve.")),
        NumberRange(min=Decimal("0.01"), max=MAX_YUAN)], **_yuan)
    reason = StringField(_l("Why less (when less is approved)"),
                         validators=[Optional(), Length(max=500)])
    approve = SubmitField(_l("Approve"))


class RemoveLinkForm(SiteForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class RejectForm(SiteForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    reject = SubmitField(_l("Reject"))


def _rate(label):
    return PercentField(label)


def _amount(label):
    return FiniteDecimalField(label, validators=[InputRequired(), NumberRange(min=0, max=MAX_YUAN)],
                              **_yuan)


class PolicyForm(SiteForm):
    """The editable settings of a policy version; everything else in the rules is kept."""

    small_micro_rate = _rate(_l("Small or micro enterprise: rate (%)"))
    small_micro_cap = _amount(_l("Small or micro enterprise: cap per year (yuan)"))
    sme_science_based_rate = _rate(_l("Science-based SME: rate (%)"))
    sme_science_based_cap = _amount(_l("Science-based SME: cap per year (yuan)"))
    startup_team_rate = _rate(_l("Start-up team: rate (%)"))
    startup_team_cap = _amount(_l("Start-up team: cap per year (yuan)"))
    per_application = _amount(_l("Cap per invoice (yuan)"))
    annual_pool = _amount(_l("Annual budget (yuan)"))
    batch_1 = _rate(_l("Q1 batch share (%)"))
    batch_2 = _rate(_l("Q2 batch share (%)"))
    batch_3 = _rate(_l("Q3 batch share (%)"))
    batch_4 = _rate(_l("Q4 batch share (%)"))
    validity = SelectField(_l("Validity"), choices=[("calendar_year", _l("Calendar year"))])
    provider_kinds = CheckboxesField(_l("Provider kinds"),
                                     choices=[(k, PROVIDER_LABELS[k]) for k in PROVIDER_KINDS])
    excluded = CheckboxesField(_l("Excluded service types"),
                               choices=[(k, SERVICE_LABELS[k]) for k in SERVICE_TYPES])
    related_party_block = CheckboxesField(
        _l("Related parties that block vouchers"),
        choices=[(k, RELATED_LABELS[k]) for k in RELATED_PARTY_KINDS])
    non_local_provider_factor = _rate(_l("Non-local provider factor (%)"))
    sample_rate = _rate(_l("Share of redemptions sampled for re-check (%)"))
    sample_every_months = SelectField(_l("Sample every (months)"), coerce=int,
                                      choices=[(n, str(n)) for n in SAMPLE_EVERY_MONTHS])
    review_sla_days = IntegerField(_l("Answer applications within (days)"),
                                   validators=[InputRequired(), NumberRange(1, 365)])
    allocation = SelectField(_l("Order of approvals"), choices=[
        ("first_come_first_served", _l("First come, first served")),
        ("bureau_choice", _l("Bureau's choice"))])
    aggregate_by = SelectField(_l("Yearly caps count per"), choices=[
        ("actual_controller", _l("Actual controller")), ("enterprise", _l("Enterprise"))])
    reward_rate = _rate(_l("Provider reward: share of voucher turnover (%)"))
    reward_cap = _amount(_l("Provider reward: cap per provider per year (yuan)"))
    submit = SubmitField(_l("Save draft"))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        shares = [getattr(self, f"batch_{n}").data for n in range(1, 5)]
        if None not in shares and sum(shares) != 1:
            self.batch_4.errors = [*self.batch_4.errors, _l(
                "The four batch shares must add up to 100 %.")]
            return False
        return valid

    def fill_from(self, rules: dict) -> None:
        for code in ENTERPRISE_CLASSES:
            spec = rules["classes"].get(code, {})
            getattr(self, f"{code}_rate").data = Decimal(str(spec.get("rate", 0)))
            getattr(self, f"{code}_cap").data = fen_to_yuan(spec.get("cap_per_year_fen", 0))
        self.per_application.data = fen_to_yuan(rules["caps"]["per_application_fen"])
        self.annual_pool.data = fen_to_yuan(rules["budget"]["annual_pool_fen"])
        for n, share in enumerate(rules["budget"]["quarterly_batches"], start=1):
            getattr(self, f"batch_{n}").data = Decimal(str(share))
        self.validity.data = rules["validity"]
        services = rules["services"]
        self.provider_kinds.data = list(services["provider_kinds"])
        self.excluded.data = list(services["excluded"])
        self.related_party_block.data = list(services["related_party_block"])
        self.non_local_provider_factor.data = Decimal(str(services["non_local_provider_factor"]))
        self.sample_rate.data = Decimal(str(rules["oversight"]["sample_rate"]))
        self.sample_every_months.data = rules["oversight"]["sample_every_months"]
        self.review_sla_days.data = rules["oversight"]["review_sla_days"]
        self.allocation.data = rules["budget"]["allocation"]
        self.aggregate_by.data = rules["caps"]["aggregate_by"]
        self.reward_rate.data = Decimal(str(rules["provider_reward"]["rate_of_voucher_turnover"]))
        self.reward_cap.data = fen_to_yuan(rules["provider_reward"]["cap_per_provider_per_year_fen"])

    def updated_rules(self, rules: dict) -> dict:
        """A copy of `rules` with this form's values (decimals kept as strings)."""
        new = copy.deepcopy(rules)
        for code in ENTERPRISE_CLASSES:
            if code in new["classes"]:
                new["classes"][code]["rate"] = str(getattr(self, f"{code}_rate").data)
                new["classes"][code]["cap_per_year_fen"] = yuan_to_fen(
                    getattr(self, f"{code}_cap").data)
        new["caps"]["per_application_fen"] = yuan_to_fen(self.per_application.data)
        new["budget"]["annual_pool_fen"] = yuan_to_fen(self.annual_pool.data)
        new["budget"]["quarterly_batches"] = [str(getattr(self, f"batch_{n}").data)
                                              for n in range(1, 5)]
        new["validity"] = self.validity.data
        new["services"].update(provider_kinds=self.provider_kinds.data,
                               excluded=self.excluded.data,
                               related_party_block=self.related_party_block.data,
                               non_local_provider_factor=str(self.non_local_provider_factor.data))
        new["oversight"].update(sample_rate=str(self.sample_rate.data),
                                sample_every_months=self.sample_every_months.data,
                                review_sla_days=self.review_sla_days.data)
        new["budget"]["allocation"] = self.allocation.data
        new["caps"]["aggregate_by"] = self.aggregate_by.data
        new["provider_reward"].update(
            rate_of_voucher_turnover=str(self.reward_rate.data),
            cap_per_provider_per_year_fen=yuan_to_fen(self.reward_cap.data))
        return new

    def described(self, changes: list[tuple[str, object, object]]) -> list[tuple[str, str, str]]:
        """policy.diff_rules' (path, old, new) as the form names and shows them: the field's
        label, amounts in yuan, shares in per cent, choices by their labels (a setting the
        form does not edit keeps its path)."""
        return [(str(_PATH_LABELS.get(path) or (field.label.text if field else path)),
                 _shown(field, path, old), _shown(field, path, new))
                for path, old, new in changes
                for field in [self._fields.get(_FIELD_OF_PATH.get(path, ""))]]


def described_changes(changes: list) -> list[tuple[str, str, str]]:
    """A recorded edit's (path, old, new) rows as PolicyForm shows them (the audit trail's
    reader sees labels and yuan, not paths and fen). Edits recorded before their values were
    kept as they are had them as text: amounts are read back as numbers."""
    rows = [(path, _number(path, old), _number(path, new)) for path, old, new in changes]
    return PolicyForm(formdata=None, meta={"csrf": False}).described(rows)


def _number(path: str, value):
    return int(value) if path.endswith("_fen") and isinstance(value, str) and \
        value.isdigit() else value


# Where each setting of PolicyForm sits in a policy's rules (policy.diff_rules' paths).
_FIELD_OF_PATH = {
    **{f"classes.{code}.{key}": f"{code}_{name}" for code in ENTERPRISE_CLASSES
       for key, name in (("rate", "rate"), ("cap_per_year_fen", "cap"))},
    "caps.per_application_fen": "per_application", "budget.annual_pool_fen": "annual_pool",
    "budget.quarterly_batches": "batch_1", "validity": "validity",
    "services.provider_kinds": "provider_kinds", "services.excluded": "excluded",
    "services.related_party_block": "related_party_block",
    "services.non_local_provider_factor": "non_local_provider_factor",
    "oversight.sample_rate": "sample_rate", "oversight.sample_every_months": "sample_every_months",
    "oversight.review_sla_days": "review_sla_days", "budget.allocation": "allocation",
    "caps.aggregate_by": "aggregate_by",
    "provider_reward.rate_of_voucher_turnover": "reward_rate",
    "provider_reward.cap_per_provider_per_year_fen": "reward_cap"}


# The one setting that several fields edit together.
_PATH_LABELS = {"budget.quarterly_batches": _l("Quarterly batch shares (Q1 / Q2 / Q3 / Q4)")}


def _shown(field, path: str, value) -> str:
    if value is None:
        return "—"
    if path.endswith("_fen"):
        return format_cny(value)
    if path == "budget.quarterly_batches":
        return " / ".join(_percent(share) for share in value)
    if isinstance(field, PercentField):
        return _percent(value)
    choices = dict(getattr(field, "choices", None) or [])
    if isinstance(value, list):
        return format_list([str(choices.get(item, item)) for item in value],
                           locale=get_locale()) or "—"
    return str(choices.get(value, value))


def _percent(share) -> str:
    return f"{(Decimal(str(share)) * 100).normalize():f} %"


class StatementPaidForm(SiteForm):
    reference = StringField(_l("Payment reference"), filters=[stripped],
                            validators=[DataRequired(message=_l(
                                "Give the reference of the transfer that paid the statement "
                                "(payment voucher or bank reference).")), Length(max=64)])
    submit = SubmitField(_l("Mark paid"))


class QuarterForm(SiteForm):
    quarter = StringField(_l("Quarter"), filters=[lambda text: (text or "").strip().upper()],
                          validators=[DataRequired(), Regexp(
                              r"^\d{4}Q[1-4]$", message=_l("Write a quarter like 2026Q2."))])
    submit = SubmitField(_l("Build statements"))


class SampleForm(SiteForm):
    window = SelectField(_l("Period"), coerce=int)
    submit = SubmitField(_l("Draw sample"))

    def set_windows(self, windows: list[tuple[int, int, int]], month: int | None = None
                    ) -> "SampleForm":
        """`month`: this month, when the year is this one: its window is offered first (the
        latest, where this year's claims are)."""
        self.window.choices = [(n, _l("Months %(first)s to %(last)s", first=first, last=last))
                               for n, first, last in windows]
        if month is not None and self.window.data is None:
            self.window.data = next((n for n, first, last in windows if first <= month <= last),
                                    None)
        return self


class ClawbackForm(SiteForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=400)])
    submit = SubmitField(_l("Claw back"))


class LinkForm(SiteForm):
    enterprise_id = SelectField(_l("Enterprise"), coerce=int)
    institution_id = SelectField(_l("University or institute"), coerce=int)
    kind = SelectField(_l("Kind of link"), choices=[(k, RELATED_LABELS[k]) for k in LINK_KINDS])
    submit = SubmitField(_l("Declare link"))
