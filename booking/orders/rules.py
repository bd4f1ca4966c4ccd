"""Sample-submission orders (送样委托单) as pure functions on plain values: the order's state
machine, what a submitted order must state, and its quote. No Flask, no database.

Pricing follows the instrument's fee per sample, charged per sample and per test wanted (each
test runs on every sample), plus the set-up fee of the customer's rate card, plus the lab's
urgency surcharge (a percentage of both) when the customer asks for urgent service.
"""
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from booking.core.money import divide_half_up
from booking.core.problems import Problem, _l
from booking.core.states import IllegalTransition, StateTable

STATES = ("submitted", "accepted", "declined", "cancelled", "received", "testing",
          "report_ready", "closed")
#: states in the order the customer follows them (declined and cancelled end an order early)
PATH = ("submitted", "accepted", "received", "testing", "report_ready", "closed")
SAMPLE_STATES = ("solid", "powder", "liquid", "film")
HAZARDS = ("toxic", "radioactive", "biological", "flammable")
LEFTOVERS = ("return", "dispose")
OUTCOMES = LEFTOVERS  # how a closed order's leftover samples went: returned or disposed
RELEASES = ("issued", "paid")  # the report is released once the invoice is issued, or paid

MAX_SAMPLE_LINES = 20
MAX_SAMPLE_COUNT = 100  # of one sample line
MAX_TOTAL_SAMPLES = 1000  # a staff-operated booking hands in at most this many
MAX_TESTS = 10
MAX_SURCHARGE_PERCENT = 200


class IllegalOrderTransition(IllegalTransition):
    noun = _l("order")
    words = {"submitted": _l("submitted"), "accepted": _l("accepted"),
             "declined": _l("declined"), "cancelled": _l("cancelled"),
             "received": _l("samples received"), "testing": _l("testing"),
             "report_ready": _l("report ready"), "closed": _l("completed")}


def _refusal(state: str) -> type[IllegalOrderTransition]:
    return type(f"Cannot{state.title().replace('_', '')}", (IllegalOrderTransition,),
                {"target": state})


MOVES = StateTable({
    "submitted": {"accepted", "declined", "cancelled"},
    "accepted": {"received", "cancelled"},
    "received": {"testing"},
    "testing": {"report_ready"},
    "report_ready": {"closed"},
    "declined": set(), "cancelled": set(), "closed": set(),
}, [_refusal(state) for state in STATES if state != "submitted"])


def check_move(current: str, target: str) -> None:
    """Raise the target's IllegalOrderTransition unless the order may move there."""
    MOVES.check(current, target)


# --- what an order states -------------------------------------------------------------------------
@dataclass(frozen=True)
class SampleLine:
    name: str
    count: int
    state: str
    composition: str = ""
    hazards: tuple[str, ...] = ()


def sample_problems(samples: Sequence[SampleLine], hazards_acknowledged: bool) -> list[Problem]:
    """Every problem of the listed samples: one to MAX_SAMPLE_LINES lines, each named, with a
    count and a physical state; hazardous samples need the declaration that the lab may refuse
    them."""
    problems = []
    if not 1 <= len(samples) <= MAX_SAMPLE_LINES:
        problems.append(Problem("samples_required", _l(
            "List between 1 and %(max)d samples."), {"max": MAX_SAMPLE_LINES}))
    for number, sample in enumerate(samples, start=1):
        if not sample.name.strip():
            problems.append(Problem("sample_name_required", _l(
                "Sample %(n)d needs a name."), {"n": number}))
        if not 1 <= sample.count <= MAX_SAMPLE_COUNT:
            problems.append(Problem("sample_count", _l(
                "Sample %(n)d: the count must be between 1 and %(max)d."),
                {"n": number, "max": MAX_SAMPLE_COUNT}))
        if sample.state not in SAMPLE_STATES:
            problems.append(Problem("sample_state", _l(
                "Sample %(n)d: choose solid, powder, liquid or film."), {"n": number}))
        if set(sample.hazards) - set(HAZARDS):
            problems.append(Problem("sample_hazard", _l(
                "Sample %(n)d: unknown hazard."), {"n": number}))
    if sum(max(s.count, 0) for s in samples) > MAX_TOTAL_SAMPLES:
        problems.append(Problem("too_many_samples", _l(
            "An order may hand in at most %(max)d samples in all."), {"max": MAX_TOTAL_SAMPLES}))
    if any(s.hazards for s in samples) and not hazards_acknowledged:
        problems.append(Problem("hazard_declaration", _l(
            "Hazardous samples are refused unless the lab accepts them: confirm the "
            "declaration.")))
    return problems


def order_problems(samples: Sequence[SampleLine], tests: Sequence[str], leftovers: str,
                   desired_date: date | None, today: date, hazards_acknowledged: bool,
                   terms_signed: bool) -> list[Problem]:
    """Every problem of an order form, so that the form shows them all at once."""
    problems = sample_problems(samples, hazards_acknowledged)
    if not 1 <= len(tests) <= MAX_TESTS or any(not t.strip() for t in tests):
        problems.append(Problem("tests_required", _l(
            "Name between 1 and %(max)d tests."), {"max": MAX_TESTS}))
    if leftovers not in LEFTOVERS:
        problems.append(Problem("leftovers", _l(
            "Say whether leftover samples are returned or disposed of.")))
    if desired_date is not None and desired_date < today:
        problems.append(Problem("desired_date_past", _l(
            "The desired date cannot be in the past.")))
    if not terms_signed:
        problems.append(Problem("terms_unsigned", _l(
            "Accept the terms of the commission before submitting.")))
    return problems


def service_problems(*, active: bool, offers_testing: bool, visible: bool,
                     organisation_verified: bool = True,
                     membership_confirmed: bool = True) -> list[Problem]:
    """Whether the instrument takes orders at all, and from this customer (the booking the
    lab schedules for the order follows the booking rules' conditions on the booker)."""
    if not (active and visible):
        return [Problem("instrument_unavailable", _l("The instrument is not in service."))]
    if not offers_testing:
        return [Problem("testing_not_offered", _l(
            "The instrument does not offer staff-operated testing."))]
    problems = []
    if not organisation_verified:
        problems.append(Problem("organisation_unverified", _l(
            "Your organisation has not been verified yet.")))
    if not membership_confirmed:
        problems.append(Problem("membership_unconfirmed", _l(
            "Your membership has not been confirmed by your organisation yet.")))
    return problems


# --- the quote ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OrderQuote:
    samples: int
    tests: int
    per_sample_fen: int
    samples_fee_fen: int  # per sample and per test
    setup_fee_fen: int
    surcharge_fen: int
    fee_fen: int
    voucher_fen: int
    payable_fen: int


def total_samples(samples: Iterable[SampleLine]) -> int:
    return sum(max(sample.count, 0) for sample in samples)


def quote(samples: int, tests: int, per_sample_fen: int, setup_fee_fen: int, urgent: bool,
          surcharge_percent: int, voucher_fen: int = 0) -> OrderQuote:
    """samples × tests × fee per sample, plus the set-up fee, plus the urgency surcharge
    (percent of both, half-up to the fen) when urgent; the voucher pays at most the fee."""
    samples, tests = max(samples, 0), max(tests, 0)
    samples_fee = samples * tests * max(per_sample_fen, 0)
    setup = max(setup_fee_fen, 0)
    percent = min(max(surcharge_percent, 0), MAX_SURCHARGE_PERCENT) if urgent else 0
    surcharge = divide_half_up((samples_fee + setup) * percent, 100)
    fee = samples_fee + setup + surcharge
    voucher = min(max(voucher_fen, 0), fee)
    return OrderQuote(samples, tests, max(per_sample_fen, 0), samples_fee, setup, surcharge,
                      fee, voucher, fee - voucher)


# --- numbers, turnaround, release -----------------------------------------------------------------
def order_number(year: int, order_id: int) -> str:
    """WT2026-000123 (委托): one sequence for the platform, by id."""
    return f"WT{year}-{order_id:06d}"


def sample_code(order_number_: str, position: int) -> str:
    """WT2026-000123-02: the order's number and the sample's place in it."""
    return f"{order_number_}-{position:02d}"


def report_number(prefix: str, year: int, order_id: int) -> str:
    """DLUT-R2026-000123: the lab organisation's code, the year and the order."""
    return f"{prefix}-R{year}-{order_id:06d}"


def report_released(invoice_state: str | None, release_on: str) -> bool:
    """The customer may download the report once the invoice is issued (or paid, when the
    lab says so); a void or missing invoice releases nothing."""
    if release_on == "paid":
        return invoice_state == "paid"
    return invoice_state in ("issued", "paid")
