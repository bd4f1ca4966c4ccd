"""The import page: lab managers load their organisation's asset spreadsheet, bureau staff any
organisation's. Check first (a dry run that writes nothing), then import."""
from flask import render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import BooleanField, SelectField, SubmitField

from booking.accounts.models import Organisation
from booking.core import tables
from booking.core.notifications import commit
from booking.core.permissions import require
from booking.core.web import SiteForm, current_locale
from booking.extensions import db
from booking.instruments import importing
from booking.instruments.routes import bp


class ImportForm(SiteForm):
    organisation = SelectField(_l("Organisation"), coerce=int)
    file = FileField(_l("Asset list (XLSX or CSV, at most 5 MB)"), validators=[FileRequired()])
    skip_invalid = BooleanField(_l("Import the valid rows and skip rows with problems"))
    check = SubmitField(_l("Check only (dry run)"))
    submit = SubmitField(_l("Import"))


def importable_organisations(user) -> list[Organisation]:
    query = select(Organisation).where(Organisation.active.is_(True),
                                       Organisation.kind.in_(importing.OWNER_KINDS)).order_by(
        Organisation.name_zh)
    if not user.is_bureau:
        query = query.where(Organisation.id.in_(user.managed_organisation_ids() or {0}))
    return list(db.session.scalars(query))


@bp.route("/lab/import", methods=["GET", "POST"])
@login_required
def import_list():
    organisations = importable_organisations(current_user)
    require(bool(organisations))
    form = ImportForm()
    form.organisation.choices = [(o.id, o.display_name(current_locale())) for o in organisations]
    result, error = None, None
    if form.validate_on_submit():
        organisation = db.get_or_404(Organisation, form.organisation.data)
        require(importing.can_import(current_user, organisation))
        upload = form.file.data
        dry_run = bool(form.check.data)
        try:
            rows = importing.read_table(upload.read(importing.MAX_FILE_BYTES + 1),
                                        upload.filename or "")
        except importing.UnreadableFile as unreadable:
            error = unreadable.problem.text()
        else:
            result = importing.import_instruments(
                organisation, rows, current_user, dry_run=dry_run,
                skip_invalid=form.skip_invalid.data, source=upload.filename or "")
            if result.written:
                commit()
            else:
                db.session.rollback()
    return render_template("instruments/import.html", form=form, result=result, error=error,
                           columns=importing.import_rules.COLUMNS), 422 if error else 200


@bp.route("/lab/import/template.<any(csv, xlsx):fmt>")
@login_required
def import_template(fmt):
    require(bool(importable_organisations(current_user)))
    english = request.args.get("lang") == "en"
    return tables.attachment(importing.template(fmt, english), fmt,
                             "instrument-list-template" + ("-en" if english else ""))
