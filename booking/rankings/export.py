"""A snapshot as a table (core.tables writes it as CSV or XLSX), in the reader's language,
money in yuan as every other export."""
from flask_babel import gettext as _

from booking.core.money import fen_to_yuan
from booking.rankings.forms import (
    GRADE_LABELS,
    HOUR_INDICATORS,
    INDICATOR_LABELS,
    PERCENT_INDICATORS,
)
from booking.rankings.models import RankingSnapshot


def table(snapshot: RankingSnapshot) -> list[list]:
    header = [_("Rank"), _("Institution id"), _("Institution"), _("Grade"), _("Score"),
              _("Reward (CNY)")]
    names = snapshot.indicator_names  # a snapshot older than an indicator has no column for it
    header += [_indicator_heading(name) for name in names]
    header += [_("%(indicator)s (points)", indicator=INDICATOR_LABELS[name]) for name in names]
    rows = [[row["rank"], row["org_id"], row["org_name"], str(GRADE_LABELS[row["grade"]]),
             row["score"], fen_to_yuan(row["reward_fen"])]
            + [_indicator_value(name, row["indicators"][name]) for name in names]
            + [row["points"][name] for name in names] for row in snapshot.rows]
    return [header, *rows]


def _indicator_heading(name: str) -> str:
    """An indicator's column, with its unit as the page shows it (a share in per cent)."""
    label = INDICATOR_LABELS[name]
    if name in PERCENT_INDICATORS:
        return _("%(indicator)s (%%)", indicator=label)
    return _("%(indicator)s (hours)", indicator=label) if name in HOUR_INDICATORS else str(label)


def _indicator_value(name: str, value):
    if value is None or name not in PERCENT_INDICATORS:
        return value
    return round(100 * value, 1)
