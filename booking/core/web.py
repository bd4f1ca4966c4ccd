"""Small web helpers shared by every area."""
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

import marshmallow as ma
from flask import abort, flash, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.routing import IntegerConverter
from wtforms import (
    DecimalField,
    EmailField,
    Form,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    ValidationError,
    widgets,
)
from wtforms.fields.choices import Choice
from wtforms.meta import DefaultMeta
from wtforms.validators import Email, InputRequired, Length, NumberRange, StopValidation

from booking.core.clock import (
    common_timezones,
    is_valid_timezone,
    local_today,
    now_utc,
    service_window,
)
from booking.core.db import MAX_ID
from booking.core.notifications import commit
from booking.core.problems import Refused
from booking.extensions import db

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def refuse_nul_characters() -> None:
    """Before every request: a NUL character in the URL or in a form field is a 400. Nobody
    types one, and PostgreSQL's text refuses it (a 500 once a view passed it on); the API's
    JSON bodies are checked by its parser (api.Parser)."""
    if b"%00" in request.query_string or "\x00" in request.path or (
            request.method != "GET" and request.mimetype in _FORM_TYPES and any(
                "\x00" in value for values in request.form.listvalues() for value in values)):
        abort(400, _("The request holds a NUL character, which no field may hold."))


def safe_next(target: str | None) -> str | None:
    """A local path to return to after login, or None for anything that could leave the site."""
    # a browser reads "/\host" as "//host", another site
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def back_to(endpoint: str, **values) -> str:
    """Where a form sends the person back: the page it was posted from (its `next` field,
    with the list's filters and page), else `endpoint`."""
    return safe_next(request.form.get("next")) or url_for(endpoint, **values)


def sentences(*parts: str) -> str:
    """Sentences one after another as the reader's language writes them: Chinese runs them on
    after its full stop, English leaves a space. Empty parts are left out."""
    return ("" if current_locale() == "zh_CN" else " ").join(part for part in parts if part)


def current_locale() -> str:
    """Our locale code ("zh_CN" or "en"); Babel itself spells Chinese zh_Hans_CN."""
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh_CN"


# Characters nobody types into a name or a description, which a pasted text or an attacker
# brings: C0 and C1 controls (tab and line breaks kept) and the bidi overrides and isolates
# that make a stored name display as another one ("测试企业\u202e").
_UNSEEN = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F,
                         *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def without_unseen_characters(value):
    """`value` without _UNSEEN characters, its line breaks as "\n" (a browser sends a textarea's
    as "\r\n": stored so, an untouched text read as changed)."""
    if not isinstance(value, str):
        return value
    return value.translate(_UNSEEN).replace("\r\n", "\n").replace("\r", "\n")


class _DropsUnseen:
    """Form meta: text fields (not passwords) drop _UNSEEN characters."""

    def bind_field(self, form, unbound_field, options):
        kind = unbound_field.field_class
        if issubclass(kind, StringField) and not issubclass(kind, PasswordField):
            options["filters"] = (without_unseen_characters,
                                  *unbound_field.kwargs.get("filters", ()))
        return super().bind_field(form, unbound_field, options)


class SiteForm(FlaskForm):
    """Every form of the site (CSRF on, unseen characters dropped, one message for one
    mistake)."""

    class Meta(_DropsUnseen, FlaskForm.Meta):
        pass

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            # what could not be read says so alone: letters in a number said "not a valid
            # integer" and "must be between 1 and 2147483647", 30 February "required"
            if field.process_errors and field.raw_data and str(field.raw_data[0]).strip():
                field.errors = list(field.process_errors)
        return valid


class SubForm(Form):
    """A form inside a form (FormField, FieldList): no CSRF token of its own."""

    class Meta(_DropsUnseen, DefaultMeta):
        pass


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes; a value not among the choices is refused."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class TimezoneField(SelectField):
    """An IANA time zone from a list of city zones, the common ones first. A zone the picker
    does not offer (an alias stored earlier: PRC) stays valid and is shown as the choice."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, choices=common_timezones(), validate_choice=False,
                         **kwargs)

    def pre_validate(self, form):
        if not is_valid_timezone(self.data or ""):
            raise ValidationError(_l("Unknown time zone."))

    def iter_choices(self):
        choices = super().iter_choices()
        if self.data and self.data not in self.choices:
            return [Choice(self.data, self.data, True, None), *choices]
        return choices


class EmailAddressField(EmailField):
    """An e-mail address: trimmed (a phone's keyboard adds a space after a suggested word,
    which read as an invalid address), checked, at most 254 characters; a phone shows its
    e-mail keyboard. `validators` come first (DataRequired or Optional)."""

    def __init__(self, label, validators=(), filters=(), **kwargs):
        super().__init__(label, validators=[*validators, Email(
            message=_l("Enter a valid e-mail address.")), Length(max=254)],
            filters=[*filters, stripped], **kwargs)


def stripped(value):
    return value.strip() if isinstance(value, str) else value


class PostForm(SiteForm):
    """A CSRF-protected POST with no fields (buttons: revoke, verify, confirm, language)."""

    submit = SubmitField(_l("Confirm"))


class IdConverter(IntegerConverter):
    """`<int:…>` in URLs, up to the largest id a database column holds: a larger id is
    a 404 like any unknown one, not an overflow in the driver."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


# A picker's suggestion reads "name · institution · #id" (an <input list> sends the text, so
# the id travels at its end); typed by hand, "#231" or "231" alone picks by id too.
_PICKED_ID = re.compile(r"(?:^|#)\s*(\d{1,10})\s*$")


def picker_label(record_id: int, *names: str) -> str:
    return " · ".join([*(n for n in names if n), f"#{record_id}"])


def picked_id(text: str) -> int | None:
    """The id a picker's text ends with, or None (then the text is a name to look up)."""
    found = _PICKED_ID.search(text.strip())
    return int(found.group(1)) if found and 0 < int(found.group(1)) <= MAX_ID else None


def query_int(name: str, default: int | None = None, low: int = 0, high: int = MAX_ID
              ) -> int | None:
    """An integer query argument: `default` when absent or malformed, 400 when out of
    [low, high]."""
    raw = (request.args.get(name) or "").strip()
    try:
        value = int(raw)
    except ValueError:
        return default
    if not low <= value <= high:
        abort(400, _("%(name)s must be between %(low)d and %(high)d.", name=name, low=low,
                     high=high))
    return value


def query_args(schema: ma.Schema) -> dict:
    """A list page's filters and page number from the query string, loaded by `schema` (a
    PageArgs): a blank field counts as absent (a form's "All"), unknown ones are ignored, and
    a bad value is a 400 that names the fields."""
    given = {key: value for key, value in request.args.items() if value.strip()}
    try:
        return schema.load(given, unknown=ma.EXCLUDE)
    except ma.ValidationError as error:
        abort(400, _("These filters are not valid: %(names)s.",
                     names=", ".join(sorted(error.messages))))


class FiniteDecimalField(DecimalField):
    """WTForms' DecimalField for finite numbers only ("NaN", "sNaN" and "Infinity" parse as
    Decimals, then break the comparisons and rounding that follow: a 500), with no more
    decimals than `places` (12.345 yuan is not silently 12.35)."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if not valuelist or not isinstance(self.data, Decimal):
            return
        if not self.data.is_finite() or "e" in valuelist[0].lower():  # "1e3" for ¥1,000
            self.data = None
            raise ValueError(self.gettext("Not a valid decimal value."))
        if self.places is not None and _more_places(self.data, self.places):
            self.data = None
            raise ValueError(_("At most %(places)d decimal places.", places=self.places))

    def pre_validate(self, form):
        # something typed that is not a number: say only that (left empty, Optional or
        # InputRequired speaks instead)
        if self.process_errors and self.raw_data and self.raw_data[0].strip():
            raise StopValidation()


class PercentField(FiniteDecimalField):
    """A share typed and shown in per cent, as people write them (40 on the page is 0.4 in
    `data`), from 0 to 100 %; `places`: decimals of the per cent typed."""

    def __init__(self, label, places: int = 2, **kwargs):
        # the page's bounds are per cent: NumberRange's flags would write max="1" there
        super().__init__(label, places=places, validators=[InputRequired(), NumberRange(
            min=0, max=1, message=_l("Between 0 and 100 %%."))],  # %% for NumberRange
            render_kw={"min": 0, "max": 100, "step": "any"}, **kwargs)  # arrows: whole steps

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if valuelist and self.data is not None:
            self.data = self.data / 100

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else f"{(self.data * 100).normalize():f}"


def _more_places(value: Decimal, places: int) -> bool:
    """Whether `value` has non-zero digits beyond `places` decimals (5.000 has not). One too
    large to round to them has none (its range is the validators' to judge)."""
    try:
        return value != round(value, places)
    except InvalidOperation:
        return False


class InServiceWindow:
    """WTForms validator: a date or a wall-clock time between a year back (or any time back
    since 1900, with `any_past`) and two years ahead (or `years_ahead`: a research grant runs
    five), checked before anything converts it to UTC or walks its days."""

    def __init__(self, any_past: bool = False, years_ahead: int | None = None):
        self.any_past = any_past
        self.years_ahead = years_ahead

    def __call__(self, form, field):
        if field.data is None:
            return
        value = field.data if isinstance(field.data, datetime) else \
            datetime.combine(field.data, time())
        earliest, latest = service_window(now_utc())
        if self.any_past:
            earliest = datetime(1900, 1, 1, tzinfo=UTC)
        if self.years_ahead:
            latest = now_utc() + timedelta(days=366 * self.years_ahead)
        # wall clock compared as UTC: the window is coarse, and nothing is converted yet
        if value.replace(tzinfo=UTC) > latest and getattr(form, "too_far_ahead", None):
            raise ValidationError(form.too_far_ahead)  # the form's own horizon, in its words
        if not earliest <= value.replace(tzinfo=UTC) <= latest:
            raise ValidationError(_("Choose a date between %(earliest)s and %(latest)s.",
                                    earliest=f"{earliest:%Y-%m-%d}",
                                    latest=f"{latest:%Y-%m-%d}"))


class PastDate:
    """WTForms validator: a day that has been, since 1900 (a founding date: 9999-12-31 and
    0001-01-01 were taken)."""

    def __call__(self, form, field):
        today = local_today()
        if field.data is not None and not date(1900, 1, 1) <= field.data <= today:
            raise ValidationError(_("Choose a date between %(earliest)s and %(latest)s.",
                                    earliest="1900-01-01", latest=today.isoformat()))


def flash_form_errors(form, fields: tuple[str, ...] | None = None) -> None:
    """A form sent from a page that shows none of its errors (a button's small form): each
    error (of `fields`, else of all) flashed with the label of the field it is about."""
    colon = "：" if current_locale() == "zh_CN" else ": "
    for name, errors in form.errors.items():
        if fields is not None and name not in fields:
            continue
        label = form[name].label.text if name in form._fields else ""
        for error in errors:
            flash(f"{label}{colon if label else ''}{error}", "danger")


def attempt(action, success: str | None, category: str = "success") -> bool:
    """Run a page's workflow: on success commit and flash `success` (if any); when it is
    refused, flash every reason and keep nothing it began. True when it went through."""
    try:
        action()
    except Refused as refused:
        db.session.rollback()
        for text in refused.texts():
            flash(text, "danger")
        return False
    commit()
    if success:
        flash(success, category)
    return True
