"""Test factories with sensible defaults: `make.user(role="lab_manager")`."""
import itertools

from booking.accounts import services
from booking.accounts.models import Organisation
from booking.accounts.rules import make_credit_code
from booking.core.db import utc
from booking.extensions import db
from booking.instruments import search_index
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
        search_index.reindex(instrument)  # listed in the directory's full-text index
        db.session.commit()
        return instrument

    # --- metering and billing (issue 5) -------------------------------------------------------
    def placed_booking(self, instrument, user, start, minutes=60, state="approved", **fields):
        """A booking written directly in `state` (no booking rules), for metering/billing."""
        from datetime import timedelta

        from booking.bookings.models import Booking

        booking = Booking(instrument=instrument, user=user, organisation_id=user.organisation_id,
                          start_at=start, end_at=start + timedelta(minutes=minutes), state=state,
                          **fields)
        db.session.add(booking)
        db.session.commit()
        return booking

    def usage_session(self, instrument, user, start, minutes=60, booking=None, source="manager"):
        from datetime import timedelta

        from booking.metering.models import UsageSession

        session = UsageSession(instrument_id=instrument.id, user_id=user.id, booking=booking,
                               started_at=start, ended_at=start + timedelta(minutes=minutes),
                               source=source, recorded_by_id=user.id)
        db.session.add(session)
        db.session.commit()
        return session

    # --- bookings (issue 4) -----------------------------------------------------------------
    def booking(self, instrument, user, start, minutes=60, mode="self_operated",
                purpose="XRD of catalyst samples", samples=None):
        """A booking requested through the real service (every rule applies). `samples`:
        by default 1 for a staff-operated booking, 0 for a self-operated one."""
        from datetime import timedelta

        from booking.bookings.services import create_booking

        if samples is None:
            samples = 1 if mode == "staff_operated" else 0
        booking = create_booking(instrument, user, start=start,
                                 end=start + timedelta(minutes=minutes), mode=mode,
                                 purpose=purpose, samples=samples)
        db.session.commit()
        return booking

    # --- subsidies (issue 6) ----------------------------------------------------------------
    def enterprise(self, **fields) -> Organisation:
        """A verified science-based SME registered in Dalian (voucher-eligible)."""
        from datetime import date

        defaults = dict(sme_certified=True, founded_on=date(2019, 5, 16), staff_count=46,
                        annual_revenue_fen=1_850_000_000, total_assets_fen=2_400_000_000,
                        registered_capital_fen=1_000_000_000)
        return self.organisation(kind="enterprise", **{**defaults, **fields})

    def voucher(self, user=None, amount_fen=5_000_000, approve=True, bureau=None):
        """A voucher applied for (and approved) through the real services."""
        from booking.subsidies import services

        user = user or self.user(organisation=self.enterprise())
        voucher = services.apply_for_voucher(
            user, amount_fen=amount_fen, project="SEM of composite samples",
            declared_class="sme_science_based", declaration={})
        if approve:
            services.approve_voucher(voucher, bureau or self.user(role="bureau_staff"))
        db.session.commit()
        return voucher

    # --- rankings (issue 7) -----------------------------------------------------------------
    def rating(self, booking, stars=5, comment="", **fields):
        from booking.bookings.models import Rating

        rating = Rating(booking_id=booking.id, instrument_id=booking.instrument_id,
                        user_id=booking.user_id, stars=stars, comment=comment, **fields)
        db.session.add(rating)
        db.session.commit()
        return rating

    def issued_invoice(self, instrument, customer, amount_fen, issued_at, voucher_fen=0,
                       kind="invoice", state="issued", credits=None):
        """An invoice with one usage line on `instrument`, written directly (no billing run)."""
        from booking.billing.models import Invoice, InvoiceLine

        provider_id = instrument.organisation_id
        invoice = Invoice(provider_id=provider_id, customer_org_id=customer.id, kind=kind,
                          number=f"R-{next(_seq)}", state=state, issued_at=issued_at,
                          customer_class="internal" if customer.id == provider_id else "academic",
                          subtotal_fen=amount_fen, voucher_fen=voucher_fen,
                          amount_due_fen=amount_fen - voucher_fen, credits=credits)
        invoice.lines.append(InvoiceLine(kind="credit" if credits else "usage",
                                         description="use", amount_fen=amount_fen,
                                         instrument_id=instrument.id))
        db.session.add(invoice)
        db.session.commit()
        return invoice
