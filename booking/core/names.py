"""Names kept in Chinese and in English (instruments, institutions, categories)."""


def in_language(zh: str, en: str | None, locale: str) -> str:
    """The name as a reader of `locale` reads it: the English one for English readers where
    there is one, else the Chinese."""
    return en if locale == "en" and en else zh
