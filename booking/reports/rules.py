"""Pure bulletin arithmetic: no Flask, no database."""
from dataclasses import dataclass, field

FIGURES = ("bookings", "hours", "external_hours", "voucher_fen", "new_instruments",
           "stale_listings")


@dataclass
class Figures:
    """One institution's (or the total's) figures for a period."""

    bookings: int = 0
    hours: float = 0.0
    external_hours: float = 0.0
    voucher_fen: int = 0
    new_instruments: int = 0
    stale_listings: int = 0

    @property
    def external_share(self) -> float | None:
        """External hours / all hours; None when nothing was used."""
        return self.external_hours / self.hours if self.hours else None

    def add(self, other: "Figures") -> None:
        for name in FIGURES:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Line:
    org_id: int | None
    name: str
    now: Figures
    before: Figures
    changes: dict = field(default_factory=dict)


def change(now, before) -> float | None:
    """Relative change from the previous period (0.25 = +25 %); None when there was nothing
    before (a change from zero has no ratio)."""
    if now is None or before is None or not before:
        return None
    return (now - before) / before


def changes(now: Figures, before: Figures) -> dict:
    result = {name: change(getattr(now, name), getattr(before, name)) for name in FIGURES}
    result["external_share"] = (now.external_share - before.external_share
                                if now.external_share is not None and
                                before.external_share is not None else None)
    return result


def total(lines: list[Line], name: str) -> Line:
    now, before = Figures(), Figures()
    for line in lines:
        now.add(line.now)
        before.add(line.before)
    return Line(None, name, now, before, changes(now, before))
