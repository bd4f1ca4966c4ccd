"""Campus sign-on pages: pick an institution, go through its provider, come back signed in;
link an existing account; and the admin's provider console."""
import hmac
import secrets

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from booking.accounts import attempts
from booking.core.clock import now_utc
from booking.core.db import id_in
from booking.core.notifications import commit
from booking.core.permissions import require
from booking.core.security import external_url
from booking.core.web import PostForm, current_locale, safe_next
from booking.extensions import csrf, db
from booking.identity import cas_client, ldap_directory, oidc_client, services
from booking.identity.assertion import SignOnRefused, provider_secret
from booking.identity.forms import LdapLoginForm, LinkForm, ProviderForm
from booking.identity.models import ExternalIdentity, IdentityProvider
from booking.labels import role_label

bp = Blueprint("identity", __name__)

REMEMBER_COOKIE = "sso_provider"
REMEMBER_SECONDS = 365 * 24 * 3600
PENDING_KEY = "sso_pending_link"
NEXT_KEY = "sso_next"
SIGNED_ON_KEY = "sso_signed_on"
LINKING_KEY = "sso_linking"
CAS_STATE_KEY = "sso_cas_state"


@bp.app_context_processor
def sign_on_choices():
    """For the login page: the providers to pick from and the one remembered in the cookie
    (a callable, so pages without the picker query nothing)."""
    def choices():
        providers = services.enabled_providers()
        remembered = request.cookies.get(REMEMBER_COOKIE, "")
        chosen = next((p for p in providers if str(p.id) == remembered), None)
        return {"providers": providers, "remembered": chosen}
    return {"sign_on_choices": choices}


# --- choosing an institution -------------------------------------------------------------------
@bp.route("/sso")
def choose():
    if current_user.is_authenticated:
        return redirect(url_for("instruments.index"))
    return render_template("identity/choose.html")


@bp.route("/sso/start")
def start():
    """Send the person to their institution's provider: picked from the list, or found by the
    domain of the e-mail address they typed."""
    provider = None
    if id_in(request.args.get("provider", "")):
        provider = services.enabled_provider(id_in(request.args["provider"]))
    elif request.args.get("email"):
        provider = services.provider_for_email(request.args["email"][:254])
        if provider is None:
            flash(_("No institution signs in with that e-mail address here: log in with "
                    "your password."), "info")
            return redirect(url_for("accounts.login"))
        if provider.kind != "ldap":  # a form may not lead to another site: a link may
            return render_template("moving_on.html", url=url_for(
                "identity.start", provider=provider.id, next=safe_next(request.args.get("next"))),
                heading=_("Taking you to the sign-in of %(org)s…", org=provider.organisation
                          .display_name(current_locale())))
    if provider is None:
        flash(_("Choose your institution from the list."), "warning")
        return redirect(url_for("identity.choose"))
    session[NEXT_KEY] = safe_next(request.args.get("next")) or ""
    try:
        response = make_response(_redirect_to_provider(provider))
    except SignOnRefused as refusal:
        for text in refusal.texts():
            flash(text, "danger")
        return redirect(url_for("identity.choose"))
    response.set_cookie(REMEMBER_COOKIE, str(provider.id), max_age=REMEMBER_SECONDS,
                        httponly=True, samesite="Lax",
                        secure=request.is_secure)
    return response


def _redirect_to_provider(provider: IdentityProvider):
    if provider.kind == "cas":
        # CAS has no state of its own: the service URL carries ours, so that a ticket comes
        # back only to the browser that went for it (else anyone's ticket, put in a link,
        # would sign its follower in as them)
        session[CAS_STATE_KEY] = state = secrets.token_urlsafe(16)
        return redirect(cas_client.login_url(provider, _cas_service(provider, state)))
    if provider.kind == "oidc":
        return oidc_client.authorize_redirect(
            provider, external_url("identity.oidc_callback", provider_id=provider.id))
    return redirect(url_for("identity.ldap_login", provider_id=provider.id))


def _cas_service(provider: IdentityProvider, state: str) -> str:
    return external_url("identity.cas_callback", provider_id=provider.id, state=state)


def _provider_or_404(provider_id: int) -> IdentityProvider:
    provider = services.enabled_provider(provider_id)
    if provider is None:
        abort(404)
    return provider


# --- coming back from the provider -------------------------------------------------------------
@bp.route("/sso/<int:provider_id>/cas")
def cas_callback(provider_id):
    provider = _provider_or_404(provider_id)
    if provider.kind != "cas":
        abort(404)
    state, expected = request.args.get("state", "")[:64], session.pop(CAS_STATE_KEY, "")
    if not expected or not hmac.compare_digest(state, expected):
        flash(_("This sign-in was not started in this browser, or it was started again "
                "since. Please sign in again."), "danger")
        return redirect(url_for("identity.choose"))
    return _finish(provider, lambda: cas_client.validate(
        provider, _cas_service(provider, state), request.args.get("ticket", "")))


@bp.route("/sso/<int:provider_id>/cas", methods=["POST"])
@csrf.exempt  # the CAS server posts it, not a browser with our form
def cas_single_logout(provider_id):
    """CAS single logout: the server tells us which ticket's session ended there."""
    provider = _provider_or_404(provider_id)
    ticket = cas_client.logged_out_ticket(request.form.get("logoutRequest", "")[:10_000])
    if provider.kind != "cas" or not ticket:
        abort(400)
    services.end_sessions(provider, ticket)
    commit()
    return "", 204


@bp.before_app_request
def end_signed_out_sessions():
    """A session begun through a provider ends once the provider said the person signed out
    there (CAS single logout). One indexed read, only for such sessions."""
    signed_on = session.get(SIGNED_ON_KEY)
    if not signed_on or request.endpoint == "static":
        return
    if not current_user.is_authenticated or current_user.id != signed_on.get("user"):
        session.pop(SIGNED_ON_KEY, None)
    elif services.is_signed_out(signed_on["provider"], signed_on["user"], signed_on["at"]):
        logout_user()
        session.pop(SIGNED_ON_KEY, None)


def campus_logout(user, **_extra) -> str | None:
    """Receiver of accounts' `leaving_to`: a session begun through CAS ends at the CAS server
    too, which then sends the browser back here."""
    signed_on = session.pop(SIGNED_ON_KEY, None)
    provider = db.session.get(IdentityProvider, signed_on["provider"]) if signed_on else None
    if provider is None or provider.kind != "cas" or signed_on["user"] != user.id:
        return None
    return cas_client.logout_url(provider, external_url("instruments.index"))


def _signed_on(provider: IdentityProvider, user) -> None:
    login_user(user)
    session[SIGNED_ON_KEY] = {"provider": provider.id, "user": user.id,
                              "at": now_utc().timestamp()}


@bp.route("/sso/<int:provider_id>/oidc")
def oidc_callback(provider_id):
    provider = _provider_or_404(provider_id)
    if provider.kind != "oidc":
        abort(404)
    return _finish(provider, lambda: oidc_client.complete(provider))


@bp.route("/sso/<int:provider_id>/ldap", methods=["GET", "POST"])
@attempts.per_address
def ldap_login(provider_id):
    provider = _provider_or_404(provider_id)
    if provider.kind != "ldap":
        abort(404)
    form = LdapLoginForm()
    if form.validate_on_submit():
        response = _finish(provider, lambda: ldap_directory.authenticate(
            provider, form.username.data, form.password.data), failed=None)
        if response is not None:
            return response
    return render_template("identity/ldap_login.html", form=form, provider=provider)


def _finish(provider: IdentityProvider, assert_person, failed="choose"):
    """Sign in the person the provider vouches for (commit once), or say why not. A refusal
    still commits: its audit record, and a leaver's deactivation."""
    if _linking(provider):
        return _finish_link(provider, assert_person)
    try:
        user = services.sign_in(provider, assert_person())
    except services.NeedsLink as needs:
        session[PENDING_KEY] = needs.pending
        return redirect(url_for("identity.link"))
    except SignOnRefused as refusal:
        commit()
        # for the administrator: a provider set up wrong (secret, CA file) shows here only
        current_app.logger.warning("sign-in through provider %s refused (%s): %r", provider.id,
                                   refusal.code, refusal.__cause__)
        for text in refusal.texts():
            flash(text, "danger")
        return redirect(url_for("identity.choose")) if failed else None
    commit()
    _signed_on(provider, user)
    flash(_("Welcome, %(name)s.", name=user.name), "success")
    return redirect(session.pop(NEXT_KEY, "") or url_for("instruments.index"))


# --- linking an existing account ---------------------------------------------------------------
@bp.route("/sso/link-account", methods=["POST"])
@login_required
def link_account():
    """A signed-in user links their institution's sign-in to this account (both proved: the
    session here, the provider's login next)."""
    provider, identity = services.link_status(current_user)
    if provider is None:
        abort(404)
    if not PostForm().validate_on_submit() or identity is not None:
        return redirect(url_for("accounts.profile"))
    session[LINKING_KEY] = {"provider": provider.id, "user": current_user.id,
                            "at": now_utc().timestamp()}
    try:
        return _redirect_to_provider(provider)
    except SignOnRefused as refusal:
        session.pop(LINKING_KEY, None)
        flash(refusal.text(), "danger")
        return redirect(url_for("accounts.profile"))


def _linking(provider: IdentityProvider) -> bool:
    intent = session.get(LINKING_KEY)
    return bool(intent and current_user.is_authenticated and intent["user"] == current_user.id
                and intent["provider"] == provider.id and
                now_utc().timestamp() - intent["at"] < services.LINK_MAX_AGE_SECONDS)


def _finish_link(provider: IdentityProvider, assert_person):
    session.pop(LINKING_KEY, None)
    try:
        services.link_signed_in(current_user._get_current_object(), provider, assert_person())
    except SignOnRefused as refusal:
        db.session.rollback()
        flash(refusal.text(), "danger")
    else:
        commit()
        flash(_("Your account is now linked: next time, sign in through %(org)s.",
                org=provider.organisation.display_name(current_locale())), "success")
    return redirect(url_for("accounts.profile"))


@bp.app_context_processor
def campus_link():
    """For the profile page: the user's institution's provider and their link to it."""
    def status():
        if not current_user.is_authenticated:
            return None, None
        return services.link_status(current_user)
    return {"campus_link": status}


@bp.route("/sso/link", methods=["GET", "POST"])
@attempts.per_address
def link():
    pending = session.get(PENDING_KEY)
    if not pending:
        return redirect(url_for("identity.choose"))
    provider = db.session.get(IdentityProvider, int(pending["provider_id"]))
    form = LinkForm()
    if form.validate_on_submit():
        try:
            user = services.link_pending(pending, form.password.data)
        except SignOnRefused as refusal:
            commit()
            for text in refusal.texts():
                form.password.errors.append(text)
            if refusal.code in ("link_expired", "already_linked", "other_organisation"):
                session.pop(PENDING_KEY, None)
                flash(refusal.text(), "danger")
                return redirect(url_for("identity.choose"))
        else:
            commit()
            session.pop(PENDING_KEY, None)
            _signed_on(provider, user)
            flash(_("Your account is now linked: next time, sign in through %(org)s.",
                    org=provider.organisation.display_name(current_locale())), "success")
            return redirect(session.pop(NEXT_KEY, "") or url_for("instruments.index"))
    return render_template("identity/link.html", form=form, provider=provider,
                           email=pending["email"], name=pending.get("name") or "",
                           role=role_label(pending["role"]))


# --- the admin's console -----------------------------------------------------------------------
@bp.route("/admin/identity-providers")
@login_required
def providers():
    require(IdentityProvider.can_manage(current_user))
    rows = db.session.scalars(select(IdentityProvider).order_by(IdentityProvider.id)).all()
    linked = dict(db.session.execute(
        select(ExternalIdentity.provider_id, db.func.count()).group_by(
            ExternalIdentity.provider_id)).all())
    return render_template("identity/providers.html", providers=rows, linked=linked,
                           secret_set={p.id: bool(provider_secret(p)) for p in rows})


@bp.route("/admin/identity-providers/new", methods=["GET", "POST"])
@login_required
def new_provider():
    require(IdentityProvider.can_manage(current_user))
    return _provider_form(None)


@bp.route("/admin/identity-providers/<int:provider_id>/edit", methods=["GET", "POST"])
@login_required
def edit_provider(provider_id):
    require(IdentityProvider.can_manage(current_user))
    return _provider_form(db.get_or_404(IdentityProvider, provider_id))


def _provider_form(provider: IdentityProvider | None):
    form = ProviderForm()
    form.organisation_id.choices = [(o.id, o.display_name(current_locale()))
                                    for o in services.institutions()]
    if request.method == "GET" and provider is not None:
        form.fill_from(provider)
    if form.validate_on_submit():
        try:
            saved = services.save_provider(provider, form.values(), current_user)
        except services.ProviderError as refusal:
            db.session.rollback()
            form.form_errors.extend(refusal.texts())
        else:
            commit()
            flash(_("Sign-in provider of %(org)s saved.",
                    org=saved.organisation.display_name(current_locale())), "success")
            return redirect(url_for("identity.providers"))
    status = 422 if request.method == "POST" else 200
    return render_template("identity/provider_form.html", form=form, provider=provider,
                           addresses=_addresses_to_register(provider)), status


def _addresses_to_register(provider: IdentityProvider | None) -> dict[str, str]:
    """What the institution's IT registers for this site, by protocol (known once saved)."""
    if provider is None:
        return {}
    return {"cas": external_url("identity.cas_callback", provider_id=provider.id),
            "oidc": external_url("identity.oidc_callback", provider_id=provider.id)}


@bp.route("/admin/identity-providers/<int:provider_id>/sync", methods=["POST"])
@login_required
def sync_provider(provider_id):
    require(IdentityProvider.can_manage(current_user))
    provider = db.get_or_404(IdentityProvider, provider_id)
    if PostForm().validate_on_submit():
        try:
            result = services.sync_leavers(provider, current_user)
        except SignOnRefused as refusal:
            db.session.rollback()
            for text in refusal.texts():
                flash(text, "danger")
        else:
            commit()
            flash(_("Directory synced: %(checked)d linked people checked, %(gone)d deactivated, "
                    "%(bookings)d future bookings cancelled.", checked=result.checked,
                    gone=result.deactivated, bookings=result.bookings_cancelled), "success")
    return redirect(url_for("identity.providers"))
