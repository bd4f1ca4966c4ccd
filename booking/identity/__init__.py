"""Campus sign-on: each university or institute signs its people in through its own CAS,
OpenID Connect or LDAP service. Accounts are created and refreshed from what the provider
asserts, always inside the provider's own organisation; an LDAP sync switches leavers off.
The protocols themselves are the libraries' (python-cas, Authlib, ldap3)."""


def connect_signals() -> None:
    from booking.accounts.signals import address_kept_by, leaving_to
    from booking.identity import routes
    from booking.identity.services import address_keeper

    address_kept_by.connect(address_keeper)
    leaving_to.connect(routes.campus_logout)
