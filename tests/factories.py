"""Test factories with sensible defaults: `make.user(role="lab_manager")`."""
import itertools

from booking.accounts import services
from booking.accounts.models import Organisation
from booking.accounts.rules import make_credit_code
from booking.extensions import db

_seq = itertools.count(1)


class Factory:
    PASSWORD = "correct-horse-42"

    def organisation(self, kind="university", verified=True, **fields) -> Organisation:
        n = next(_seq)
        defaults = dict(name_zh=f"测试机构{n}", name_en=f"Test Org {n}", city="大连",
                        region_code="2102",
                        credit_code=make_credit_code(f"91210200MA{n:07d}"),
                        short_code=f"T{n}")
        organisation = Organisation(kind=kind, verified=verified, **{**defaults, **fields})
        db.session.add(organisation)
        db.session.flush()
        return organisation

    def user(self, role="member", organisation=None, confirmed=True, roles=None, **fields):
        n = next(_seq)
        organisation = organisation or self.organisation()
        user = services.create_user(
            email=fields.pop("email", f"user{n}@example.cn"), password=self.PASSWORD,
            name=fields.pop("name", f"用户{n}"), organisation=organisation,
            roles=roles or (role,), confirmed=confirmed, **fields)
        db.session.commit()
        return user
