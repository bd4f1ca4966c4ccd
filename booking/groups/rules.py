"""Pure rules of groups and projects: budgets, limits and when the PI must approve. Plain
values in, a value or a list of problems out (no Flask, no database)."""
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from booking.core.money import format_cny
from booking.core.problems import Problem, _l

MEMBER_STATES = ("invited", "requested", "active")
APPROVAL_MODES = ("none", "always", "above_fee", "categories")
OVER_BUDGET = ("refuse", "pi")
PI_STATES = ("pending", "approved", "rejected", "expired", "withdrawn")
ENTRY_KINDS = ("hold", "charge", "credit")

#: How long a PI has to decide, and when a reminder goes out (like the labs' approvals).
PI_TIMEOUT = timedelta(hours=48)
PI_REMINDER_AFTER = timedelta(hours=24)
#: The signed link in the PI's e-mail is valid this long (seconds).
LINK_MAX_AGE = int(PI_TIMEOUT.total_seconds())
MAX_BUDGET_FEN = 10**12  # ten billion yuan: any larger is a typo


@dataclass(frozen=True)
class Budget:
    """What a project holds: the budget and the sums of its ledger."""

    budget_fen: int
    charged_fen: int = 0
    credited_fen: int = 0
    held_fen: int = 0

    @property
    def spent_fen(self) -> int:
        return self.charged_fen - self.credited_fen

    @property
    def remaining_fen(self) -> int:
        """What may still be committed: the budget less what was charged (net of credits)
        and what open bookings hold."""
        return self.budget_fen - self.spent_fen - self.held_fen

    @property
    def used_percent(self) -> int:
        if self.budget_fen <= 0:
            return 100
        return min(100, round(100 * (self.spent_fen + self.held_fen) / self.budget_fen))


#: A PI's monthly digest says so when a project has used this much of its budget.
BUDGET_WARNING_PERCENT = 80


@dataclass(frozen=True)
class MonthMoney:
    """What a project's ledger moved in a month: charges (invoices issued to it) and credits
    (given back by credit notes or voided invoices)."""

    charged_fen: int = 0
    charges: int = 0
    credited_fen: int = 0


def month_money(entries) -> dict[int, MonthMoney]:
    """(project id, kind, amount) of a month's ledger entries, summed per project; holds are
    not money moved (they come and go with bookings)."""
    sums: dict[int, MonthMoney] = {}
    for project_id, kind, amount_fen in entries:
        before = sums.get(project_id, MonthMoney())
        if kind == "charge":
            sums[project_id] = MonthMoney(before.charged_fen + amount_fen, before.charges + 1,
                                          before.credited_fen)
        elif kind == "credit":
            sums[project_id] = MonthMoney(before.charged_fen, before.charges,
                                          before.credited_fen + amount_fen)
    return sums


def is_valid_on(valid_from: date, valid_until: date, day: date) -> bool:
    return valid_from <= day <= valid_until


#: Told to the booker when the PI approves the request before the lab sees it.
PI_DECIDES = Problem("pi_decides", _l("Your PI approves it first."))


class LimitLeft(NamedTuple):
    """What a project's tightest limit on a booking still allows, and what it limits."""

    left_fen: int
    on: str  # "instrument" or "category"


def charge_problems(*, fee_fen: int, remaining_fen: int, limit: LimitLeft | None,
                    active: bool, valid: bool) -> list[Problem]:
    """Why a booking of `fee_fen` cannot be charged to the project as it stands (empty: it
    fits). `limit`: what the instrument's or category's tightest limit still allows."""
    problems = []
    if not active:
        problems.append(Problem("project_closed", _l("The project account is closed.")))
    if not valid:
        problems.append(Problem("project_expired",
                                _l("The project account is not valid on that day.")))
    if fee_fen > remaining_fen:
        problems.append(Problem("over_budget", _l(
            "The booking would exceed the project's remaining budget.")))
    if limit is not None and fee_fen > limit.left_fen:
        problems.append(Problem("over_limit", _l(
            "The booking would exceed the project's limit for this instrument: %(left)s of "
            "it is left.") if limit.on == "instrument" else _l(
            "The booking would exceed the project's limit for this instrument category: "
            "%(left)s of it is left."), {"left": format_cny(max(limit.left_fen, 0))}))
    return problems


def needs_pi_approval(mode: str, *, threshold_fen: int, categories: list[str], fee_fen: int,
                      category: str, over_budget: bool) -> bool:
    """Whether the PI decides before the lab sees the request. A request over the budget goes
    to the PI (when the project says so) whatever the group's mode."""
    if over_budget:
        return True
    if mode == "always":
        return True
    if mode == "above_fee":
        return fee_fen > threshold_fen
    if mode == "categories":
        return category in categories
    return False


def pi_deadline(created_at: datetime) -> datetime:
    return created_at + PI_TIMEOUT


def pi_reminder_due(created_at: datetime, reminded: bool, now: datetime) -> bool:
    return not reminded and created_at + PI_REMINDER_AFTER <= now < pi_deadline(created_at)
