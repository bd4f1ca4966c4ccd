"""The Chinese catalogue compiles: every translation keeps its msgid's placeholders (a label
like "charge (% of the fee)" read as a placeholder broke `make setup`)."""
from pathlib import Path

from babel.messages.pofile import read_po

CATALOG = Path(__file__).parents[3] / "booking/translations/zh/LC_MESSAGES/messages.po"


def test_every_translation_keeps_its_placeholders_and_none_is_missing():
    with CATALOG.open("rb") as file:
        catalog = read_po(file)
    problems = [(message.id, [str(error) for error in errors])
                for message, errors in catalog.check()]
    assert problems == []
    untranslated = [m.id for m in catalog if m.id and (m.fuzzy or not (
        m.string if isinstance(m.string, str) else all(m.string)))]
    assert untranslated == []


def test_the_catalogue_keeps_no_obsolete_entries():
    """Reported: GNU msgfmt refused the catalogue ('duplicate message definition'): an
    obsolete '#~' entry repeated a live one (`make translations` now drops them)."""
    assert not [line for line in CATALOG.read_text(encoding="utf-8").splitlines()
                if line.startswith("#~")]
