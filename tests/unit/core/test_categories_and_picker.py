"""Category codes from what people type, and the instrument picker's labels."""
import pytest

from booking.core.categories import CATEGORIES, category_choices, category_code, category_name
from booking.core.web import picked_id, picker_label


@pytest.mark.parametrize("typed, code", [
    ("analytical", "analytical"), (" 分析仪器 ", "analytical"),
    ("ANALYTICAL INSTRUMENTS", "analytical"), ("Lasers", "laser"), ("激光器", "laser"),
    ("电镜", None), ("", None), ("analytic", None),
])
def test_a_category_is_known_by_its_code_or_either_name(typed, code):
    assert category_code(typed) == code


def test_names_follow_the_locale_and_an_unknown_code_shows_as_itself():
    assert category_name("laser", "en") == "Lasers" and category_name("laser", "zh_CN") == "激光器"
    assert category_name("电镜", "en") == "电镜"
    assert [code for code, _ in category_choices("en")] == list(CATEGORIES)


@pytest.mark.parametrize("text, wanted", [
    ("核磁共振波谱仪 · 大连理工大学 · #231", 231), ("#231", 231), (" 231 ", 231),
    ("# 7", 7), ("核磁 231", None), ("X-ray 2000", None), ("#0", None), ("#99999999999", None),
    ("", None), ("核磁共振波谱仪", None),
])
def test_the_picked_id_is_read_from_the_end_of_the_text(text, wanted):
    assert picked_id(text) == wanted


def test_a_label_reads_back_as_its_id():
    label = picker_label(42, "扫描电镜 SU8010", "", "大连理工大学")
    assert label == "扫描电镜 SU8010 · 大连理工大学 · #42" and picked_id(label) == 42


@pytest.mark.parametrize("en, locale, shown", [
    ("NMR spectrometer", "en", "NMR spectrometer"), ("", "en", "核磁共振波谱仪"),
    (None, "en", "核磁共振波谱仪"), ("NMR spectrometer", "zh_CN", "核磁共振波谱仪"),
])
def test_a_name_in_the_readers_language_falls_back_to_chinese(en, locale, shown):
    from booking.core.names import in_language

    assert in_language("核磁共振波谱仪", en, locale) == shown
