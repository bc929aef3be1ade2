import pytest
from hypothesis import given
from hypothesis import strategies as st

from capture import DEFAULT_KEYWORDS, KeywordMatcher
from tests.capture.conftest import fuzz


def test_default_keywords_with_context():
    text = "王经理说这次可以给最低价，另外返点3%，不要走私单。"
    matches = KeywordMatcher().find(text, context=3)
    assert [(m.keyword, text[m.start : m.end]) for m in matches] == [
        ("最低价", "最低价"), ("返点", "返点"), ("私单", "私单"),
    ]
    assert matches[0].context == "可以给最低价，另外"
    assert text[matches[0].context_start :].startswith(matches[0].context)


def test_longest_keyword_wins_and_matches_do_not_overlap():
    matcher = KeywordMatcher(["低价", "最低价", "价格"])
    assert [m.keyword for m in matcher.find("最低价格")] == ["最低价"]


def test_latin_keywords_match_any_case_and_report_the_configured_form():
    matcher = KeywordMatcher(["VIP", "rebate", "折扣"])
    assert [m.keyword for m in matcher.find("Vip client asked for a REBATE and 折扣")] == ["VIP", "rebate", "折扣"]


def test_regex_characters_are_literal():
    matcher = KeywordMatcher(["a.b", "(x)", "9折"])
    assert [m.keyword for m in matcher.find("axb a.b (x) 9折 x")] == ["a.b", "(x)", "9折"]


def test_context_at_the_edges_and_no_match():
    matcher = KeywordMatcher()
    [match] = matcher.find("折扣", context=50)
    assert (match.context, match.context_start) == ("折扣", 0)
    assert matcher.find("nothing here") == [] and not matcher.contains("")


@pytest.mark.parametrize("keywords", [[], ["", "  "], ["x" * 101]])
def test_bad_rule_sets_are_refused(keywords):
    with pytest.raises(ValueError):
        KeywordMatcher(keywords)


def test_negative_context_is_refused():
    with pytest.raises(ValueError):
        KeywordMatcher().find("折扣", context=-1)


def test_many_keywords():
    keywords = [f"词{i}" for i in range(5000)] + list(DEFAULT_KEYWORDS)
    text = "开头 词4999 中间 优惠 结尾 词12"
    assert [m.keyword for m in KeywordMatcher(keywords).find(text)] == ["词4999", "优惠", "词12"]


@fuzz(200)
@given(st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=10), st.text(max_size=300))
def test_every_match_is_a_keyword_in_the_text(keywords, text):
    try:
        matcher = KeywordMatcher(keywords)
    except ValueError:
        return
    last_end = 0
    for m in matcher.find(text, context=5):
        assert m.start >= last_end
        assert text[m.start : m.end].lower() == m.keyword.lower()
        assert m.context == text[m.context_start : m.end + 5]
        last_end = m.end
