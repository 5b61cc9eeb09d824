"""Chinese analysis shared by both backends: dictionary, synonyms, stopwords, normalisation."""

import pytest

from search import analysis


@pytest.mark.parametrize(
    "word",
    ["青稞", "牦牛", "藏药", "唐卡", "光热", "冰湖溃决", "藏香猪", "弥散供氧", "微电网", "红景天", "沙棘", "冷链"],
)
def test_dictionary_words_stay_whole(word):
    text = f"拉萨{word}示范项目"
    assert word in analysis.query_tokens(text)
    assert word in analysis.tokens(text)


def test_index_side_also_keeps_the_parts_of_long_words():
    # search mode: a long word and the dictionary words inside it, so a short query finds it
    assert {"青稞", "青稞酒"} <= set(analysis.tokens("青稞酒酿造"))
    assert {"冰湖", "冰湖溃决"} <= set(analysis.tokens("冰湖溃决预警"))
    # the query side keeps what the user meant
    assert analysis.query_tokens("青稞酒酿造") == ["青稞酒", "酿造"]


def test_analyze_is_the_tokens_joined_by_spaces():
    assert analysis.analyze("光伏组件清洗") == " ".join(analysis.tokens("光伏组件清洗"))


def test_stopwords_and_punctuation_are_dropped():
    tokens = analysis.tokens("青稞的加工,以及牦牛和藏香猪的养殖!(试验)")
    assert "的" not in tokens
    assert "和" not in tokens
    assert "以及" not in tokens
    assert not any(t in tokens for t in ",!()")
    assert analysis.query_tokens("的 了 , 。") == []


def test_text_is_normalised_and_lower_cased():
    assert analysis.query_tokens("Solar ＰＶ １２３") == ["solar", "pv", "123"]


def test_patent_numbers_become_one_token_whatever_the_form():
    for written in ("ZL201710601862.3", "zl 201710601862.3", "CN201710601862.3", "201710601862.3", "201710601862"):
        assert analysis.query_tokens(written) == ["201710601862"], written
    assert "201710601862" in analysis.tokens("专利 ZL201710601862.3(发明)")


def test_synonym_groups_come_from_the_data_file():
    groups = analysis.synonym_groups()
    assert ["光伏", "太阳能发电", "太阳能电池", "光伏发电"] in groups
    assert all(len(group) >= 2 for group in groups)


@pytest.mark.parametrize(
    ("word", "synonym"),
    [
        ("光伏", "太阳能发电"),
        ("太阳能电池", "光伏"),
        ("冷链", "冷藏运输"),
        ("冷藏运输", "冷链物流"),
        ("藏药", "藏医药"),
        ("牦牛乳", "牦牛奶"),
        ("供氧", "制氧"),
        ("富氧", "供氧"),
        ("ai", "人工智能"),
    ],
)
def test_synonyms_expand_both_ways(word, synonym):
    (alternatives,) = analysis.expand([word])
    assert alternatives[0] == word
    assert synonym in alternatives


def test_synonym_words_are_single_tokens():
    # otherwise the expansion could never match: every member is in the segmenter's dictionary
    for group in analysis.synonym_groups():
        for member in group:
            assert analysis.query_tokens(member) == [member], member


def test_words_without_synonyms_expand_to_themselves():
    assert analysis.expand(["酿造", "青稞"]) == [["酿造"], ["青稞"]]


def test_subwords_of_a_long_word():
    assert set(analysis.subwords("太阳能发电")) >= {"太阳能", "发电"}
    assert analysis.subwords("青稞") == []


def test_domain_terms_are_the_dictionary():
    terms = analysis.domain_terms()
    assert len(terms) >= 300
    assert {"青稞", "冰湖溃决", "弥散供氧", "藏香猪"} <= set(terms)


def test_related_terms_are_one_way_and_shared_by_synonyms():
    # 储能 → 蓄热 and 锂电池; a query for 蓄热 does not want batteries.
    assert {("蓄热",), ("锂电池",)} <= set(analysis.related("储能"))
    assert ("储能",) not in analysis.related("蓄热")
    assert ("锂电池",) not in analysis.related("蓄热")
    # 高原反应 and 高原病 are synonyms: both look for 缺氧 and 制氧机.
    assert analysis.related("高原反应") == analysis.related("高原病")
    assert {("缺氧",), ("制氧机",)} <= set(analysis.related("高原病"))
    assert analysis.related("青稞酿造工艺学") == ()


def test_related_terms_leave_out_what_the_word_already_matches():
    # 冰湖 is a part of 冰湖溃决 (matched anyway), 冰川 is not.
    related = analysis.related("冰湖溃决")
    assert ("冰川",) in related
    assert ("冰湖",) not in related
    # a term of several words needs them all; one that is a superset of another is dropped (抗 + 缺氧 ⊃ 缺氧)
    assert ("抗", "缺氧") not in analysis.related("高原反应")
    assert all(words and all(words) for words in analysis.related("饮用水"))


def test_every_line_of_the_related_file_is_well_formed():
    mapping = analysis.related_map()
    assert len(mapping) >= 100
    for term, targets in mapping.items():
        assert term and targets and term not in targets, term
