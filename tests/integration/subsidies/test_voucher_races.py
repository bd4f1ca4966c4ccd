"""Invariants under concurrency, on a database of its own with real commits: the budget, the
yearly cap per actual controller and each voucher's face value hold to the fen when many
approvals and redemptions run at once from threads."""
import copy
from concurrent.futures import ThreadPoolExecutor

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from booking import create_app
from booking.accounts.models import User
from booking.billing.models import Invoice, InvoiceLine
from booking.extensions import db
from booking.subsidies import redemptions, services
from booking.subsidies.models import Redemption, SubsidyPolicy, Voucher, VoucherBudget
from config import TestingConfig
from tests.browser.conftest import _live_database_url
from tests.factories import Factory

pytestmark = pytest.mark.committing

THREADS = 24
POOL_FEN = 100_000_000  # 1,000,000 CNY; by Q4 the whole pool is released


@pytest.fixture(scope="module")
def race_app(database_url, tmp_path_factory):
    class RaceConfig(TestingConfig):
        SQLALCHEMY_DATABASE_URI = _live_database_url(database_url, tmp_path_factory, "races")

    app = create_app(RaceConfig)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def november_2026():
    with freeze_time("2026-11-23 05:00:00"):
        yield


def _in_threads(app, work, ids):
    def run(item_id):
        with app.app_context():
            try:
                return work(item_id)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(run, ids))


def _approve(bureau_id):
    def work(voucher_id):
        try:
            services.approve_voucher(db.session.get(Voucher, voucher_id),
                                     db.session.get(User, bureau_id))
        except services.VoucherError as exc:
            db.session.rollback()
            return exc.problems[0].code
        db.session.commit()
        return "approved"
    return work


def _applications(make, count, amount_fen, controller=None):
    """Applications of `count` firms; with `controller`, one they turn out to share after
    applying (applied for together, they could not pass the group's cap)."""
    ids = []
    for _ in range(count):
        organisation = make.enterprise()
        ids.append(make.voucher(user=make.user(organisation=organisation),
                                amount_fen=amount_fen, approve=False).id)
        organisation.actual_controller = controller
    db.session.commit()
    return ids


def test_concurrent_approvals_and_redemptions_keep_every_invariant(race_app):
    make = Factory()
    with race_app.app_context():
        bureau = make.user(role="bureau_staff")
        draft = services.draft_policy(2026, bureau)
        rules = copy.deepcopy(draft.rules)
        rules["budget"]["annual_pool_fen"] = POOL_FEN
        rules["budget"]["allocation"] = "bureau_choice"  # threads decide in any order
        services.save_draft(draft, rules, bureau)
        services.publish_policy(draft, bureau)
        db.session.commit()
        group = _applications(make, 8, 5_000_000, controller="同一控制人")
        crowd = _applications(make, THREADS, 7_000_000)
        bureau_id = bureau.id

    # 1. Eight sister companies, 50,000 CNY each, one controller capped at 200,000 CNY.
    outcomes = _in_threads(race_app, _approve(bureau_id), group)
    assert sorted(outcomes) == ["approved"] * 4 + ["year_cap"] * 4
    # 2. 24 firms, 70,000 CNY each, against the 800,000 CNY left: 11 fit (770,000).
    outcomes = _in_threads(race_app, _approve(bureau_id), crowd)
    assert sorted(outcomes) == ["approved"] * 11 + ["budget_exhausted"] * 13

    with race_app.app_context():
        issued = db.session.scalars(select(Voucher).where(Voucher.state == "issued")).all()
        committed = db.session.get(VoucherBudget, 2026).committed_fen
        assert committed == sum(v.face_value_fen for v in issued) == 97_000_000 <= POOL_FEN
        voucher_id, invoice_ids = _invoices_for_one_voucher(make, issued[0])

    # 3. 24 invoices of 400 元 each claim their 160 元 share at once from a voucher with
    # 1,000 元 left: six full shares and at most one partial one fit.
    taken = _in_threads(race_app, _reserve, invoice_ids)
    with race_app.app_context():
        voucher = db.session.get(Voucher, voucher_id)
        claims = db.session.scalars(select(Redemption).where(
            Redemption.voucher_id == voucher_id)).all()
        assert sum(taken) == sum(c.amount_fen for c in claims)
        assert voucher.used_fen == voucher.face_value_fen - 100_000 + sum(taken)
        assert 96_000 <= sum(taken) <= 100_000  # at least the six full shares went through
        assert len({c.invoice_id for c in claims}) == len(claims)


def test_a_new_years_first_applications_store_its_policy_once(race_app):
    """Nothing of 2027 is stored before its first write; 24 first applications at once
    store version 1 and the budget row once and all succeed (on PostgreSQL the losers of the
    insert find the winner's version)."""
    make = Factory()
    with freeze_time("2027-01-04 02:00:00"):
        with race_app.app_context():
            user_ids = [make.user(organisation=make.enterprise()).id for _ in range(THREADS)]
        outcomes = _in_threads(race_app, _apply_for_2027, user_ids)
        with race_app.app_context():
            policies = db.session.scalars(select(SubsidyPolicy).where(
                SubsidyPolicy.year == 2027)).all()
            vouchers = db.session.scalars(select(Voucher).where(Voucher.year == 2027)).all()
            assert outcomes == ["applied"] * THREADS
            assert [p.version for p in policies] == [1]
            assert {v.policy_id for v in vouchers} == {policies[0].id} and len(vouchers) == THREADS
            assert db.session.get(VoucherBudget, 2027).committed_fen == 0


def _apply_for_2027(user_id):
    voucher = services.apply_for_voucher(
        db.session.get(User, user_id), amount_fen=1_000_000, project="XRD",
        declared_class="sme_science_based", declaration={})
    db.session.commit()
    return "applied" if voucher.year == 2027 else voucher.year


def _reserve(invoice_id):
    amount = redemptions.reserve_for_invoice(db.session.get(Invoice, invoice_id))
    db.session.commit()
    return amount


def _invoices_for_one_voucher(make, voucher):
    """Make the voucher small (100,000 fen left) and give its holder 24 draft invoices of
    40,000 fen each (share 16,000 fen at 40%)."""
    voucher.used_fen = voucher.face_value_fen - 100_000
    owner = make.organisation()
    instrument = make.instrument(organisation=owner)
    user = db.session.scalar(select(User).where(User.organisation_id == voucher.enterprise_id))
    invoices = [Invoice(provider_id=owner.id, customer_org_id=voucher.enterprise_id,
                        customer_user_id=user.id, customer_class="enterprise", state="draft",
                        subtotal_fen=40_000, voucher_fen=0, amount_due_fen=40_000,
                        lines=[InvoiceLine(kind="usage", description="SEM 1 h", minutes=60,
                                           amount_fen=40_000, unit_price_fen=40_000,
                                           instrument_id=instrument.id)])
                for _ in range(THREADS)]
    db.session.add_all(invoices)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Invoice)) == THREADS
    return voucher.id, [i.id for i in invoices]
