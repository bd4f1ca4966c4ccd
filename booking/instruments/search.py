"""Pure search text processing: CJK bigram tokenizer and the domain glossary.

Chinese users type two-character queries (电镜, 核磁, 质谱, 液相); trigram indexes cannot match
them. Like Lucene's CJKAnalyzer we index every CJK run as overlapping bigrams plus its single
characters, and latin text as lower-cased words. The database full-text index then matches
space-separated tokens exactly (SQLite FTS5 unicode61, PostgreSQL tsvector).
"""
import re

# Each group names one thing; a document mentioning any member is indexed under all of them,
# so abbreviations and English acronyms find the full names and the other way round.
GLOSSARY = (
    ("电镜", "电子显微镜", "electron microscope"),
    ("扫描电镜", "扫描电子显微镜", "SEM", "scanning electron microscope"),
    ("透射电镜", "透射电子显微镜", "TEM", "transmission electron microscope"),
    ("核磁", "核磁共振", "NMR", "nuclear magnetic resonance"),
    ("XRD", "X射线衍射仪", "X射线衍射", "X-ray diffractometer", "X-ray diffraction"),
    ("XPS", "X射线光电子能谱", "X-ray photoelectron spectroscopy"),
    ("ICP-MS", "电感耦合等离子体质谱仪", "电感耦合等离子体质谱", "质谱"),
    ("ICP-OES", "电感耦合等离子体发射光谱仪", "电感耦合等离子体发射光谱"),
    ("质谱", "质谱仪", "mass spectrometer", "mass spec", "MS"),
    ("液相", "液相色谱", "液相色谱仪", "HPLC", "liquid chromatography"),
    ("气相", "气相色谱", "气相色谱仪", "GC", "gas chromatography"),
    ("GC-MS", "气相色谱-质谱联用仪", "气质联用"),
    ("LC-MS", "液相色谱-质谱联用仪", "液质联用"),
    ("共聚焦", "激光共聚焦显微镜", "confocal microscope"),
    ("AFM", "原子力显微镜", "atomic force microscope"),
    ("流式", "流式细胞仪", "flow cytometer"),
    ("红外", "红外光谱仪", "FTIR", "FT-IR", "infrared spectrometer"),
    ("拉曼", "拉曼光谱仪", "Raman spectrometer"),
    ("CT", "计算机断层扫描", "computed tomography"),
)

_CJK = (r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff")
_TOKEN = re.compile(rf"[{_CJK}]+|[0-9a-z]+")


def _is_cjk(run: str) -> bool:
    return bool(re.match(rf"[{_CJK}]", run))


def _cjk_tokens(run: str, singles: bool) -> list[str]:
    bigrams = [run[i:i + 2] for i in range(len(run) - 1)]
    if len(run) == 1:
        return [run]
    return bigrams + (list(run) if singles else [])


def tokenize(text: str, singles: bool = True) -> list[str]:
    """CJK runs as overlapping bigrams (and single characters when `singles`), latin and digits
    as lower-cased words. Order kept, duplicates kept."""
    tokens = []
    for run in _TOKEN.findall((text or "").lower()):
        tokens.extend(_cjk_tokens(run, singles) if _is_cjk(run) else [run])
    return tokens


def _matcher(term: str):
    """CJK terms match as substrings; latin terms as whole words ("MS" is not in "atoms")."""
    term = term.lower()
    if _is_cjk(term[0]):
        return lambda text: term in text
    return re.compile(rf"(?<![0-9a-z]){re.escape(term)}(?![0-9a-z])").search


_MATCHERS = [[_matcher(term) for term in group] for group in GLOSSARY]


def expand(text: str) -> str:
    """The text plus every glossary synonym of what it mentions."""
    lowered = (text or "").lower()
    extra = [term for group, matchers in zip(GLOSSARY, _MATCHERS, strict=True)
             if any(match(lowered) for match in matchers) for term in group]
    return " ".join([text or "", *extra])


def index_tokens(*texts: str) -> str:
    """Space-separated distinct tokens for the full-text index, glossary included."""
    return " ".join(dict.fromkeys(tokenize(expand(" ".join(texts)))))


def query_tokens(query: str) -> list[str]:
    """Tokens that must all match: bigrams for CJK runs, a lone character for one-character
    runs, latin words; distinct, in order."""
    return list(dict.fromkeys(tokenize((query or "")[:200], singles=False)))[:32]
