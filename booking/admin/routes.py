"""The console's pages: organisations, people, audit trail."""
import marshmallow as ma
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from booking.accounts import services as accounts
from booking.accounts.models import Organisation, User
from booking.accounts.rules import ORG_KINDS, ROLES
from booking.admin import audit_labels, audit_view, services
from booking.admin.forms import InviteForm, OrganisationForm, ReasonForm
from booking.api.fields import Id, SearchText
from booking.api.paging import PageArgs, paged
from booking.core import tables
from booking.core.notifications import commit
from booking.core.permissions import require
from booking.core.web import PostForm, attempt, back_to, current_locale, query_args, query_int
from booking.extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")


class OrganisationFilters(PageArgs):
    q = SearchText()
    kind = ma.fields.String(validate=ma.validate.OneOf(ORG_KINDS))
    state = ma.fields.String(validate=ma.validate.OneOf(("unverified", "inactive")))


class UserFilters(PageArgs):
    q = SearchText()
    org = Id()
    role = ma.fields.String(validate=ma.validate.OneOf(ROLES))
    state = ma.fields.String(validate=ma.validate.OneOf(("active", "inactive")))


ORGANISATION_ARGS, USER_ARGS = OrganisationFilters(), UserFilters()


def _require_console() -> None:
    require(services.can_administer(current_user))


def _form_problems(form, refused: services.ConsoleError) -> None:
    """Put each refusal on its field (or flash it when the form has no such field)."""
    for problem in refused.problems:
        field = getattr(form, problem.code, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, problem.text()]
        else:
            flash(problem.text(), "danger")


# --- organisations -------------------------------------------------------------------------
@bp.route("/organisations")
@login_required
def organisations():
    _require_console()
    args = query_args(ORGANISATION_ARGS)
    listing = paged(services.organisations_query(args), args["page"], args["per_page"],
                    clamp=True)
    return render_template("admin/organisations.html", listing=listing, args=args,
                           kinds=ORG_KINDS, form=PostForm(), reason_form=ReasonForm())


@bp.route("/organisations/new", methods=["GET", "POST"])
@login_required
def new_organisation():
    _require_console()
    form = OrganisationForm()
    if form.validate_on_submit():
        try:
            organisation = services.create_organisation(form.fields_dict(), current_user)
        except services.ConsoleError as refused:
            db.session.rollback()
            _form_problems(form, refused)
        else:
            commit()
            flash(_("%(org)s created.", org=organisation.display_name(current_locale())),
                  "success")
            return redirect(url_for("admin.organisations", q=organisation.credit_code))
    return render_template("admin/organisation_form.html", form=form, organisation=None)


@bp.route("/organisations/<int:org_id>/edit", methods=["GET", "POST"])
@login_required
def edit_organisation(org_id):
    _require_console()
    organisation = db.get_or_404(Organisation, org_id)
    form = OrganisationForm(obj=organisation)
    if form.validate_on_submit():
        try:
            services.update_organisation(organisation, form.fields_dict(), current_user)
        except services.ConsoleError as refused:
            db.session.rollback()
            _form_problems(form, refused)
        else:
            commit()
            flash(_("Saved."), "success")
            return redirect(url_for("admin.organisations"))
    return render_template("admin/organisation_form.html", form=form, organisation=organisation)


@bp.route("/organisations/<int:org_id>/verify", methods=["POST"])
@login_required
def verify_organisation(org_id):
    _require_console()
    organisation = db.get_or_404(Organisation, org_id)
    if PostForm().validate_on_submit():
        attempt(lambda: accounts.verify_organisation(organisation, current_user),
                _("%(org)s verified.", org=organisation.display_name(current_locale())))
    return redirect(back_to("admin.organisations"))


@bp.route("/organisations/<int:org_id>/deactivate", methods=["POST"])
@login_required
def deactivate_organisation(org_id):
    _require_console()
    organisation = db.get_or_404(Organisation, org_id)
    form = ReasonForm()
    if form.validate_on_submit():
        cancelled = []
        if attempt(lambda: cancelled.append(services.set_organisation_active(
                organisation, False, current_user, form.reason.data)),
                _("%(org)s deactivated.", org=organisation.display_name(current_locale()))) \
                and cancelled[0]:
            flash(_("%(count)d future booking(s) cancelled; the bookers were told.",
                    count=cancelled[0]), "info")
    else:
        flash(form.reason.errors[0] if form.reason.errors else _("Give a reason."), "danger")
    return redirect(back_to("admin.organisations"))


@bp.route("/organisations/<int:org_id>/activate", methods=["POST"])
@login_required
def activate_organisation(org_id):
    _require_console()
    organisation = db.get_or_404(Organisation, org_id)
    if not organisation.active and PostForm().validate_on_submit() and attempt(
            lambda: services.set_organisation_active(organisation, True, current_user),
            _("%(org)s re-activated.", org=organisation.display_name(current_locale()))):
        inactive = services.inactive_members(organisation)
        if inactive:  # they come back one by one: the list of them, to choose who
            flash(ngettext("%(num)d person of it stays deactivated: re-activate whoever "
                           "returns, below.", "%(num)d people of it stay deactivated: "
                           "re-activate whoever returns, below.", inactive), "info")
            return redirect(url_for("admin.users", org=organisation.id, state="inactive"))
    return redirect(back_to("admin.organisations"))


# --- people --------------------------------------------------------------------------------
@bp.route("/users")
@login_required
def users():
    _require_console()
    args = query_args(USER_ARGS)
    listing = paged(services.users_query(args), args["page"], args["per_page"], clamp=True)
    return render_template("admin/users.html", listing=listing, args=args, roles=ROLES,
                           organisations=services.organisation_choices(), form=PostForm(),
                           reason_form=ReasonForm(), assignable=_assignable,
                           may_manage=_may_manage,
                           awaits_first_sign_in=services.awaits_first_sign_in)


def _assignable(user: User) -> list[str]:
    return sorted(accounts.assignable_roles(current_user, user.organisation), key=ROLES.index)


@bp.route("/users/invite", methods=["GET", "POST"])
@login_required
def invite():
    _require_console()
    form = InviteForm()
    form.organisation.choices = [(o.id, o.display_name(current_locale()))
                                 for o in services.organisation_choices()]
    form.roles.choices = [(r, r) for r in ROLES]
    if not form.is_submitted():  # from an organisation's people list: that organisation
        form.organisation.data = query_int("org")
    if form.validate_on_submit():
        organisation = db.get_or_404(Organisation, form.organisation.data)
        try:
            user = services.invite_user(email=form.email.data, name=form.name.data,
                                        organisation=organisation, roles=set(form.roles.data),
                                        locale=form.locale.data, actor=current_user)
        except (services.ConsoleError, accounts.AccountError) as refused:
            db.session.rollback()
            for text in refused.texts():
                flash(text, "danger")
        else:
            commit()
            flash(_("Invitation sent to %(email)s.", email=user.email), "success")
            return redirect(url_for("admin.users", q=user.email))
    return render_template("admin/invite.html", form=form)


def _user_or_404(user_id: int) -> User:
    _require_console()
    return db.get_or_404(User, user_id)


def _may_manage(user: User) -> bool:
    """An account is deactivated or revived only by someone who may give it all its roles."""
    roles = set(user.role_names())
    return bool(roles) and roles <= accounts.assignable_roles(current_user, user.organisation)


def _require_may_manage(user: User) -> None:
    require(_may_manage(user))


@bp.route("/users/<int:user_id>/roles", methods=["POST"])
@login_required
def user_roles(user_id):
    user = _user_or_404(user_id)
    if PostForm().validate_on_submit():
        attempt(lambda: accounts.set_roles(user, set(request.form.getlist("roles")),
                                           current_user),
                _("Roles of %(name)s saved.", name=user.name))
    return redirect(back_to("admin.users"))


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@login_required
def deactivate_user(user_id):
    user = _user_or_404(user_id)
    if user.id == current_user.id:
        abort(403)  # nobody locks themselves out
    _require_may_manage(user)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(form.reason.errors[0] if form.reason.errors else _("Give a reason."), "danger")
        return redirect(back_to("admin.users"))
    cancelled = []
    if attempt(lambda: cancelled.append(services.deactivate_user(
            user, actor=current_user, reason=form.reason.data)),
            _("%(name)s deactivated.", name=user.name)) and cancelled[0]:
        flash(_("%(count)d future booking(s) cancelled; the booker was told.",
                count=cancelled[0]), "info")
    return redirect(back_to("admin.users"))


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
@login_required
def reactivate_user(user_id):
    user = _user_or_404(user_id)
    _require_may_manage(user)  # whoever may not deactivate an account may not revive it
    if PostForm().validate_on_submit():
        attempt(lambda: services.reactivate_user(user, actor=current_user),
                _("%(name)s re-activated.", name=user.name))
    return redirect(back_to("admin.users"))


@bp.route("/users/<int:user_id>/resend-invitation", methods=["POST"])
@login_required
def resend_invitation(user_id):
    user = _user_or_404(user_id)
    _require_may_manage(user)
    if PostForm().validate_on_submit():
        attempt(lambda: services.resend_invitation(user, actor=current_user),
                _("Invitation sent to %(email)s.", email=user.email))
    return redirect(back_to("admin.users"))


# --- audit trail ---------------------------------------------------------------------------
@bp.route("/audit")
@login_required
def audit():
    require(audit_view.can_read_audit(current_user))
    args = query_args(audit_view.AUDIT_ARGS)
    listing = paged(audit_view.events(current_user, args, current_user.timezone),
                    args["page"], args["per_page"], clamp=True)
    return render_template("admin/audit.html", listing=listing, args=args,
                           actions=audit_view.action_choices(),
                           organisations=audit_view.organisation_choices(current_user))


@bp.route("/audit.<any(csv, xlsx):fmt>")
@login_required
def audit_export(fmt):
    require(audit_view.can_read_audit(current_user))
    args = query_args(audit_view.AUDIT_ARGS)
    query = audit_view.events(current_user, args, current_user.timezone)
    with_ip = audit_view.shows_addresses(current_user)
    return tables.download(fmt, "audit", audit_view.export_header(with_ip),
                           audit_view.export_rows(query, with_ip), freeze="A2")


@bp.context_processor
def _audit_words():
    """The audit page's words for codes (see audit_labels), times on the reader's clock."""
    name_of = audit_view.names_reader(current_locale())
    return {"audit_action": audit_labels.action_label, "audit_object": audit_labels.object_label,
            "audit_object_types": audit_labels.object_choices,
            "audit_fields": lambda data, action="": audit_labels.described(
                data, current_user.timezone, action, name_of)}
