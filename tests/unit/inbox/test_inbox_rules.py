"""Who wants which notice by e-mail, and which reminder is due: pure rules, no app."""
import re
from datetime import timedelta
from pathlib import Path

import pytest

from booking.inbox import rules
from booking.inbox.rules import Preferences, due_reminder, group_of, visible_groups
from tests.moments import TUESDAY_24_NOV_10AM as START

HOUR = timedelta(hours=1)
BOTH = {"24h", "1h"}


# --- kinds and groups ---------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "group"), [
    ("booking.approved", "decisions"), ("booking.expired", "decisions"),
    ("booking.cancelled", "lab_changes"), ("booking.moved", "lab_changes"),
    ("booking.reminder", "reminders"), ("booking.pending", "work"),
    ("invoice.issued", "billing"), ("invoice.paid", "billing"),
    ("training.declined", "training"), ("training.requested", "work"),
    ("qualification.granted", "training"), ("voucher.decided", "vouchers"),
    ("voucher.overdue", "work"), ("waitlist.offer", "waitlist"),
    ("organisation.verified", "account"), ("password.reset", None),
    ("account.registered", None), ("brand.new", None)])
def test_each_kind_belongs_to_its_group(kind, group):
    assert group_of(kind) == group


SENDERS = Path(__file__).resolve().parents[3] / "booking"
KIND_CALL = re.compile(r'notify\(\s*[\w.]+,\s*"([a-z_]+\.[a-z_]+)"')
KIND_CONSTANT = re.compile(r'^[A-Z_]*KIND = "([a-z_]+\.[a-z_]+)"', re.MULTILINE)


def test_every_kind_sent_has_a_switch_or_is_always_e_mailed_on_purpose():
    """A new kind of notice must join a group (inbox/rules.py), or be listed as always
    e-mailed; otherwise it could not be turned off. Guards the kinds other parts add."""
    sources = "\n".join(path.read_text() for path in SENDERS.glob("*/notifications.py"))
    kinds = set(KIND_CALL.findall(sources)) | set(KIND_CONSTANT.findall(sources))
    assert {"booking.approved", "invoice.issued", "invoice.paid", "booking.reminder"} <= kinds
    assert [kind for kind in sorted(kinds)
            if group_of(kind) is None and kind not in rules.ALWAYS_EMAILED] == []


def test_work_for_the_lab_is_shown_to_those_who_do_it():
    def keys(roles):
        return [group.key for group in visible_groups(roles)]

    assert "work" not in keys(["student"]) and "billing" in keys(["student"])
    assert "work" in keys(["member", "lab_manager"]) and "work" in keys(["bureau_staff"])
    assert keys(["admin"]) == [group.key for group in rules.GROUPS]


# --- preferences ----------------------------------------------------------------------------------
def test_by_default_everything_is_e_mailed_and_reminded_a_day_ahead():
    preferences = Preferences.from_stored(None)
    assert all(preferences.emails(kind) for kind in ("booking.approved", "invoice.paid"))
    assert preferences.reminders == {"24h"}


def test_a_group_switched_off_holds_back_its_kinds_only():
    preferences = Preferences(email_off=frozenset({"billing"}))
    assert not preferences.emails("invoice.issued") and not preferences.emails("invoice.paid")
    assert preferences.emails("booking.approved")
    assert preferences.emails("brand.new")  # a kind with no switch is always e-mailed


def test_a_secret_is_e_mailed_whatever_the_switches():
    everything_off = Preferences(email_off=rules.GROUP_KEYS)
    assert everything_off.emails("password.reset")


def test_stored_preferences_round_trip_and_forget_unknown_names():
    preferences = Preferences(frozenset({"vouchers", "billing"}), frozenset({"1h"}))
    assert preferences.stored() == {"email_off": ["billing", "vouchers"], "reminders": ["1h"]}
    assert Preferences.from_stored(preferences.stored()) == preferences
    assert Preferences.from_stored({"email_off": ["gone", "billing"], "reminders": ["3d"]}) == \
        Preferences(frozenset({"billing"}), frozenset())


def test_a_form_changes_only_the_switches_it_showed():
    before = Preferences(email_off=frozenset({"work", "billing"}))
    shown = ["decisions", "billing", "reminders"]  # "work" was not shown to this user
    after = before.choose(shown, emailed=["billing"], reminders=["1h", "24h"])
    assert after == Preferences(frozenset({"work", "decisions", "reminders"}),
                                frozenset({"1h", "24h"}))


# --- which reminder is due --------------------------------------------------------------------------
BOOKED_LONG_AGO = START - 72 * HOUR


@pytest.mark.parametrize(("now", "wanted", "sent", "due"), [
    (START - 25 * HOUR, BOTH, (), None),  # no horizon reached yet
    (START - 24 * HOUR, BOTH, (), "24h"),  # the 24-hour horizon, to the minute
    (START - 23 * HOUR, BOTH, (), "24h"),  # a few runs later: still due until sent
    (START - 23 * HOUR, BOTH, {"24h"}, None),  # never twice
    (START - HOUR, BOTH, {"24h"}, "1h"),
    (START - HOUR / 2, BOTH, {"24h", "1h"}, None),
    (START - HOUR / 2, BOTH, (), "1h"),  # the job was down: one reminder, the nearest
    (START - 23 * HOUR, {"1h"}, (), None),  # only the 1-hour one wanted
    (START - HOUR / 2, {"24h"}, (), "24h"),  # only the 24-hour one wanted, sent late
    (START - HOUR / 2, set(), (), None),  # no reminders wanted
    (START, BOTH, (), None),  # it has started: too late
])
def test_due_reminder(now, wanted, sent, due):
    assert due_reminder(START, BOOKED_LONG_AGO, now, wanted, sent) == due


def test_whoever_booked_after_a_horizon_is_not_reminded_of_it():
    booked = START - 5 * HOUR  # within the 24-hour horizon already
    assert due_reminder(START, booked, START - 4 * HOUR, BOTH, ()) is None
    assert due_reminder(START, booked, START - HOUR, BOTH, ()) == "1h"
    confirmed_late = START - HOUR / 2
    assert due_reminder(START, confirmed_late, START - HOUR / 4, BOTH, ()) is None
