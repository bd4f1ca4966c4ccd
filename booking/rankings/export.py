"""A snapshot as a table (core.tables writes it as CSV or XLSX)."""
from booking.rankings.forms import GRADE_LABELS, INDICATOR_LABELS
from booking.rankings.models import RankingSnapshot
from booking.rankings.policy import INDICATORS


def table(snapshot: RankingSnapshot) -> list[list]:
    header = ["rank", "org_id", "institution", "grade", "score", "reward_fen"]
    header += [str(INDICATOR_LABELS[name]) for name in INDICATORS]
    header += [f"{INDICATOR_LABELS[name]} (pts)" for name in INDICATORS]
    rows = [[row["rank"], row["org_id"], row["org_name"], str(GRADE_LABELS[row["grade"]]),
             row["score"], row["reward_fen"]]
            + [row["indicators"][name] for name in INDICATORS]
            + [row["points"][name] for name in INDICATORS] for row in snapshot.rows]
    return [header, *rows]
