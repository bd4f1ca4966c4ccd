"""The small core shared by the state machines of bookings, invoices and vouchers: a table of
legal moves and one refusal for an illegal one (named per target, so callers and tests can
say which move was refused)."""
from booking.core.problems import Problem, Refused, _l


class IllegalTransition(Refused):
    """An object cannot move from its state to the target one (the API answers 409). The
    message names the object and both states in words (`noun`, `words`: msgids, translated
    where shown); `current` keeps the state's code."""

    status = 409
    api_code = "illegal_transition"
    noun = _l("object")
    words: dict = {}
    target = ""

    def __init__(self, current: str):
        self.current = current
        super().__init__(Problem(
            "illegal_transition", _l("The %(noun)s is %(current)s: it cannot become %(target)s."),
            {"current": self.words.get(current, current), "noun": self.noun,
             "target": self.words.get(self.target, self.target)}))


class StateTable:
    """The legal moves of one kind of object: state -> the states it may become."""

    def __init__(self, transitions: dict[str, set[str] | frozenset[str]],
                 illegal: list[type[IllegalTransition]]):
        self.transitions = {state: frozenset(targets) for state, targets in transitions.items()}
        self._illegal = {cls.target: cls for cls in illegal}

    @property
    def states(self) -> tuple[str, ...]:
        return tuple(self.transitions)

    def allows(self, current: str, target: str) -> bool:
        return target in self.transitions.get(current, ())

    def check(self, current: str, target: str) -> None:
        """Raise the target's IllegalTransition unless `current` may become `target`."""
        if not self.allows(current, target):
            raise self._illegal[target](current)
