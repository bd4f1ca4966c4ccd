"""The national large-instrument categories (大型科研仪器分类): plain data, shared by the
catalogue (each instrument has one) and by the areas that set rules per category (a research
group's PI approval, a project's limits), which do not import the catalogue."""
from booking.core.names import in_language

# code -> (zh, en)
CATEGORIES = {
    "analytical": ("分析仪器", "Analytical instruments"),
    "physical_testing": ("物理性能测试仪器", "Physical property testing"),
    "electronic_measurement": ("电子测量仪器", "Electronic measurement"),
    "metrology": ("计量仪器", "Metrology instruments"),
    "medical_research": ("医学科研仪器", "Medical research instruments"),
    "special_testing": ("特种检测仪器", "Special testing instruments"),
    "earth_exploration": ("地球探测仪器", "Earth exploration instruments"),
    "atmospheric": ("大气探测仪器", "Atmospheric sounding instruments"),
    "marine": ("海洋仪器", "Marine instruments"),
    "astronomical": ("天文仪器", "Astronomical instruments"),
    "laser": ("激光器", "Lasers"),
    "nuclear": ("核仪器", "Nuclear instruments"),
    "process_experiment": ("工艺试验仪器", "Process and experiment equipment"),
    "computing": ("计算机及其配套设备", "Computers and peripherals"),
    "other": ("其他仪器", "Other instruments"),
}


def category_choices(locale: str) -> list[tuple[str, str]]:
    """(code, name in the locale) of every category, in the national order."""
    return [(code, in_language(*names, locale)) for code, names in CATEGORIES.items()]


def category_name(code: str, locale: str) -> str:
    """The category's name in the locale; the code itself when it names no category."""
    names = CATEGORIES.get(code)
    return in_language(*names, locale) if names else code


def category_code(text: str) -> str | None:
    """The code a category was written as: its code, or its Chinese or English name (any
    case); None when it names no category."""
    wanted = text.strip().casefold()
    for code, names in CATEGORIES.items():
        if wanted in (code, names[0].casefold(), names[1].casefold()):
            return code
    return None
