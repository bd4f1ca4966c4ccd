from booking.instruments.search import expand, index_tokens, query_tokens, tokenize


def test_cjk_runs_become_bigrams_and_single_characters():
    assert tokenize("电子显微镜") == ["电子", "子显", "显微", "微镜", "电", "子", "显", "微", "镜"]


def test_latin_words_are_lower_cased_and_split_on_punctuation():
    assert tokenize("Hitachi SU8010, ICP-MS") == ["hitachi", "su8010", "icp", "ms"]


def test_mixed_text_splits_at_script_changes():
    assert tokenize("X射线", singles=False) == ["x", "射线"]


def test_two_character_query_is_one_bigram():
    assert query_tokens("电镜") == ["电镜"]
    assert query_tokens("  核磁 ") == ["核磁"]


def test_single_character_query_is_kept():
    assert query_tokens("镜") == ["镜"]


def test_query_without_words_has_no_tokens():
    assert query_tokens("!!! ，。") == []


def test_full_name_is_indexed_under_its_abbreviation():
    tokens = index_tokens("场发射扫描电子显微镜").split()
    assert {"电镜", "sem", "扫描"} <= set(tokens)


def test_abbreviation_is_indexed_under_the_full_name():
    tokens = set(index_tokens("Bruker AVANCE NMR").split())
    assert {"核磁", "磁共", "共振"} <= tokens


def _finds(document: str, query: str) -> bool:
    return set(query_tokens(query)) <= set(index_tokens(document).split())


def test_glossary_pairs_from_the_issue_work_both_ways():
    pairs = [("电子显微镜", "电镜"), ("核磁共振", "核磁"), ("扫描电子显微镜", "SEM"),
             ("透射电子显微镜", "TEM"), ("X射线衍射仪", "XRD"), ("电感耦合等离子体质谱仪", "ICP-MS")]
    for full, short in pairs:
        assert _finds(full, short) and _finds(short, full), (full, short)


def test_two_character_queries_find_full_instrument_names():
    assert _finds("核磁共振波谱仪 400MHz", "核磁")
    assert _finds("高效液相色谱仪", "液相")
    assert _finds("电感耦合等离子体质谱仪", "质谱")
    assert _finds("场发射扫描电子显微镜", "电镜")
    assert not _finds("X射线衍射仪", "电镜")


def test_latin_glossary_terms_match_whole_words_only():
    assert "质谱" not in expand("atoms and molecules")
    assert "质谱" in expand("LC-MS/MS")


def test_index_tokens_are_distinct():
    tokens = index_tokens("电镜 电镜 电镜").split()
    assert len(tokens) == len(set(tokens))
