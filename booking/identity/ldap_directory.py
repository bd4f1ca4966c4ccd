"""LDAP sign-in and directory reads through ldap3: bind as the user (a DN template), or
search for the user with a service account and then bind as them; plain, StartTLS or LDAPS."""
import re
import ssl

from ldap3 import BASE, NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

from booking.core.names import ReadersName
from booking.core.problems import _l
from booking.identity.assertion import PROVIDER_TIMEOUT, Assertion, provider_secret, refused, unreachable

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
SUBJECT_ATTRIBUTE = "entryUUID"  # stable across renames and moves
PAGE_SIZE = 500


def _server(provider) -> Server:
    url = provider.setting("url")
    tls = None
    if url.lower().startswith("ldaps://") or provider.setting("tls") == "starttls":
        tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=provider.setting("ca_file") or None)
    return Server(url, get_info=NONE, tls=tls, connect_timeout=PROVIDER_TIMEOUT)


def _bind(provider, dn: str, password: str) -> Connection | None:
    """A bound connection, or None when the directory refuses the credentials. Raises
    LDAPException when the server cannot be reached or TLS fails."""
    connection = Connection(_server(provider), user=dn, password=password, read_only=True,
                            receive_timeout=PROVIDER_TIMEOUT, raise_exceptions=False)
    connection.open()
    if provider.setting("tls") == "starttls" and not connection.start_tls():
        raise LDAPException("StartTLS refused")
    if not connection.bind():
        connection.unbind()
        return None
    return connection


def _attributes(provider) -> list[str]:
    names = {SUBJECT_ATTRIBUTE, provider.setting("email_attribute"),
             provider.setting("name_attribute")}
    names |= {rule.attribute for rule in provider.role_rule_list}
    if provider.setting("leaver_attribute"):
        names.add(provider.setting("leaver_attribute"))
    return sorted(n for n in names if n)


def _service_connection(provider) -> Connection:
    connection = _bind(provider, provider.setting("service_dn"), provider_secret(provider))
    if connection is None:
        raise refused("service_bind", _l(
            "The directory refused the service account of %(org)s; check its settings."),
            org=ReadersName(provider.organisation))
    return connection


def _user_filter(provider, username: str) -> str:
    template = provider.setting("search_filter") or "(uid={username})"
    return template.replace("{username}", escape_filter_chars(username))


def authenticate(provider, username: str, password: str) -> Assertion:
    """The directory's entry for `username` once its password is proved by a bind."""
    username = (username or "").strip()
    if not USERNAME_RE.match(username) or not password:
        raise _wrong_credentials()  # an empty password would be an anonymous bind
    try:
        if provider.setting("user_dn_template"):
            dn = provider.setting("user_dn_template").replace("{username}", escape_rdn(username))
        else:
            dn = _find_dn(provider, username)
        connection = _bind(provider, dn, password) if dn else None
        if connection is None:
            raise _wrong_credentials()
        try:
            connection.search(dn, "(objectClass=*)", BASE, attributes=_attributes(provider))
            entry = connection.entries[0] if connection.entries else None
        finally:
            connection.unbind()
    except LDAPException as exc:
        raise unreachable(provider) from exc
    if entry is None:
        raise _wrong_credentials()
    return _assertion(provider, entry)


def _find_dn(provider, username: str) -> str | None:
    connection = _service_connection(provider)
    try:
        connection.search(provider.setting("search_base"), _user_filter(provider, username),
                          SUBTREE, attributes=[], size_limit=2)
        entries = connection.entries
    finally:
        connection.unbind()
    return entries[0].entry_dn if len(entries) == 1 else None


def _assertion(provider, entry) -> Assertion:
    attributes = {name: [str(v) for v in values]
                  for name, values in entry.entry_attributes_as_dict.items()}
    subject = (attributes.get(SUBJECT_ATTRIBUTE) or [entry.entry_dn.lower()])[0]

    def first(name):
        values = attributes.get(name) or []
        return values[0].strip() if values else ""

    return Assertion(subject=subject.lower(), attributes=attributes,
                     email=first(provider.setting("email_attribute")),
                     name=first(provider.setting("name_attribute")))


def directory_subjects(provider) -> set[str]:
    """The subjects of every person the directory lists now (for the leaver sync): needs the
    service account and the search base."""
    if not provider.setting("search_base") or not provider.setting("service_dn"):
        raise refused("sync_needs_service_account", _l(
            "Syncing needs a service account and a search base in the provider's settings."))
    people_filter = (provider.setting("search_filter") or "(uid={username})").replace(
        "{username}", "*")
    try:
        connection = _service_connection(provider)
        try:
            entries = connection.extend.standard.paged_search(
                provider.setting("search_base"), people_filter, SUBTREE,
                attributes=[SUBJECT_ATTRIBUTE], paged_size=PAGE_SIZE, generator=True)
            subjects = set()
            for entry in entries:
                if entry.get("type") != "searchResEntry":
                    continue
                values = entry["attributes"].get(SUBJECT_ATTRIBUTE)
                subjects.add(str(values[0] if isinstance(values, list) else values or
                                 entry["dn"]).lower())
            if connection.result.get("result", 0) not in (0,):
                raise LDAPException(connection.result.get("description", "search failed"))
        finally:
            connection.unbind()
    except LDAPException as exc:
        raise unreachable(provider) from exc
    return subjects


def _wrong_credentials():
    return refused("wrong_credentials", _l("Wrong user name or password."))
