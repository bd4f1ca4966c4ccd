"""Test factories with sensible defaults: `make.user(role="lab_manager")`."""
import itertools

from booking.accounts import services
from booking.accounts.models import Organisation
from booking.accounts.rules import make_credit_code
from booking.core.db import utc
from booking.extensions import db
from booking.instruments.models import Instrument, OpeningHours, Rate

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

    def instrument(self, organisation=None, rates=None, hours="weekdays 08:00-18:00",
                   **fields) -> Instrument:
        """An active public instrument open on weekdays, with a rate for every customer class.

        rates: {customer_class: hourly_fen}; default internal 100 元/h, academic 200, enterprise 400.
        """
        from datetime import time

        n = next(_seq)
        organisation = organisation or self.organisation()
        defaults = dict(name_zh=f"扫描电子显微镜{n}", name_en=f"Scanning electron microscope {n}",
                        model="SU8010", manufacturer="Hitachi", category="analytical",
                        original_value_fen=300_000_000, lab="分析测试中心", location="化工楼 101",
                        requires_approval=False, lead_minutes=0)
        instrument = Instrument(organisation=organisation, **{**defaults, **fields})
        for customer_class, hourly_fen in (rates or {"internal": 10_000, "academic": 20_000,
                                                     "enterprise": 40_000}).items():
            instrument.rates.append(Rate(customer_class=customer_class, hourly_fen=hourly_fen,
                                         rounding_minutes=15, minimum_minutes=30,
                                         valid_from=utc(2020, 1, 1)))
        if hours == "weekdays 08:00-18:00":
            instrument.opening_hours = [OpeningHours(weekday=d, opens=time(8), closes=time(18))
                                        for d in range(5)]
        elif hours == "always":
            instrument.opening_hours = [OpeningHours(weekday=d, opens=time(0), closes=time(23, 59))
                                        for d in range(7)]
        db.session.add(instrument)
        db.session.commit()
        return instrument
