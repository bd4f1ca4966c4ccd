"""Groups pages: my groups, a group (members, projects, spending), a project's statement, the
PI's approvals, and the signed link in the PI's e-mail."""
from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from booking.accounts.services import get_user_by_email
from booking.core import tables
from booking.core.categories import CATEGORIES
from booking.core.money import format_cny, yuan_to_fen
from booking.core.notifications import commit
from booking.core.permissions import require
from booking.core.problems import Refused
from booking.core.web import PostForm, attempt, current_locale
from booking.extensions import db
from booking.groups import ledger, limits, services
from booking.groups.forms import (
    ApprovalSettingsForm,
    DecisionForm,
    GroupForm,
    InviteForm,
    LimitForm,
    ProjectForm,
)
from booking.groups.models import GroupMember, PiApproval, Project, ProjectLimit, ResearchGroup

bp = Blueprint("groups", __name__)


def _group(group_id: int) -> ResearchGroup:
    group = db.get_or_404(ResearchGroup, group_id)
    if not group.can_view(current_user):  # an invitation or a request to join shows nothing
        abort(404)
    return group


def _managed(group_id: int) -> ResearchGroup:
    group = _group(group_id)
    require(group.can_manage(current_user))
    return group


def _project(project_id: int) -> Project:
    project = db.get_or_404(Project, project_id)
    if not project.can_view(current_user):
        abort(404)
    return project


def _managed_project(project_id: int) -> Project:
    """A project its reader may change (its group's PI and managers): 404 for those who may
    not see it, 403 for those who may only read it."""
    project = _project(project_id)
    require(project.group.can_manage(current_user))
    return project


def can_lead(user) -> bool:
    """Who may start a group as its PI: members and lab managers (not students)."""
    return user.is_authenticated and (user.is_admin or user.has_role("member") or
                                      user.has_role("lab_manager"))


def _back(group: ResearchGroup):
    return redirect(url_for("groups.detail", group_id=group.id))


# --- my groups ---------------------------------------------------------------------------------
@bp.route("/groups")
@login_required
def index():
    mine = services.groups_of(current_user)
    budgets = services.budgets_of([p for g in mine for p in g.projects])
    return render_template("groups/index.html", groups=mine, budgets=budgets,
                           joinable=services.joinable_groups(current_user),
                           form=GroupForm(formdata=None), can_lead=can_lead(current_user),
                           pending=len(services.pending_for_pi(current_user)))


@bp.route("/groups", methods=["POST"])
@login_required
def create():
    require(can_lead(current_user))
    form = GroupForm()
    if not form.validate_on_submit():
        flash(_("Give the group a name."), "danger")
        return redirect(url_for("groups.index"))
    group = services.create_group(current_user, form.name.data, current_user)
    commit()
    flash(_("Group %(name)s created: you are its PI.", name=group.name), "success")
    return _back(group)


@bp.route("/groups/<int:group_id>")
@login_required
def detail(group_id):
    return _render_detail(_group(group_id))


def _render_detail(group: ResearchGroup, **forms):
    """The group's page; `forms`: a form sent and refused, shown with what was typed and
    each field's error."""
    approval = ApprovalSettingsForm(formdata=None, mode=group.approval_mode,
                                    threshold=Decimal(group.approval_threshold_fen) / 100,
                                    categories=group.approval_categories or [])
    forms = {"invite_form": InviteForm(formdata=None), "approval_form": approval,
             "project_form": ProjectForm(formdata=None), **forms}
    entries = ledger.recent_entries(group)
    return render_template("groups/detail.html", group=group,
                           budgets=services.budgets_of(group.projects), entries=entries,
                           descriptions=ledger.entry_descriptions(
                               entries, current_locale(), current_user.timezone),
                           members=ledger.entry_members(entries),
                           unknown_categories=[c for c in group.approval_categories or []
                                               if c not in CATEGORIES],
                           default_id=services.default_project_id(current_user), **forms)


@bp.route("/groups/<int:group_id>/invite", methods=["POST"])
@login_required
def invite(group_id):
    group = _managed(group_id)
    form = InviteForm()
    if form.validate_on_submit():
        user = get_user_by_email(form.email.data)
        attempt(lambda: services.invite(group, user, current_user),
                _("Invitation sent to %(email)s.", email=form.email.data))
        return _back(group)
    return _render_detail(group, invite_form=form)


@bp.route("/groups/<int:group_id>/join", methods=["POST"])
@login_required
def join(group_id):
    group = db.get_or_404(ResearchGroup, group_id)
    if group.organisation_id != current_user.organisation_id:
        abort(404)
    if PostForm().validate_on_submit():
        attempt(lambda: services.request_to_join(group, current_user),
                _("Request sent to the PI of %(group)s.", group=group.name))
    return redirect(url_for("groups.index"))


@bp.route("/groups/members/<int:member_id>/<any(accept, remove):action>", methods=["POST"])
@login_required
def member(member_id, action):
    member = db.get_or_404(GroupMember, member_id)
    if not (member.group.can_manage(current_user) or member.user_id == current_user.id):
        abort(404)
    if PostForm().validate_on_submit():
        if action == "accept":
            attempt(lambda: services.accept(member, current_user),
                    _("%(user)s is now a member of %(group)s.", user=member.user.name,
                      group=member.group.name))
        else:
            name, group = member.user.name, member.group.name
            count, held = ledger.open_holds_of(member.group, member.user_id)
            if attempt(lambda: services.remove(member, current_user),
                       _("%(user)s is no longer in %(group)s.", user=name, group=group)) \
                    and count:  # what stays charged to the group: theirs or the lab's to end
                flash(ngettext("%(user)s's %(num)s open booking stays charged to the group's "
                               "projects (%(held)s held): they or the lab may cancel it.",
                               "%(user)s's %(num)s open bookings stay charged to the group's "
                               "projects (%(held)s held): they or the lab may cancel them.",
                               count, user=name, held=format_cny(held)), "warning")
    if member.user_id == current_user.id and action == "remove":
        return redirect(url_for("groups.index"))
    return redirect(request.referrer or url_for("groups.index"))


@bp.route("/groups/<int:group_id>/approval", methods=["POST"])
@login_required
def approval_settings(group_id):
    group = _managed(group_id)
    form = ApprovalSettingsForm()
    if form.validate_on_submit():
        mode = form.mode.data  # the other modes' settings are kept for a switch back
        services.update_approval(
            group, current_user, mode=mode,
            threshold_fen=yuan_to_fen(form.threshold.data) if mode == "above_fee"
            else group.approval_threshold_fen,
            categories=list(dict.fromkeys(form.categories.data)) if mode == "categories"
            else group.approval_categories or [])
        commit()
        flash(_("PI approval settings saved."), "success")
        return _back(group)
    return _render_detail(group, approval_form=form)


# --- projects ----------------------------------------------------------------------------------
def _project_values(form: ProjectForm) -> dict:
    return dict(number=form.number.data.strip(), title=form.title.data.strip(),
                funder=(form.funder.data or "").strip(), valid_from=form.valid_from.data,
                valid_until=form.valid_until.data, budget_fen=yuan_to_fen(form.budget.data),
                over_budget=form.over_budget.data)


@bp.route("/groups/<int:group_id>/projects", methods=["POST"])
@login_required
def create_project(group_id):
    group = _managed(group_id)
    form = ProjectForm()
    if not form.validate_on_submit():
        return _render_detail(group, project_form=form)
    values = _project_values(form)
    try:
        services.create_project(group, current_user, **values)
    except services.GroupRefused as refused:  # the number is the group's already
        db.session.rollback()
        form.number.errors = refused.texts()
        return _render_detail(group, project_form=form)
    commit()
    flash(_("Project %(number)s added.", number=values["number"]), "success")
    return _back(group)


@bp.route("/projects/<int:project_id>")
@login_required
def project(project_id):
    return _render_project(_project(project_id))


@bp.route("/projects/<int:project_id>/edit", methods=["POST"])
@login_required
def edit_project(project_id):
    """The PI corrects or tops up a project (number, dates, budget, over-budget rule)."""
    found = _managed_project(project_id)
    form = ProjectForm()
    if form.validate_on_submit():
        try:
            services.update_project(found, current_user, **_project_values(form))
        except services.GroupRefused as refused:
            db.session.rollback()
            form.form_errors.extend(refused.texts())
        else:
            commit()
            flash(_("Project %(number)s saved.", number=found.number), "success")
            return redirect(url_for("groups.project", project_id=found.id))
    return _render_project(found, project_form=form), 422


@bp.route("/projects/<int:project_id>/<any(close, reopen):action>", methods=["POST"])
@login_required
def close_project(project_id, action):
    found = _managed_project(project_id)
    if PostForm().validate_on_submit():
        services.set_project_open(found, current_user, action == "reopen")
        commit()
        flash(_("Project %(number)s closed: no new booking can charge it.", number=found.number)
              if action == "close" else _("Project %(number)s is open again.",
                                          number=found.number), "success")
    return redirect(url_for("groups.project", project_id=found.id))


def _render_project(project: Project, limit_form: LimitForm | None = None,
                    project_form: ProjectForm | None = None):
    """The project's page; `limit_form`, `project_form`: a form sent and refused, as it was
    typed (the project's own form starts from the project)."""
    if project_form is None:
        project_form = ProjectForm(formdata=None, obj=project)
        project_form.budget.data = Decimal(project.budget_fen) / 100
    entries = ledger.entries_of(project)
    return render_template("groups/project.html", project=project,
                           budget=services.budget_of(project), entries=entries,
                           descriptions=ledger.entry_descriptions(
                               entries, current_locale(), current_user.timezone),
                           members=ledger.entry_members(entries),
                           viewable=ledger.viewable_invoices(entries, current_user),
                           limits=limits.limits_of(project, current_locale()),
                           limit_form=limit_form or LimitForm(formdata=None),
                           project_form=project_form)


@bp.route("/projects/<int:project_id>/statement.<any(csv, xlsx):fmt>")
@login_required
def statement(project_id, fmt):
    """The project's statement for the PI: every hold, charge and credit, names beside ids."""
    project = _project(project_id)
    header, rows = ledger.statement_table(project, current_locale(), current_user.timezone)
    return tables.download(fmt, f"project-{project.number}", header, rows, freeze="A2",
                           sheet=project.number)


@bp.route("/projects/<int:project_id>/limits", methods=["POST"])
@login_required
def add_limit(project_id):
    project = _managed_project(project_id)
    form = LimitForm()
    if not form.validate_on_submit():
        return _render_project(project, form)
    instrument = (form.instrument.data or "").strip()
    try:
        limit = limits.set_limit(
            project, current_user,
            instrument_id=limits.resolve_instrument(instrument, current_user)
            if instrument else None,
            category=form.category.data or None, limit_fen=yuan_to_fen(form.limit.data))
    except limits.LimitRefused as refused:
        db.session.rollback()
        (form.instrument if instrument else form.category).errors = refused.texts()
        return _render_project(project, form)
    commit()
    flash(_("Limit saved."), "success")
    spent = limits.used(project, limit)
    if spent > limit.limit_fen:
        flash(_("The project has already used %(spent)s there: further bookings there are "
                "refused, or go to the PI, until the limit is raised.", spent=format_cny(spent)),
              "warning")
    return redirect(url_for("groups.project", project_id=project.id))


@bp.route("/projects/<int:project_id>/limits/<int:limit_id>/delete", methods=["POST"])
@login_required
def remove_limit(project_id, limit_id):
    project = _managed_project(project_id)
    limit = db.session.get(ProjectLimit, limit_id)
    if limit is None or limit.project_id != project.id:
        abort(404)
    if PostForm().validate_on_submit():
        limits.remove_limit(limit, current_user)
        commit()
        flash(_("Limit removed."), "success")
    return redirect(url_for("groups.project", project_id=project.id))


@bp.route("/projects/<int:project_id>/default", methods=["POST"])
@login_required
def make_default(project_id):
    project = _project(project_id)
    if PostForm().validate_on_submit():
        attempt(lambda: services.set_default_project(current_user, project),
                _("Your bookings are now charged to %(project)s unless you choose another.",
                  project=project.label))
    return _back(project.group)


# --- the PI's approvals ------------------------------------------------------------------------
@bp.route("/groups/approvals")
@login_required
def approvals():
    pending = services.pending_for_pi(current_user)
    return render_template("groups/approvals.html", approvals=pending,
                           budgets=services.budgets_of(list({a.project for a in pending
                                                             if a.project})),
                           form=DecisionForm(formdata=None))


@bp.route("/groups/approvals/<int:approval_id>/<any(approve, reject):decision>",
          methods=["POST"])
@login_required
def decide(approval_id, decision):
    approval = db.get_or_404(PiApproval, approval_id)
    if approval.pi_id != current_user.id:
        abort(404)
    form = DecisionForm()
    if form.validate_on_submit():
        _apply(approval, current_user, decision, form.reason.data)
    return redirect(url_for("groups.approvals"))


def _apply(approval: PiApproval, pi, decision: str, reason: str | None, *,
           say: bool = True) -> str | None:
    """The PI's decision; what it did, for the PI to read (flashed when `say`), or None when
    it was refused (the reasons flashed)."""
    approve = decision == "approve"
    if not attempt(lambda: services.decide(approval, pi, approve=approve, reason=reason or ""),
                   None):
        return None
    done = (_("Rejected: the requester is told why.") if not approve
            else _("Approved: the booking is confirmed.") if services.is_confirmed(approval)
            else _("Approved: the lab now decides on the request."))
    if say:
        flash(done, "success")
    return done


@bp.route("/pi/decide/<token>", methods=["GET", "POST"])
def decide_by_link(token):
    """The signed one-time link from the PI's e-mail: no sign-in needed, the signature is the
    PI's. GET only shows the request (mail scanners follow links); POST decides."""
    try:
        approval, decision = services.approval_from_token(token)
    except Refused as refused:
        return render_template("groups/link.html", error=refused.text(), approval=None), 410
    form = DecisionForm()
    if form.validate_on_submit():
        done = _apply(approval, approval.pi, decision, form.reason.data, say=False)
        if done:
            return render_template("groups/link.html", approval=approval, done=done,
                                   decision=decision, error=None)
    return render_template("groups/link.html", approval=approval, decision=decision, form=form,
                           error=None, done=None)
