"""Every action the code records reads as words on the audit page; recorded values read as a
person expects (no Flask app: labels are looked up lazily, outside a request they are the
English source)."""
import ast
from pathlib import Path

from babel.messages.pofile import read_po

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


def _recorder_calls():
    """(call, the argument naming the action) of every audit.record* (and the catalogue's
    _touch) in the code."""
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            if name in RECORDERS:
                yield node, node.args[0]
            elif name == "_touch" and len(node.args) > 2:
                yield node, node.args[2]


def recorded_actions() -> set[str]:
    """The literal actions passed to the recorders."""
    return {c.value for _call, argument in _recorder_calls() for c in ast.walk(argument)
            if isinstance(c, ast.Constant) and isinstance(c.value, str)
            and "." in c.value.rstrip(".")}


def recorded_keys() -> set[str]:
    """The names the recorders' data is recorded under (keyword arguments, and the keys of
    record_each's data_of dicts)."""
    keys = set()
    for call, _argument in _recorder_calls():
        for keyword in call.keywords:
            if keyword.arg == "data_of":
                keys |= {k.value for d in ast.walk(keyword.value) if isinstance(d, ast.Dict)
                         for k in d.keys if isinstance(k, ast.Constant)}
            elif keyword.arg is not None:
                keys.add(keyword.arg)
    return keys - {"actor", "obj", "before", "after"}  # the page shows before/after apart


def test_every_recorded_action_has_a_label():
    actions = recorded_actions()
    assert len(actions) > 100  # the scan still finds the calls
    assert sorted((actions | BUILT) - set(audit_labels.ACTION_LABELS)) == []


def test_every_recorded_key_has_a_label():
    keys = recorded_keys()
    assert {"amount_fen", "reason", "stage"} <= keys  # the scan still finds them
    assert sorted(keys - set(audit_labels.FIELD_LABELS)) == []


def test_every_label_is_translated():
    catalog = read_po((ROOT / "translations/zh/LC_MESSAGES/messages.po").open("rb"))
    tables = (audit_labels.ACTION_LABELS, audit_labels.OBJECT_LABELS, audit_labels.FIELD_LABELS,
              *audit_labels.VALUE_LABELS.values())
    labels = {label if isinstance(label, str) else label._args[0]  # a msgid, or lazy
              for table in tables for label in table.values()}
    untranslated = sorted(msgid for msgid in labels
                          if not (catalog.get(msgid) and catalog[msgid].string
                                  and not catalog[msgid].fuzzy))
    assert untranslated == []


def test_recorded_values_read_as_a_person_expects():
    tz = "Asia/Shanghai"
    assert audit_labels.described({"amount_fen": 4500, "late": True, "since": None,
                                   "method": "bank_transfer"}, tz) == [
        ("Amount", "¥45.00"), ("Late cancellation", "yes"), ("From", "—"), ("Method", "bank transfer")]
    assert audit_labels.described({"enterprise_class": "small_micro"}, tz) == [
        ("Enterprise class", "Small or micro enterprise")]
    assert audit_labels.described(["member", "finance"], tz, "user.roles_changed") == [
        ("", "member, finance")]
    assert audit_labels.described(100_000_000, tz, "ranking.reward_pool_set") == [
        ("", "¥1,000,000.00")]
    assert audit_labels.described("pending", tz, "booking.approved") == [("", "pending approval")]
    assert audit_labels.described("testing", tz, "order.report_ready") == [("", "testing")]
    assert audit_labels.described({"reason": "invoice refunded", "stage": "d14"}, tz) == [
        ("Reason", "invoice refunded"), ("Reminder stage", "14 days overdue")]
    assert audit_labels.described({"reason": "另有安排"}, tz) == [("Reason", "另有安排")]
    # text that only looks like a time (typed as a reason) is shown as typed, not a crash
    assert audit_labels.described({"reason": "2026-02-30T10:00Z"}, tz) == [
        ("Reason", "2026-02-30T10:00Z")]
    assert audit_labels.described({"start": "2026-12-07T05:30:00+00:00"}, tz) == [
        ("Start", "2026-12-07 13:30")]
    assert audit_labels.described({"changes": [["a.b", "1", "2"]]}, tz) == [
        ("Changes", '[["a.b", "1", "2"]]')]
    assert audit_labels.action_label("voucher.approved") == "Voucher approved"
    assert audit_labels.action_label("lab.unknown") == "lab.unknown"
    assert audit_labels.object_label("Voucher") == "Voucher"
    assert audit_labels.object_label("Gadget") == "Gadget"
    assert ("Voucher", "Voucher") in audit_labels.object_choices()
    assert audit_labels.object_choices("Gadget")[-1] == ("Gadget", "Gadget")
