"""The order's state machine, what an order form must state, and its quote: pure rules."""
from datetime import date

import pytest

from booking.orders import rules
from booking.orders.rules import SampleLine

TODAY = date(2026, 12, 7)


@pytest.mark.parametrize("current, target", [
    ("submitted", "accepted"), ("submitted", "declined"), ("submitted", "cancelled"),
    ("accepted", "received"), ("accepted", "cancelled"), ("received", "testing"),
    ("testing", "report_ready"), ("report_ready", "closed")])
def test_legal_moves(current, target):
    rules.check_move(current, target)


@pytest.mark.parametrize("current, target", [
    ("submitted", "received"), ("submitted", "testing"), ("accepted", "testing"),
    ("received", "cancelled"), ("received", "report_ready"), ("testing", "closed"),
    ("declined", "accepted"), ("cancelled", "accepted"), ("closed", "report_ready"),
    ("report_ready", "testing")])
def test_illegal_moves_are_refused_by_name(current, target):
    with pytest.raises(rules.IllegalOrderTransition) as refused:
        rules.check_move(current, target)
    assert refused.value.target == target and refused.value.http_status == 409


def test_the_path_the_customer_follows_is_a_chain_of_legal_moves():
    for current, target in zip(rules.PATH, rules.PATH[1:], strict=False):
        assert rules.MOVES.allows(current, target)


def _problems(samples=(SampleLine("A", 1, "solid"),), tests=("XRD",), leftovers="return",
              desired=None, ack=False, terms=True):
    return {p.code for p in rules.order_problems(list(samples), list(tests), leftovers,
                                                 desired, TODAY, ack, terms)}


def test_a_complete_order_has_no_problems():
    assert _problems() == set()
    assert _problems(desired=TODAY) == set()


def test_hazardous_samples_need_the_declaration():
    toxic = (SampleLine("A", 1, "liquid", hazards=("toxic", "flammable")),)
    assert _problems(samples=toxic) == {"hazard_declaration"}
    assert _problems(samples=toxic, ack=True) == set()


@pytest.mark.parametrize("sample, code", [
    (SampleLine(" ", 1, "solid"), "sample_name_required"),
    (SampleLine("A", 0, "solid"), "sample_count"),
    (SampleLine("A", rules.MAX_SAMPLE_COUNT + 1, "solid"), "sample_count"),
    (SampleLine("A", 1, "gas"), "sample_state"),
    (SampleLine("A", 1, "solid", hazards=("cursed",)), "sample_hazard"),
])
def test_each_sample_problem(sample, code):
    assert code in _problems(samples=(sample,))


def test_bounds_on_lines_tests_and_totals():
    assert "samples_required" in _problems(samples=())
    many = [SampleLine("A", 1, "solid")] * (rules.MAX_SAMPLE_LINES + 1)
    assert "samples_required" in _problems(samples=many)
    heavy = [SampleLine("A", 100, "solid")] * 11
    assert _problems(samples=heavy[:rules.MAX_SAMPLE_LINES]) >= {"too_many_samples"}
    assert "tests_required" in _problems(tests=())
    assert "tests_required" in _problems(tests=["t"] * (rules.MAX_TESTS + 1))
    assert "leftovers" in _problems(leftovers="keep")
    assert "desired_date_past" in _problems(desired=date(2026, 12, 6))
    assert "terms_unsigned" in _problems(terms=False)


def test_the_quote_charges_each_test_on_every_sample_plus_set_up():
    q = rules.quote(samples=3, tests=2, per_sample_fen=5_000, setup_fee_fen=2_000,
                    urgent=False, surcharge_percent=50, voucher_fen=10_000)
    assert (q.samples_fee_fen, q.setup_fee_fen, q.surcharge_fen) == (30_000, 2_000, 0)
    assert (q.fee_fen, q.voucher_fen, q.payable_fen) == (32_000, 10_000, 22_000)


def test_the_urgency_surcharge_rounds_half_up_and_is_capped():
    q = rules.quote(samples=1, tests=1, per_sample_fen=3, setup_fee_fen=0, urgent=True,
                    surcharge_percent=50)
    assert q.surcharge_fen == 2 and q.fee_fen == 5  # 1.5 fen -> 2
    capped = rules.quote(1, 1, 100, 0, True, 1_000)
    assert capped.surcharge_fen == 200  # at most MAX_SURCHARGE_PERCENT


def test_the_voucher_never_pays_more_than_the_fee_nor_less_than_nothing():
    assert rules.quote(1, 1, 100, 0, False, 0, voucher_fen=10**6).payable_fen == 0
    assert rules.quote(1, 1, 100, 0, False, 0, voucher_fen=-5).voucher_fen == 0


def test_numbers_and_release():
    assert rules.order_number(2026, 42) == "WT2026-000042"
    assert rules.sample_code("WT2026-000042", 3) == "WT2026-000042-03"
    assert rules.report_number("DLUT", 2026, 42) == "DLUT-R2026-000042"
    assert rules.report_released("issued", "issued") and rules.report_released("paid", "issued")
    assert not rules.report_released("issued", "paid")
    assert not rules.report_released("void", "issued") and not rules.report_released(None, "paid")


def test_service_problems_and_median():
    assert rules.service_problems(active=True, offers_testing=True, visible=True) == []
    assert rules.service_problems(active=False, offers_testing=True,
                                  visible=True)[0].code == "instrument_unavailable"
    assert rules.service_problems(active=True, offers_testing=False,
                                  visible=True)[0].code == "testing_not_offered"
    codes = [p.code for p in rules.service_problems(
        active=True, offers_testing=True, visible=True, organisation_verified=False,
        membership_confirmed=False)]
    assert codes == ["organisation_unverified", "membership_unconfirmed"]


@pytest.mark.parametrize("sent,shown", [
    ("检测报告.pdf", "检测报告.pdf"), ("C:\\Users\\张\\样品 照片.JPG", "样品 照片.JPG"),
    ("../../etc/passwd", "passwd"), ("a\x07b\u202e.pdf", "ab.pdf"), (".hidden.png", "hidden.png"),
    ("", ""), (None, ""), ("x" * 300 + ".pdf", "x" * 196 + ".pdf")])
def test_an_uploaded_files_name_keeps_its_own_letters_only(sent, shown):
    from booking.orders.files import display_name

    assert display_name(sent) == shown
