"""Money is integer fen. Decimal only inside a calculation, rounded once, half-up to the fen."""
from decimal import ROUND_HALF_UP, Decimal


def round_fen(amount: Decimal | int) -> int:
    """Round a Decimal amount of fen half-up to a whole fen."""
    return int(Decimal(amount).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def divide_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator (denominator > 0) rounded half-up, ties away from zero, as
    round_fen would, in integer arithmetic: pricing 50,000 sessions for an export is then
    several times faster than through Decimal."""
    quotient = (abs(numerator) * 2 + denominator) // (denominator * 2)
    return quotient if numerator >= 0 else -quotient


def yuan_to_fen(yuan: Decimal | str | int) -> int:
    return round_fen(Decimal(str(yuan)) * 100)


def fen_to_yuan(fen: int | None) -> Decimal | None:
    """Fen as yuan with two places (−150 fen is −1.50): for forms, exports and JSON."""
    return None if fen is None else Decimal(fen).scaleb(-2)


def format_cny(fen: int | None) -> str:
    """¥1,234.50 — for display only."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}¥{fen // 100:,}.{fen % 100:02d}"


def percent(share: Decimal | int | float | str) -> str:
    """A share as per cent digits for display: 0.4 → "40", 0.375 → "37.5"."""
    return f"{(Decimal(str(share)) * 100).normalize():f}"
