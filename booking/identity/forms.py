"""Forms of campus sign-on: the LDAP login, the link step, and the admin's provider form."""
import re

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import URL, DataRequired, Length, Optional, Regexp

from booking.core.web import SiteForm
from booking.identity import rules

ROLE_CHOICES = [("student", _l("student")), ("member", _l("member")),
                ("lab_manager", _l("lab manager"))]
_ENV_NAME = Regexp(r"^[A-Z][A-Z0-9_]{0,99}$",
                   message=_l("Capital letters, digits and _ only, e.g. SSO_DLUT_SECRET."))
# settings kept per kind (the form shows them all; a kind keeps only its own)
KIND_SETTINGS = {
    "cas": ("server_url", "version"),
    "oidc": ("issuer", "client_id", "scopes"),
    "ldap": ("url", "tls", "ca_file", "user_dn_template", "search_base", "search_filter",
             "service_dn"),
}
COMMON_SETTINGS = ("email_attribute", "name_attribute", "leaver_attribute", "leaver_values")


class LdapLoginForm(SiteForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Sign in"))


class LinkForm(SiteForm):
    password = PasswordField(_l("Password of your account here"),
                             validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Link and sign in"))


def _url(field_label):
    return StringField(field_label, validators=[Optional(), Length(max=300)])


class ProviderForm(SiteForm):
    organisation_id = SelectField(_l("Institution"), coerce=int, validators=[DataRequired()])
    kind = SelectField(_l("Protocol"), choices=[
        ("cas", _l("CAS")), ("oidc", _l("OpenID Connect")), ("ldap", _l("LDAP directory"))],
        render_kw={"data-kind-select": ""})
    enabled = BooleanField(_l("Enabled (shown on the login page)"), default=True)
    label = StringField(_l("Name shown on the login page"), validators=[Optional(),
                                                                        Length(max=100)])
    email_domains_text = StringField(_l("E-mail domains that sign in here"),
                                     validators=[Optional(), Length(max=1000)])
    # CAS
    server_url = StringField(_l("CAS server URL"), validators=[
        Optional(), Length(max=300), URL(require_tld=False)])
    version = SelectField(_l("CAS version"), choices=[("3", "3.0"), ("2", "2.0")], default="3")
    # OpenID Connect
    issuer = StringField(_l("Issuer URL (discovery)"), validators=[
        Optional(), Length(max=300), URL(require_tld=False)])
    client_id = StringField(_l("Client ID"), validators=[Optional(), Length(max=200)])
    scopes = StringField(_l("Scopes"), default="openid email profile",
                         validators=[Optional(), Length(max=200)])
    # LDAP
    url = StringField(_l("LDAP server URL"), validators=[Optional(), Length(max=300)])
    tls = SelectField(_l("Transport security"), choices=[
        ("none", _l("none (ldap://)")), ("starttls", _l("StartTLS")),
        ("ldaps", _l("LDAPS (ldaps://)"))], default="starttls")
    ca_file = StringField(_l("CA certificate file on the server"),
                          validators=[Optional(), Length(max=300)])
    user_dn_template = StringField(_l("User DN template (bind as the user)"),
                                   validators=[Optional(), Length(max=300)])
    search_base = StringField(_l("Search base (search, then bind)"),
                              validators=[Optional(), Length(max=300)])
    search_filter = StringField(_l("Search filter"), default="(uid={username})",
                                validators=[Optional(), Length(max=300)])
    service_dn = StringField(_l("Service account DN"), validators=[Optional(), Length(max=300)])
    # common
    secret_env = StringField(_l("Secret: name of the environment variable"),
                             validators=[Optional(), Length(max=100), _ENV_NAME])
    email_attribute = StringField(_l("E-mail attribute"), validators=[Optional(),
                                                                      Length(max=64)])
    name_attribute = StringField(_l("Name attribute"), validators=[Optional(), Length(max=64)])
    role_rules_text = TextAreaField(_l("Role mapping, one rule a line"),
                                    validators=[Optional(), Length(max=5000)])
    default_role = SelectField(_l("Role when no rule matches"), choices=ROLE_CHOICES,
                               default="member")
    max_role = SelectField(_l("Highest role a provider may give"), choices=ROLE_CHOICES,
                           default="member")
    leaver_attribute = StringField(_l("Leaver attribute"), validators=[Optional(),
                                                                       Length(max=64)])
    leaver_values = StringField(_l("Values meaning the person has left (comma-separated)"),
                                validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("Save"))

    def fill_from(self, provider) -> None:
        """Show a stored provider (GET of the edit page)."""
        self.organisation_id.data = provider.organisation_id
        self.kind.data = provider.kind
        self.enabled.data = provider.enabled
        self.label.data = provider.label
        self.email_domains_text.data = ", ".join(provider.domains)
        for key in sum(KIND_SETTINGS.values(), ()) + COMMON_SETTINGS:
            if (provider.settings or {}).get(key) not in (None, ""):
                getattr(self, key).data = provider.settings[key]
        self.secret_env.data = provider.secret_env
        self.role_rules_text.data = "\n".join(r.as_line() for r in provider.role_rule_list)
        self.default_role.data = provider.default_role
        self.max_role.data = provider.max_role

    def values(self) -> dict:
        kind = self.kind.data
        settings = {key: _clean(getattr(self, key).data)
                    for key in KIND_SETTINGS[kind] + COMMON_SETTINGS}
        if kind == "ldap" and settings.get("url", "").lower().startswith("ldaps://"):
            settings["tls"] = "ldaps"
        return {"organisation_id": self.organisation_id.data, "kind": kind,
                "enabled": self.enabled.data, "label": _clean(self.label.data),
                "settings": {key: value for key, value in settings.items() if value},
                "secret_env": _clean(self.secret_env.data),
                "default_role": self.default_role.data, "max_role": self.max_role.data,
                "role_rules_text": self.role_rules_text.data or "",
                "email_domains_text": self.email_domains_text.data or ""}


def _clean(value) -> str:
    return re.sub(r"\s+", " ", str(value or "")).strip()


assert set(rules.KINDS) == set(KIND_SETTINGS)
