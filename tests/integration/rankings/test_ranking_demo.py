"""The demo seed: ratings for completed bookings (the bookings area's), a published and a
pending quarter."""
from datetime import date, timedelta

from freezegun import freeze_time
from sqlalchemy import func, select

from booking import DEMO_AREAS, area_modules
from booking.accounts.models import Role
from booking.billing.models import DunningNotice, Invoice, Payment
from booking.bookings import demo as bookings_demo
from booking.bookings.models import Rating
from booking.core.db import utc
from booking.extensions import db
from booking.rankings import demo, services
from booking.subsidies.models import Reimbursement


@freeze_time("2026-11-23 05:00:00")
def test_seed_rates_bookings_and_ranks_two_quarters(make):
    uni = make.organisation()
    instrument = make.instrument(organisation=uni, purchase_date=date(2020, 1, 1))
    user = make.user()
    for day in range(1, 21):
        make.placed_booking(instrument, user, utc(2026, 8, day, 1), state="completed")
    make.placed_booking(instrument, user, utc(2026, 5, 4, 1), state="completed")  # Q2 has data
    bookings_demo.seed("small")  # the instrument has bookings: only ratings are added
    demo.seed("small")
    rated = db.session.query(Rating).count()
    assert 0 < rated < 20
    q2, q3 = services.get_snapshot("2026Q2"), services.get_snapshot("2026Q3")
    assert q2.is_published and not q3.is_published
    assert q3.reward_pool_fen == 0 and services.reward_pool_fen("2026") == demo.DEMO_POOL_FEN
    bookings_demo.seed("small")  # idempotent
    demo.seed("small")
    assert db.session.query(Rating).count() == rated
    assert services.get_snapshot("2026Q3").id == q3.id


@freeze_time("2026-11-23 05:00:00")
def test_whole_demo_publishes_every_grade_and_a_reward_split(app):
    """What bureau@demo.cn sees after `make run`: a dozen ranked providers in all four grades,
    no reward on a quarter (the year's pool waits for the annual ranking), and statements
    whose reward is 5 % of their amount."""
    for module in area_modules("demo", DEMO_AREAS):
        module.seed("small")
    published = services.get_snapshot("2026Q2")
    assert published.is_published and len(published.rows) >= 12
    grades = [row["grade"] for row in published.rows]
    assert set(grades) == {"excellent", "good", "pass", "poor"}
    assert grades == sorted(grades, key=["excellent", "good", "pass", "poor"].index)
    # 12 units: floor(15 % x 12) = 1 excellent, floor(30 % x 12) = 3 good; a quarter monitors,
    # the year's ranking carries the rewards
    assert grades.count("excellent") == 1 and grades.count("good") == 3
    assert published.reward_pool_fen == 0 and not any(row["reward_fen"] for row in published.rows)
    # the vouchers' shares wait for the statements the bureau builds (test_voucher_demo)
    assert db.session.scalars(select(Reimbursement)).all() == []
    # only finance records a bank transfer: the audit named customers as having done it
    transfers = db.session.execute(select(Payment.recorded_by_id, Invoice.provider_id)
                                   .join(Invoice, Invoice.id == Payment.invoice_id)
                                   .where(Payment.method == "bank_transfer")).all()
    finance = set(db.session.execute(select(Role.user_id, Role.organisation_id).where(
        Role.name == "finance")).all())
    assert transfers and [(r, p) for r, p in transfers
                          if r is not None and (r, p) not in finance] == []
    # the unpaid ones were reminded, as the finance page says customers are, each on the day
    # its stage came (so the finance office may remind them by hand today)
    # the demo PI's project was charged by the month close: its page and digest show money
    from booking.groups.models import Project, ProjectEntry

    charged = db.session.scalar(select(func.sum(ProjectEntry.amount_fen)).where(
        ProjectEntry.kind == "charge"))
    assert 0 < charged <= db.session.scalar(select(Project.budget_fen))
    notices = db.session.scalars(select(DunningNotice)).all()
    assert notices and all(n.sent_at == n.invoice.due_at + timedelta(
        days={"due": 0, "d14": 14, "d30": 30}[n.stage], hours=1) for n in notices)
