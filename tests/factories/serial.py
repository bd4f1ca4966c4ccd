"""One counter for the unique parts of test rows (names, e-mails, credit codes, numbers)."""
import itertools

_serial = itertools.count(1)


def next_serial() -> int:
    return next(_serial)
