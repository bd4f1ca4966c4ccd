"""The national large-instrument classification (data in national_classes.toml, its source
named there): 13 top-level classes, 分析仪器 first; codes of 2, 4 or 6 digits. Pure: no Flask,
no database."""
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("national_classes.toml")


@dataclass(frozen=True)
class NationalClass:
    code: str
    zh: str
    en: str
    parent: str | None = None

    @property
    def level(self) -> int:
        return len(self.code) // 2

    def label(self, locale: str = "zh_CN") -> str:
        return self.en if locale == "en" else self.zh


@cache
def classes() -> dict[str, NationalClass]:
    """code -> class, top-level classes and their children in the file's order."""
    data = tomllib.loads(DATA.read_text(encoding="utf-8"))["classes"]
    table = {}
    for code, top in data.items():
        table[code] = NationalClass(code, top["zh"], top["en"])
        for child, (zh, en) in top.get("children", {}).items():
            table[child] = NationalClass(child, zh, en, code)
    return table


def top_level() -> list[NationalClass]:
    return [c for c in classes().values() if c.parent is None]


def category_of(code: str | None) -> str:
    """The directory's older category key for a national class code."""
    return _categories().get((code or "")[:2], "other")


@cache
def _categories() -> dict[str, str]:
    data = tomllib.loads(DATA.read_text(encoding="utf-8"))["classes"]
    return {code: top["category"] for code, top in data.items()}


@cache
def _by_name() -> dict[str, str]:
    names = {}
    for c in classes().values():
        names.setdefault(c.zh, c.code)
        names.setdefault(c.en.casefold(), c.code)
    return names


def resolve(value: str) -> str | None:
    """A code for what a spreadsheet says: a known 2/4-digit code, a 6-digit code under a known
    second-level class (filed at that class: the third level is not shipped), either with its
    leading 0 lost, or a class name (Chinese or English). None when nothing matches."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        if len(value) % 2:  # a spreadsheet took 0101 for a number and dropped its 0
            value = "0" + value
        if value in classes():
            return value
        if len(value) == 6 and value[:4] in classes():
            return value
        return None
    return _by_name().get(value) or _by_name().get(value.casefold())


def label(code: str | None, locale: str = "zh_CN") -> str:
    """"01 分析仪器 › 0102 质谱仪器" style label; the code itself when unknown."""
    if not code:
        return ""
    known = classes().get(code) or classes().get(code[:4])
    if known is None:
        return code
    parts = [known] if known.parent is None else [classes()[known.parent], known]
    return " › ".join(p.label(locale) for p in parts)


# Name keywords -> second-level class, most specific first (for seeding demo data and
# suggesting a class; an import never guesses: a blank 分类代码 stays blank).
KEYWORDS = (("质谱", "0102"), ("电子显微镜", "0101"), ("电镜", "0101"), ("电子探针", "0101"),
            ("X射线", "0103"), ("衍射", "0103"), ("核磁", "0106"), ("顺磁", "0106"),
            ("波谱", "0106"), ("色谱", "0105"), ("光谱", "0104"), ("拉曼", "0104"),
            ("红外", "0104"), ("紫外", "0104"), ("荧光", "0104"), ("电化学", "0107"),
            ("显微镜", "0108"), ("热分析", "0109"), ("热重", "0109"), ("比表面", "0199"),
            ("测序", "0110"), ("流式", "0110"), ("试验机", "0201"), ("粒度", "0205"),
            ("工业CT", "0801"), ("探伤", "0206"), ("激光器", "1301"), ("计算", "1302"))


def suggest(name: str, category: str | None = None) -> str | None:
    """A likely class for an instrument's name, else the top-level class of its category."""
    for keyword, code in KEYWORDS:
        if keyword in (name or ""):
            return code
    tops = {key: code for code, key in _categories().items()}
    return tops.get(category) if category else None
