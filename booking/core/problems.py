"""What rules and workflows say when they refuse: problems with a machine code, and one
exception, `Refused`, that every area's refusal derives from.

Messages are English msgids with %(name)s parameters, marked for extraction with `_l` here and
translated where they are shown (`Problem.text()`); the pure rules themselves know no Flask.
A parameter that is itself a msgid (made by `_l`) is translated too; a tuple of msgids is
translated item by item and joined (a list of criteria, say).
"""
from dataclasses import dataclass, field


class Msgid(str):
    """A msgid that is translated where it is shown, not where it is made."""


def _l(message: str) -> Msgid:
    """Marks a msgid for extraction (pybabel keyword _l); it is translated where shown."""
    return Msgid(message)


LIST_SEPARATOR = _l(", ")  # zh: "、"


def _gettext():
    """Flask-Babel's gettext inside a request or app context, else the English msgid."""
    try:
        from flask import has_app_context
        from flask_babel import gettext
    except ImportError:  # pragma: no cover - Flask is always installed with the app
        return lambda text: text
    return gettext if has_app_context() else (lambda text: text)


def _render(value, translate):
    if isinstance(value, tuple):
        return translate(LIST_SEPARATOR).join(_render(item, translate) for item in value)
    return translate(value) if isinstance(value, Msgid) else value


@dataclass(frozen=True)
class Problem:
    code: str
    template: str
    params: dict = field(default_factory=dict, compare=False)

    def _format(self, translate) -> str:
        params = {key: _render(value, translate) for key, value in self.params.items()}
        return translate(self.template) % params if params else translate(self.template)

    @property
    def message(self) -> str:
        """In English: logs, and the API (which speaks English; codes are for programs)."""
        return self._format(lambda text: text)

    def text(self) -> str:
        """In the current locale, for a person."""
        return self._format(_gettext())


class Refused(Exception):
    """A workflow said no. Carries every problem found (the first names the refusal).

    Subclasses name their area and may set the API answer: `status` (422 by default),
    `conflicts` (problem codes that make it a 409: the state changed under the caller) and
    `api_code` (one error code for the area instead of the first problem's)."""

    status = 422
    conflicts: frozenset = frozenset()
    api_code: str | None = None

    def __init__(self, problems: "Problem | list[Problem]"):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("; ".join(p.message for p in self.problems))

    @classmethod
    def one(cls, code: str, template: str, **params) -> "Refused":
        return cls(Problem(code, template, params))

    @property
    def code(self) -> str:
        return self.problems[0].code

    @property
    def http_status(self) -> int:
        return 409 if any(p.code in self.conflicts for p in self.problems) else self.status

    def texts(self) -> list[str]:
        return [p.text() for p in self.problems]

    def text(self) -> str:
        return " ".join(self.texts())
