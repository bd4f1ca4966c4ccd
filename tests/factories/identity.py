"""Sign-in providers pointing at the test servers (tests/servers)."""
from booking.extensions import db
from booking.identity.models import IdentityProvider
from tests.factories.accounts import create_organisation
from tests.servers import LDAP_SYNC_DN, OIDC_CLIENTS

SECRETS = {"TEST_OIDC_SECRET_A": OIDC_CLIENTS[0]["client_secret"],
           "TEST_OIDC_SECRET_B": OIDC_CLIENTS[1]["client_secret"],
           "TEST_LDAP_SYNC_PASSWORD": "sync-pass-2026"}

CAS_RULES = [{"attribute": "eduPersonAffiliation", "value": "student", "role": "student"},
             {"attribute": "eduPersonAffiliation", "value": "staff", "role": "member"},
             {"attribute": "eduPersonAffiliation", "value": "faculty", "role": "lab_manager"}]
OIDC_RULES = [{"attribute": "groups", "value": "researchers", "role": "member"},
              {"attribute": "groups", "value": "lab-managers", "role": "lab_manager"}]
LDAP_RULES = [{"attribute": "employeeType", "value": "student", "role": "student"},
              {"attribute": "employeeType", "value": "staff", "role": "member"},
              {"attribute": "employeeType", "value": "lab-manager", "role": "lab_manager"}]


def create_provider(kind: str, organisation=None, *, commit=False, **fields) -> IdentityProvider:
    provider = IdentityProvider(organisation=organisation or create_organisation(),
                                kind=kind, enabled=True, label=fields.pop("label", ""),
                                email_domains=fields.pop("email_domains", ""),
                                default_role=fields.pop("default_role", "member"),
                                max_role=fields.pop("max_role", "lab_manager"),
                                secret_env=fields.pop("secret_env", ""),
                                role_rules=fields.pop("role_rules", []),
                                settings=fields)
    db.session.add(provider)
    db.session.flush()
    if commit:
        db.session.commit()
    return provider


def cas_provider(cas_server, organisation=None, **fields) -> IdentityProvider:
    fields = {"server_url": cas_server.url, "version": "3", "role_rules": CAS_RULES,
              "leaver_attribute": "eduPersonAffiliation", "leaver_values": "alum", **fields}
    return create_provider("cas", organisation, **fields)


def oidc_provider(oidc_server, organisation=None, client=0, **fields) -> IdentityProvider:
    fields = {"issuer": oidc_server.issuer, "client_id": OIDC_CLIENTS[client]["client_id"],
              "scopes": "openid email profile groups", "role_rules": OIDC_RULES,
              "secret_env": f"TEST_OIDC_SECRET_{'AB'[client]}", **fields}
    return create_provider("oidc", organisation, **fields)


def ldap_provider(ldap_server, organisation=None, **fields) -> IdentityProvider:
    fields = {"url": ldap_server.url, "tls": "none", "search_base": ldap_server.people,
              "search_filter": "(uid={username})", "service_dn": LDAP_SYNC_DN,
              "secret_env": "TEST_LDAP_SYNC_PASSWORD", "role_rules": LDAP_RULES, **fields}
    return create_provider("ldap", organisation, **fields)
