"""A snapshot as a table (core.tables writes it as CSV or XLSX)."""
from booking.rankings.forms import GRADE_LABELS, INDICATOR_LABELS
from booking.rankings.models import RankingSnapshot


def table(snapshot: RankingSnapshot) -> list[list]:
    header = ["rank", "org_id", "institution", "grade", "score", "reward_fen"]
    names = snapshot.indicator_names  # a snapshot older than an indicator has no column for it
    header += [str(INDICATOR_LABELS[name]) for name in names]
    header += [f"{INDICATOR_LABELS[name]} (pts)" for name in names]
    rows = [[row["rank"], row["org_id"], row["org_name"], str(GRADE_LABELS[row["grade"]]),
             row["score"], row["reward_fen"]]
            + [row["indicators"][name] for name in names]
            + [row["points"][name] for name in names] for row in snapshot.rows]
    return [header, *rows]
