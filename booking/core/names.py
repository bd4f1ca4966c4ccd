"""Names kept in Chinese and in English (instruments, institutions, categories)."""


def in_language(zh: str, en: str | None, locale: str) -> str:
    """The name as a reader of `locale` reads it: the English one for English readers where
    there is one, else the Chinese."""
    return en if locale == "en" and en else zh


class ReadersName:
    """The name of something kept in both languages (an institution), for a message worded
    later: it reads in the language of the page or mail it ends up in, as a lazy message
    does (refusals are raised before anyone knows who reads them)."""

    def __init__(self, named):
        self.zh, self.en = named.name_zh, named.name_en

    def __str__(self) -> str:
        from booking.core.web import current_locale  # the web layer's, at reading time

        return in_language(self.zh, self.en, current_locale())
