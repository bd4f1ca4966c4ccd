"""What pure rules return when they refuse: readable problems with a machine code.

Messages are English msgids with %(name)s parameters, marked for extraction with `_l` here and
translated where they are shown (the rules themselves know no Flask).
"""
from dataclasses import dataclass, field


def _l(message: str) -> str:
    """Marks a msgid for extraction (pybabel keyword _l); it is translated where shown."""
    return message


@dataclass(frozen=True)
class Problem:
    code: str
    template: str
    params: dict = field(default_factory=dict, compare=False)

    @property
    def message(self) -> str:
        return self.template % self.params
