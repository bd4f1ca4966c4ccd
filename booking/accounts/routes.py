"""Login, registration, profile, API tokens, organisation verification and members."""
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, fresh_login_required, login_required, login_user, logout_user
from sqlalchemy import select

from booking.accounts import attempts, services
from booking.accounts.forms import (
    ApiTokenForm,
    ChangeEmailForm,
    ChangePasswordForm,
    EnterpriseForm,
    JoinForm,
    LoginForm,
    ProfileForm,
    ResetPasswordForm,
    ResetRequestForm,
)
from booking.accounts.models import ApiToken, Organisation, User
from booking.accounts.rules import MIN_PASSWORD_LENGTH, ROLES
from booking.core.clock import now_utc
from booking.core.db import id_in
from booking.core.notifications import commit
from booking.core.permissions import require
from booking.core.problems import LIST_SEPARATOR
from booking.core.security import external_url
from booking.core.web import PostForm, current_locale, safe_next
from booking.extensions import db, limiter, login_manager
from booking.labels import role_label

bp = Blueprint("accounts", __name__)


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    user_id = session_id.partition(":")[0]
    number = id_in(user_id)
    user = db.session.get(User, number) if number is not None else None
    if user is None or not user.active or user.get_id() != session_id:
        return None  # a deactivated user's open sessions end with the deactivation
    return user


@bp.route("/login", methods=["GET", "POST"])
@attempts.limited
def login():
    if current_user.is_authenticated:
        return redirect(url_for("instruments.index"))
    form = LoginForm()
    if request.method == "GET":  # from a link that knows who comes (a password just set)
        form.email.data = request.args.get("email", "")[:254]
    if form.validate_on_submit():
        known = services.get_user_by_email(form.email.data)
        first_time = known is not None and known.last_login_at is None
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except services.SignsInOnCampus as campus:
            commit()
            flash(_("Your account signs in through %(org)s: choose it under campus sign-on.",
                    org=campus.institution), "warning")
            return render_template("accounts/login.html", form=form)
        if user is None:
            commit()  # keep the audit record of the failure
            flash(_("Wrong e-mail or password."), "danger")
        else:
            login_user(user, remember=form.remember.data)
            commit()
            flash(_("Welcome, %(name)s.", name=user.name) if first_time
                  else _("Welcome back, %(name)s.", name=user.name), "success")
            return redirect(safe_next(request.args.get("next")) or url_for("instruments.index"))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    leave_to = services.leaving_to(current_user)
    current_user.session_epoch += 1  # a copy of the session's cookie stops working too
    commit()
    logout_user()
    flash(_("You have logged out."), "info")
    if leave_to:  # off the site, after a form: by a page that moves on
        return render_template("moving_on.html", url=leave_to,
                               heading=_("Ending your sign-in at your institution…"))
    return redirect(url_for("instruments.index"))


@bp.route("/register")
def register():
    return render_template("accounts/register.html")


def _joinable_organisations() -> list[Organisation]:
    return list(db.session.scalars(
        select(Organisation).where(Organisation.verified.is_(True), Organisation.active.is_(True),
                                   Organisation.kind != "bureau")
        .order_by(Organisation.kind, Organisation.name_zh)))


# Registering says whether an address is taken (it must, to be of use): its tries count against
# the sign-in budget of the address they come from, so nobody lists the accounts this way.
@bp.route("/register/join", methods=["GET", "POST"])
@attempts.limited
def register_join():
    form = JoinForm()
    organisations = _joinable_organisations()
    form.organisation_id.choices = [(0, _("Choose your institution"))] + [
        (o.id, o.display_name(current_locale())) for o in organisations]  # none taken unasked
    if form.validate_on_submit():
        organisation = db.session.get(Organisation, form.organisation_id.data)
        try:
            user = services.register_member(
                email=form.email.data, password=form.password.data, name=form.name.data.strip(),
                organisation=organisation, as_student=form.as_student.data,
                locale=form.locale.data)
        except services.AccountError as exc:
            getattr(form, exc.field).errors.append(exc.text())
        else:
            user.last_login_at = now_utc()  # signed in as registered: not "never signed in"
            commit()
            login_user(user)
            flash(_("Registered. A manager of %(org)s will confirm your membership before you "
                    "can book.", org=organisation.display_name(current_locale())), "success")
            return redirect(url_for("instruments.index"))
    return render_template("accounts/register_join.html", form=form)


@bp.route("/register/enterprise", methods=["GET", "POST"])
@attempts.limited
def register_enterprise():
    form = EnterpriseForm()
    if form.validate_on_submit():
        try:
            user = services.register_enterprise(
                email=form.email.data, password=form.password.data, name=form.name.data.strip(),
                organisation_fields=form.organisation_fields(), locale=form.locale.data)
        except services.AccountError as exc:
            getattr(form, exc.field).errors.append(exc.text())
        else:
            user.last_login_at = now_utc()  # signed in as registered: not "never signed in"
            commit()
            login_user(user)
            flash(_("Enterprise registered. Bureau staff will verify it before you can book."),
                  "success")
            return redirect(url_for("instruments.index"))
    return render_template("accounts/register_enterprise.html", form=form)


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        current_user.name = form.name.data.strip()
        current_user.phone = (form.phone.data or "").strip()
        current_user.locale = form.locale.data
        current_user.timezone = form.timezone.data
        commit()
        session["locale"] = form.locale.data  # it outranks the account's (the header's switch)
        with force_locale(form.locale.data):
            flash(_("Profile saved."), "success")
        return redirect(url_for("accounts.profile"))
    return _profile_page(form)


def _profile_page(form=None, password_form=None, email_form=None, status=200):
    return render_template(
        "accounts/profile.html", form=form or ProfileForm(obj=current_user),
        password_form=password_form or ChangePasswordForm(prefix="pw"),
        email_form=email_form or ChangeEmailForm(prefix="em"),
        address_kept_by=services.address_kept_by(current_user)), status


@bp.route("/profile/password", methods=["POST"])
@fresh_login_required
def change_password():
    form = ChangePasswordForm(prefix="pw")
    form.account_email = current_user.email
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors.append(_("Current password is wrong."))
        else:
            user = current_user._get_current_object()
            services.change_password(user, form.password.data, via="profile")
            commit()
            # new session id tail after the hash changed. The user itself, never the proxy:
            # stored as the request's user, the proxy would resolve to itself forever
            # (a C-level recursion that killed the worker with SIGSEGV).
            login_user(user)
            flash(_("Password changed. Your API tokens stay valid: revoke them under API "
                    "tokens if someone else may have them."), "success")
            return redirect(url_for("accounts.profile"))
    return _profile_page(password_form=form, status=422)


@bp.route("/profile/email", methods=["POST"])
@fresh_login_required
@limiter.limit("5 per hour", key_func=lambda: f"user:{current_user.id}")  # a campus shares IPs
def request_email_change():
    """A new address takes effect once the link sent to it is opened."""
    form = ChangeEmailForm(prefix="em")
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors.append(_("Current password is wrong."))
        else:
            try:
                new_email = services.request_email_change(current_user, form.new_email.data)
            except services.AccountError as exc:
                getattr(form, exc.field).errors.append(exc.text())
            else:
                commit()
                flash(_("We sent a link to %(email)s: your address changes when you open it "
                        "(within 2 days).", email=new_email), "info")
                return redirect(url_for("accounts.profile"))
    return _profile_page(email_form=form, status=422)


@bp.route("/change-email/<token>")
def change_email(token):
    user = services.change_email(token)
    if user is None:
        flash(_("This link is invalid or has expired, or the address is taken: ask for the "
                "change again from your profile."), "danger")
        return redirect(url_for("accounts.profile"))
    commit()
    flash(_("Your e-mail address is now %(email)s: log in with it from now on.",
            email=user.email), "success")
    return redirect(url_for("accounts.profile" if current_user.is_authenticated
                            else "accounts.login"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@attempts.limited
def forgot_password():
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        commit()
        flash(_("If the address is registered, a reset link is on its way."), "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/confirm-email/<token>")
def confirm_email(token):
    user = services.confirm_email(token)
    if user is None:
        flash(_("This confirmation link is invalid or has expired. Log in and ask for a new "
                "one."), "danger")
        return redirect(url_for("accounts.login"))
    commit()
    flash(_("E-mail address confirmed."), "success")
    return redirect(url_for("instruments.index"))


@bp.route("/confirm-email", methods=["POST"])
@login_required
@limiter.limit("5 per hour")
def resend_confirmation():
    if PostForm().validate_on_submit() and not current_user.email_confirmed:
        services.send_email_confirmation(current_user)
        commit()
        flash(_("We sent the link again to %(email)s.", email=current_user.email), "info")
    return redirect(safe_next(request.form.get("next")) or url_for("instruments.index"))


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token):
    """A reset link, or an invitation's (its welcome, and the new account is signed in)."""
    user, invited = services.user_for_reset_token(token), services.invited_by_link(token)
    if user is None and invited is not None:  # a second invitation, after the first was used
        flash(_("Your password is set already: log in with it (or use \"Forgot password\")."),
              "info")
        return redirect(url_for("accounts.login", email=invited.email))
    if user is None:
        flash(_("This reset link is invalid or has expired. Ask for a new one."), "danger")
        return redirect(url_for("accounts.forgot_password"))
    form = ResetPasswordForm()
    form.account_email = user.email
    if form.validate_on_submit():
        revoked = services.change_password(user, form.password.data, via="reset")
        if invited is not None and user.active:
            user.last_login_at = now_utc()
            commit()
            login_user(user)
            flash(_("Welcome, %(name)s: your password is set.", name=user.name), "success")
            return redirect(url_for("instruments.index"))
        commit()
        flash(_("Password changed. Log in with the new one."), "success")
        if revoked:
            flash(ngettext("Your API token was revoked with the old password: create a new one "
                           "if a program needs it.",
                           "Your %(num)d API tokens were revoked with the old password: create "
                           "new ones if programs need them.", revoked), "info")
        return redirect(url_for("accounts.login", email=user.email))
    roles = invited and _(LIST_SEPARATOR).join(map(role_label, invited.role_names()))
    return render_template("accounts/reset_password.html", form=form, invited=invited,
                           invited_roles=roles, min_length=MIN_PASSWORD_LENGTH)


# --- API tokens ------------------------------------------------------------------------------
@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    form = ApiTokenForm()
    new_secret = None
    if form.validate_on_submit():
        _token, new_secret = services.create_api_token(current_user, form.name.data.strip(),
                                                  form.valid_days.data or None)
        commit()
        flash(_("Token created. Copy it now: it will not be shown again."), "warning")
        form = ApiTokenForm(formdata=None)
    listed = db.session.scalars(select(ApiToken).where(ApiToken.user_id == current_user.id)
                                .order_by(ApiToken.created_at.desc())).all()
    return render_template("accounts/tokens.html", form=form, tokens=listed,
                           new_secret=new_secret, revoke_form=PostForm())


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id):
    token = db.get_or_404(ApiToken, token_id)
    require(token.user_id == current_user.id)
    if PostForm().validate_on_submit():
        services.revoke_api_token(token, current_user)
        commit()
        flash(_("Token revoked."), "info")
    return redirect(url_for("accounts.tokens"))


# --- organisations ---------------------------------------------------------------------------
@bp.route("/organisations")
@login_required
def organisations():
    require(current_user.can_verify_organisations())
    rows = db.session.scalars(select(Organisation).order_by(
        Organisation.verified, Organisation.kind, Organisation.name_zh)).all()
    return render_template("accounts/organisations.html", organisations=rows, form=PostForm())


@bp.route("/organisations/<int:org_id>/verify", methods=["POST"])
@login_required
def verify_organisation(org_id):
    require(current_user.can_verify_organisations())
    organisation = db.get_or_404(Organisation, org_id)
    if PostForm().validate_on_submit():
        services.verify_organisation(organisation, current_user)
        commit()
        flash(_("%(org)s verified.", org=organisation.display_name(current_locale())), "success")
    return redirect(url_for("accounts.organisations"))


@bp.route("/organisations/<int:org_id>/members")
@login_required
def members(org_id):
    organisation = db.get_or_404(Organisation, org_id)
    require(current_user.can_view_members(organisation))
    people = db.session.scalars(select(User).where(User.organisation_id == org_id)
                                .order_by(User.membership_confirmed, User.name)).all()
    return render_template("accounts/members.html", organisation=organisation, people=people,
                           form=PostForm(), join_url=external_url("accounts.register_join"),
                           assignable=sorted(services.assignable_roles(current_user, organisation),
                                             key=ROLES.index))


def _managed_member_or_404(org_id: int, user_id: int) -> User:
    """A member of an organisation the current user manages (403 otherwise, 404 if unknown)."""
    organisation = db.get_or_404(Organisation, org_id)
    require(current_user.can_manage_organisation(organisation.id))
    user = db.get_or_404(User, user_id)
    if user.organisation_id != organisation.id:
        abort(404)
    return user


@bp.route("/organisations/<int:org_id>/members/<int:user_id>/roles", methods=["POST"])
@login_required
def set_member_roles(org_id, user_id):
    user = _managed_member_or_404(org_id, user_id)
    if PostForm().validate_on_submit():
        try:
            services.set_roles(user, set(request.form.getlist("roles")), current_user)
        except services.AccountError as exc:
            flash(exc.text(), "danger")
        else:
            commit()
            flash(_("Roles of %(name)s saved.", name=user.name), "success")
    return redirect(url_for("accounts.members", org_id=org_id))


@bp.route("/organisations/<int:org_id>/members/<int:user_id>/confirm", methods=["POST"])
@login_required
def confirm_member(org_id, user_id):
    user = _managed_member_or_404(org_id, user_id)
    if PostForm().validate_on_submit():
        services.confirm_member(user, current_user)
        commit()
        flash(_("%(name)s confirmed.", name=user.name), "success")
    return redirect(url_for("accounts.members", org_id=org_id))
