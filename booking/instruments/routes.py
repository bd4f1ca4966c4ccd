"""Public directory and instrument pages; the lab console where managers publish instruments;
the bureau's export and directory-quality view."""
from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from booking.accounts.models import Organisation
from booking.accounts.rules import city_name
from booking.bookings import blackouts
from booking.bookings.labels import class_label
from booking.bookings.notifications import local_range
from booking.core import tables
from booking.core.categories import category_choices
from booking.core.clock import local_midnight, local_today, now_utc
from booking.core.money import yuan_to_fen
from booking.core.names import in_language
from booking.core.notifications import commit
from booking.core.permissions import require, role_required
from booking.core.web import current_locale, picker_label, sentences
from booking.extensions import db
from booking.instruments import classification, directory, export, rules, services
from booking.instruments.forms import (
    COMPLETENESS_LABELS,
    MODE_LABELS,
    STATUS_LABELS,
    WEEKDAYS,
    BlackoutForm,
    ExceptionForm,
    HoursForm,
    InstrumentForm,
    PhotoForm,
    RateForm,
    national_class_choices,
)
from booking.instruments.models import Blackout, Instrument, OpeningException, Rate
from booking.instruments.search import query_tokens

bp = Blueprint("instruments", __name__)


# --- public directory ----------------------------------------------------------------------

@bp.route("/instruments")
@bp.route("/")  # registered first: url_for("instruments.index") is "/"
def index():
    query = directory.query_from_args(request.args)
    now = now_utc()
    viewer = directory.Viewer.of(current_user)
    page = directory.search(query, viewer, now)
    if page.total and page.page > page.pages:  # a page past the last (an old link): the last
        return redirect(url_for("instruments.index", **{**request.args.to_dict(),
                                                        "page": page.pages}))
    organisations, cities = directory.filter_choices(current_locale())
    return render_template("instruments/index.html", query=query, page=page, viewer=viewer,
                           words=bool(query_tokens(query.q)),
                           organisations=organisations, cities=cities,
                           categories=category_choices(current_locale()))


@bp.route("/instruments/suggestions.json")
def suggestions():
    """An instrument picker's list for what has been typed (listed instruments only)."""
    locale = current_locale()
    rows = directory.suggestions(request.args.get("q", ""))
    return jsonify([{"id": r.id, "label": picker_label(
        r.id, in_language(r.name_zh, r.name_en, locale),
        in_language(r.org_zh, r.org_en, locale))} for r in rows])


def _visible_instrument(instrument_id: int) -> Instrument:
    instrument = db.get_or_404(Instrument, instrument_id)
    if not instrument.can_view(current_user):
        abort(404)
    return instrument


@bp.route("/instruments/<int:instrument_id>")
def detail(instrument_id):
    instrument = _visible_instrument(instrument_id)
    now = now_utc()
    if current_user.is_authenticated:
        classes = [rules.customer_class(instrument.organisation_id, current_user.organisation_id,
                                        current_user.organisation.kind)]
    else:
        classes = list(rules.CUSTOMER_CLASSES)
    current = rules.effective_rates(instrument.rates, now)
    return render_template(
        "instruments/detail.html", instrument=instrument, now=now,
        rates=[current[c] for c in classes if c in current],
        upcoming=[r for r in instrument.rates if r.valid_from > now and r.customer_class in classes],
        blackouts=[b for b in instrument.blackouts if b.end_at > now],
        exceptions=[e for e in instrument.exceptions if e.day >= now.date()])


@bp.route("/instruments/<int:instrument_id>/photo")
def photo(instrument_id):
    instrument = _visible_instrument(instrument_id)
    if not instrument.photo_path:
        abort(404)
    response = send_from_directory(services.photo_dir(), instrument.photo_path, max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/instruments/export.<fmt>")
@login_required
def export_directory(fmt):
    require(Instrument.can_oversee_directory(current_user))
    if fmt not in tables.FORMATS:
        abort(404)
    rows = directory.export_rows(directory.query_from_args(request.args, per_page=0), now_utc())
    return tables.download(fmt, f"directory-{local_today():%Y%m%d}", export.header(),
                           map(export.values, rows))


@bp.route("/bureau/directory-quality")
@login_required
def quality():
    require(Instrument.can_oversee_directory(current_user))
    rows = directory.quality_rows(directory.listed(), now=now_utc())
    return render_template("instruments/quality.html",
                           institutions=directory.institution_quality(rows),
                           stale=[r for r in rows if r.stale][:500],
                           incomplete=sorted((r for r in rows if r.score < 60),
                                             key=lambda r: r.score)[:200])


# --- lab console ---------------------------------------------------------------------------

@bp.route("/lab")
@role_required("lab_manager")
def manage():
    rows = directory.console_rows(current_user.managed_organisation_ids(), now_utc())
    return render_template("instruments/manage.html", rows=rows)


def _managed_organisations() -> list[Organisation]:
    ids = current_user.managed_organisation_ids()
    return list(db.session.scalars(select(Organisation).where(Organisation.id.in_(ids))
                                   .order_by(Organisation.name_zh)))


def _instrument_form(**kwargs) -> InstrumentForm:
    form = InstrumentForm(**kwargs)
    form.category.choices = category_choices(current_locale())
    form.national_class.choices = national_class_choices(current_locale())
    return form


@bp.route("/lab/instruments/new", methods=["GET", "POST"])
@role_required("lab_manager")
def new():
    organisations = _managed_organisations()
    form = _instrument_form()
    form.organisation_id.choices = [(o.id, o.display_name(current_locale()))
                                    for o in organisations]
    if form.validate_on_submit():
        organisation = db.get_or_404(Organisation, form.organisation_id.data)
        require(current_user.can_manage_organisation(organisation.id))
        try:
            instrument = services.create_instrument(organisation, form.instrument_fields(),
                                                    current_user)
        except services.CatalogueError as refused:
            db.session.rollback()
            form.asset_number.errors = [refused.text()]
        else:
            commit()
            flash(_("Instrument published. Now add rates and opening hours."), "success")
            return redirect(url_for("instruments.setup", instrument_id=instrument.id))
    return render_template("instruments/edit.html", form=form, instrument=None)


def _editable(instrument_id: int) -> Instrument:
    instrument = db.get_or_404(Instrument, instrument_id)
    require(instrument.can_edit(current_user))
    return instrument


@bp.route("/lab/instruments/<int:instrument_id>/edit", methods=["GET", "POST"])
@login_required
def edit(instrument_id):
    instrument = _editable(instrument_id)
    form = _instrument_form(obj=instrument)
    del form.organisation_id
    if request.method == "GET":
        form.load(instrument)
    if form.validate_on_submit():
        was = instrument.status
        try:
            services.update_instrument(instrument, form.instrument_fields(), current_user)
        except services.CatalogueError as refused:
            db.session.rollback()
            form[refused.field].errors = [refused.text()]
        else:
            commit()
            flash(_("Instrument saved."), "success")
            if instrument.status == "maintenance" and was != "maintenance":
                _warn_of_bookings_under_maintenance(instrument)
            return redirect(url_for("instruments.setup", instrument_id=instrument.id))
    return render_template("instruments/edit.html", form=form, instrument=instrument)


MAINTENANCE_LOOK_AHEAD = timedelta(days=14)


def _warn_of_bookings_under_maintenance(instrument: Instrument) -> None:
    """Maintenance takes no new bookings but leaves the booked ones standing: the lab is
    shown those of the next two weeks and the way to cancel them with a word to each booker."""
    now = now_utc()
    held = blackouts.hit_by(instrument, now, now + MAINTENANCE_LOOK_AHEAD)
    if held:
        flash(ngettext(
            "%(num)d booking of the next two weeks still stands (%(list)s): add a blackout "
            "over the maintenance time below; it cancels the booking and tells its booker.",
            "%(num)d bookings of the next two weeks still stand (%(list)s): add a blackout "
            "over the maintenance time below; it cancels them and tells each booker.",
            len(held), list="; ".join(_booking_ref(b, instrument.timezone) for b in held[:10])),
            "warning")


def _render_setup(instrument: Instrument, hit=(), **forms):
    # the forms not sent are shown fresh (formdata=None): bound to another form's POST, a
    # checkbox that starts ticked ("closed all day") would come back unticked
    hours = HoursForm(prefix="hours", formdata=None)
    if "hours" not in forms:
        hours.load(instrument.opening_hours)
    defaults = {"rate": RateForm(prefix="rate", formdata=None), "hours": hours,
                "exception": ExceptionForm(prefix="exception", formdata=None),
                "blackout": BlackoutForm(prefix="blackout", formdata=None),
                "photo": PhotoForm(prefix="photo", formdata=None)}
    now = now_utc()
    in_force = {rate.id for rate in rules.effective_rates(instrument.rates, now).values()}
    return render_template("instruments/setup.html", instrument=instrument, now=now,
                           forms={**defaults, **forms}, hit=hit, in_force=in_force)


@bp.route("/lab/instruments/<int:instrument_id>")
@login_required
def setup(instrument_id):
    return _render_setup(_editable(instrument_id))


def _done(instrument: Instrument, message: str):
    commit()
    flash(message, "success")
    return redirect(url_for("instruments.setup", instrument_id=instrument.id))


def _refused(instrument: Instrument, form, key: str, error: services.CatalogueError):
    """Services refuse before changing anything: show the reason next to the field."""
    field = getattr(form, error.field or "", None)
    (field.errors if field is not None else form.form_errors).append(error.text())
    return _render_setup(instrument, **{key: form}), 422


@bp.route("/lab/instruments/<int:instrument_id>/rates", methods=["POST"])
@login_required
def add_rate(instrument_id):
    instrument = _editable(instrument_id)
    form = RateForm(prefix="rate")
    if not form.validate_on_submit():
        return _render_setup(instrument, rate=form), 422
    try:
        rate, told = services.add_rate(
            instrument, customer_class=form.customer_class.data,
            hourly_fen=yuan_to_fen(form.hourly.data), rounding_minutes=form.rounding_minutes.data,
            minimum_minutes=form.minimum_minutes.data,
            setup_fee_fen=yuan_to_fen(form.setup_fee.data),
            valid_from=local_midnight(form.valid_from.data, instrument.timezone),
            actor=current_user)
    except services.CatalogueError as error:
        return _refused(instrument, form, "rate", error)
    said = _("Rate added. It applies from now: prices already charged are not changed.") \
        if rate.valid_from.date() > form.valid_from.data else _("Rate added.")  # never past
    return _done(instrument, sentences(said, _told(told)))


def _told(bookers: int) -> str:
    """What the flash adds when bookings to come are priced differently now."""
    return ngettext("%(num)d booker was told of their bookings' new estimates.",
                    "%(num)d bookers were told of their bookings' new estimates.",
                    bookers) if bookers else ""


@bp.route("/lab/instruments/<int:instrument_id>/hours", methods=["POST"])
@login_required
def set_hours(instrument_id):
    instrument = _editable(instrument_id)
    form = HoursForm(prefix="hours")
    if not form.validate_on_submit():
        return _render_setup(instrument, hours=form), 422
    left_out = blackouts.left_outside_weekly(instrument, form.intervals)
    if left_out:  # they would stand outside the hours, then be charged as no-shows
        form.form_errors.append(ngettext(
            "%(num)d booking still to come falls outside these hours (%(list)s): add a "
            "blackout over it first (it cancels the booking and tells its booker), or change "
            "the hours once it is over.",
            "%(num)d bookings still to come fall outside these hours (%(list)s): add a "
            "blackout over them first (it cancels them and tells each booker), or change the "
            "hours once they are over.", len(left_out),
            list="; ".join(_booking_ref(b, instrument.timezone) for b in left_out[:10])))
        return _render_setup(instrument, hours=form), 422
    services.set_opening_hours(instrument, form.intervals, current_user)
    return _done(instrument, _("Opening hours saved."))


def _booking_ref(booking, timezone: str) -> str:
    return f"#{booking.id} {local_range(booking.start_at, booking.end_at, timezone)}"


@bp.route("/lab/instruments/<int:instrument_id>/exceptions", methods=["POST"])
@login_required
def add_exception(instrument_id):
    instrument = _editable(instrument_id)
    form = ExceptionForm(prefix="exception")
    if not form.validate_on_submit():
        return _render_setup(instrument, exception=form), 422
    opens, closes = form.hours()
    held = blackouts.held_outside(instrument, form.day.data, opens, closes)
    if held:  # a closed day would leave them standing, then charged as no-shows
        form.day.errors.append(ngettext(
            "%(num)d booking falls outside these hours that day: add a blackout over it first "
            "(it cancels the booking and tells its booker).",
            "%(num)d bookings fall outside these hours that day: add a blackout over them first "
            "(it cancels them and tells each booker).", len(held)))
        return _render_setup(instrument, exception=form), 422
    try:
        services.add_exception(instrument, day=form.day.data, opens=opens, closes=closes,
                               reason=form.reason.data.strip(), actor=current_user)
    except services.CatalogueError as error:
        return _refused(instrument, form, "exception", error)
    return _done(instrument, _("Exception added."))


@bp.route("/lab/instruments/<int:instrument_id>/rates/<int:rate_id>/delete", methods=["POST"])
@login_required
def remove_rate(instrument_id, rate_id):
    instrument = _editable(instrument_id)
    rate = _part_of(instrument, Rate, rate_id)
    try:
        told = services.remove_rate(instrument, rate, current_user)
    except services.CatalogueError as error:
        flash(error.text(), "danger")
        return redirect(url_for("instruments.setup", instrument_id=instrument.id))
    return _done(instrument, sentences(_("Rate withdrawn."), _told(told)))


def _part_of(instrument: Instrument, model, item_id: int):
    """A row of `model` that belongs to the instrument; another instrument's is a 404."""
    item = db.get_or_404(model, item_id)
    if item.instrument_id != instrument.id:
        abort(404)
    return item


@bp.route("/lab/instruments/<int:instrument_id>/exceptions/<int:exception_id>/delete",
          methods=["POST"])
@login_required
def remove_exception(instrument_id, exception_id):
    instrument = _editable(instrument_id)
    exception = _part_of(instrument, OpeningException, exception_id)
    services.remove_exception(instrument, exception, current_user)
    return _done(instrument, _("Exception removed."))


@bp.route("/lab/instruments/<int:instrument_id>/blackouts", methods=["POST"])
@login_required
def add_blackout(instrument_id):
    instrument = _editable(instrument_id)
    form = BlackoutForm(prefix="blackout")
    if not form.validate_on_submit():
        return _render_setup(instrument, blackout=form), 422
    start_at, end_at = form.utc_range(instrument.timezone)
    hit = blackouts.hit_by(instrument, start_at, end_at)
    if hit and form.confirmed.data != "1":  # show the lab what it would cancel, first
        return _render_setup(instrument, hit=hit, blackout=form)
    try:
        blackout = services.add_blackout(instrument, start_at=start_at, end_at=end_at,
                                         reason=form.reason.data.strip(), actor=current_user)
    except services.CatalogueError as error:
        return _refused(instrument, form, "blackout", error)
    cancelled = blackouts.cancel_for_blackout(instrument, blackout, current_user)
    for running in blackouts.running_into(instrument, blackout):
        flash(_("Booking #%(id)s of %(name)s is in use now and runs into this blackout: it is "
                "not cancelled. Tell them yourself.", id=running.id, name=running.user.name),
              "warning")
    return _done(instrument, ngettext(
        "Blackout added. %(num)d booking was cancelled and its booker told.",
        "Blackout added. %(num)d bookings were cancelled and their bookers told.",
        len(cancelled)) if cancelled else _("Blackout added."))


@bp.route("/lab/instruments/<int:instrument_id>/blackouts/<int:blackout_id>/delete",
          methods=["POST"])
@login_required
def remove_blackout(instrument_id, blackout_id):
    instrument = _editable(instrument_id)
    blackout = _part_of(instrument, Blackout, blackout_id)
    services.remove_blackout(instrument, blackout, current_user)
    return _done(instrument, _("Blackout removed."))


@bp.route("/lab/instruments/<int:instrument_id>/photo", methods=["POST"])
@login_required
def upload_photo(instrument_id):
    instrument = _editable(instrument_id)
    form = PhotoForm(prefix="photo")
    if not form.validate_on_submit():
        return _render_setup(instrument, photo=form), 422
    data = form.photo.data.read(rules.MAX_PHOTO_BYTES + 1)
    try:
        services.set_photo(instrument, data, current_user)
    except services.CatalogueError as error:
        return _refused(instrument, form, "photo", error)
    return _done(instrument, _("Photo uploaded."))


@bp.route("/lab/instruments/<int:instrument_id>/review", methods=["POST"])
@login_required
def review(instrument_id):
    instrument = _editable(instrument_id)
    services.mark_reviewed(instrument, current_user)
    commit()
    flash(_("Marked as reviewed."), "success")
    return redirect(url_for("instruments.manage"))


@bp.context_processor
def labels():
    locale = current_locale()
    separator = ", " if locale == "en" else "、"
    return {"national_class_label": lambda code: classification.label(code, locale),
            "national_classes": list(classification.classes().values()),
            "status_label": lambda code: str(STATUS_LABELS.get(code, code)),
            "class_label": class_label,
            "missing_labels": lambda keys: separator.join(str(COMPLETENESS_LABELS[k])
                                                          for k in keys),
            "city_name": city_name, "mode_labels": MODE_LABELS, "weekdays": WEEKDAYS,
            "locale": locale}


from booking.instruments import import_routes  # noqa: E402,F401 - the import page, on bp
