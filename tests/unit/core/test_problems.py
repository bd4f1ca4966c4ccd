"""One refusal type: problems carry a code and an English msgid, are translated where shown,
and a refusal knows its API status."""
from pathlib import Path

from flask import Flask
from flask_babel import Babel, force_locale

import booking
from booking.core.problems import Problem, Refused, _l
from booking.core.states import IllegalTransition, StateTable

CRITERIA = _l("Does not meet the criteria of the declared class (%(name)s): %(criteria)s")


def test_a_problem_reads_in_english_without_flask():
    problem = Problem("class_criteria", CRITERIA, {
        "name": _l("Start-up team"), "criteria": (_l("staff count"), _l("founding date"))})
    assert problem.message == ("Does not meet the criteria of the declared class (Start-up "
                               "team): staff count, founding date")
    assert problem.text() == problem.message  # no app: the msgid itself


def test_a_problem_is_translated_with_its_msgid_parameters():
    app = Flask(__name__, root_path=str(Path(booking.__file__).parent))  # its translations
    Babel(app)
    problem = Problem("class_criteria", CRITERIA, {
        "name": _l("Start-up team"), "criteria": (_l("staff count"), _l("founding date")),
        "plain": "x"})
    with app.app_context(), force_locale("zh"):
        assert problem.text() == "不符合所申报类别（创业团队）的条件：职工人数、成立时间"


def test_a_template_without_parameters_keeps_its_percent_signs():
    assert Problem("rate", "100% is the most").message == "100% is the most"


class Area(Refused):
    conflicts = frozenset({"taken"})


class Coded(Refused):
    api_code = "area_refused"
    status = 403


def test_a_refusal_carries_every_problem_and_its_status():
    refused = Area([Problem("late", "Too late"), Problem("taken", "Taken")])
    assert refused.code == "late" and str(refused) == "Too late; Taken"
    assert refused.http_status == 409  # one of its problems is a conflict
    assert Area.one("late", "Too late").http_status == 422
    coded = Coded.one("nope", "No %(who)s", who="you")
    assert (coded.http_status, coded.api_code, coded.text()) == (403, "area_refused", "No you")


class CannotOpen(IllegalTransition):
    noun, target = "door", "open"


class CannotLock(IllegalTransition):
    noun, target = "door", "locked"


DOOR = StateTable({"closed": {"open", "locked"}, "open": {"closed"}, "locked": set()},
                  [CannotOpen, CannotLock])


def test_a_state_table_names_the_refused_move():
    DOOR.check("closed", "open")
    assert DOOR.states == ("closed", "open", "locked")
    assert not DOOR.allows("locked", "open")
    try:
        DOOR.check("locked", "open")
    except CannotOpen as refused:
        assert (refused.current, str(refused), refused.http_status) == (
            "locked", "The door is locked: it cannot become open.", 409)
        assert refused.api_code == "illegal_transition"
    else:
        raise AssertionError("an illegal move passed")
