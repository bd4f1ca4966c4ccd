"""Every action the code records reads as words on the audit page; recorded values read as a
person expects (no Flask app: labels are looked up lazily, outside a request they are the
English source)."""
import ast
from pathlib import Path

from booking.admin import audit_labels
from booking.bookings.rules import STATES as BOOKING_STATES
from booking.orders.rules import STATES as ORDER_STATES

ROOT = Path(__file__).resolve().parents[3] / "booking"
RECORDERS = {"record", "record_each", "record_bulk"}
# actions built from a state: f"booking.{target}", f"order.{target}", ...
BUILT = ({f"booking.{s}" for s in BOOKING_STATES if s != "pending"}
         | {f"order.{s}" for s in ORDER_STATES}
         | {"training.granted", "training.declined", "pi_approval.approved",
            "pi_approval.rejected"})


def recorded_actions() -> set[str]:
    """The literal actions passed to audit.record* (and to the catalogue's _touch)."""
    found = set()
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            argument = node.args[2] if name == "_touch" and len(node.args) > 2 else node.args[0]
            if name in RECORDERS or name == "_touch":
                found |= {c.value for c in ast.walk(argument) if isinstance(c, ast.Constant)
                          and isinstance(c.value, str) and "." in c.value.rstrip(".")}
    return found


def test_every_recorded_action_has_a_label():
    actions = recorded_actions()
    assert len(actions) > 100  # the scan still finds the calls
    assert sorted((actions | BUILT) - set(audit_labels.ACTION_LABELS)) == []


def test_recorded_values_read_as_a_person_expects():
    tz = "Asia/Shanghai"
    assert audit_labels.described({"amount_fen": 4500, "late": True, "since": None,
                                   "method": "bank_transfer"}, tz) == [
        ("Amount", "¥45.00"), ("Late", "yes"), ("since", "—"), ("Method", "bank transfer")]
    assert audit_labels.described({"enterprise_class": "small_micro"}, tz) == [
        ("Enterprise class", "Small or micro enterprise")]
    assert audit_labels.described(["member", "finance"], tz, "roles") == [("", "member、finance")]
    assert audit_labels.described(100_000_000, tz, "pool_fen") == [("", "¥1,000,000.00")]
    assert audit_labels.described({"start": "2026-12-07T05:30:00+00:00"}, tz) == [
        ("Start", "2026-12-07 13:30")]
    assert audit_labels.described({"changes": [["a.b", "1", "2"]]}, tz) == [
        ("Changes", '[["a.b", "1", "2"]]')]
    assert audit_labels.action_label("voucher.approved") == "Voucher approved"
    assert audit_labels.action_label("lab.unknown") == "lab.unknown"
    assert audit_labels.object_label("Voucher") == "Voucher"
    assert audit_labels.object_label("Gadget") == "Gadget"
