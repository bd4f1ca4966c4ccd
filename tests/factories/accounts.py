"""Organisations and users."""
from booking.accounts import services
from booking.accounts.models import Organisation, User
from booking.accounts.rules import make_credit_code
from booking.extensions import db
from tests.factories.serial import next_serial

PASSWORD = "correct-horse-42"  # every factory-made user's password


def create_organisation(kind="university", verified=True, **fields) -> Organisation:
    n = next_serial()
    defaults = dict(name_zh=f"测试机构{n}", name_en=f"Test Org {n}", city="大连",
                    region_code="2102", credit_code=make_credit_code(f"91210200MA{n:07d}"),
                    short_code=f"T{n}")
    organisation = Organisation(kind=kind, verified=verified, **{**defaults, **fields})
    db.session.add(organisation)
    db.session.flush()
    return organisation


def create_user(role="member", organisation=None, confirmed=True, roles=None, **fields) -> User:
    """A user (committed) holding `role` (or every one of `roles`) in their organisation;
    a new verified university when none is given (a bureau for the bureau's roles)."""
    n = next_serial()
    bureau = bool(set(roles or (role,)) & {"admin", "bureau_staff"})  # the bureau's roles
    organisation = organisation or create_organisation(kind="bureau" if bureau else "university")
    user = services.create_user(
        email=fields.pop("email", f"user{n}@example.cn"), password=PASSWORD,
        name=fields.pop("name", f"用户{n}"), organisation=organisation,
        roles=roles or (role,), confirmed=confirmed, **fields)
    db.session.commit()
    return user


def dummy_admin() -> User:
    """A platform administrator (of their own organisation)."""
    return create_user(role="admin")


def dummy_bureau_staff() -> User:
    """Staff of the city's science bureau: decides vouchers, ranks institutions."""
    return create_user(role="bureau_staff", organisation=create_organisation(kind="bureau"))
