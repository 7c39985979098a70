""""Already raised: join it": the character-bigram Jaccard similarity and its threshold (domain/similarity.py)."""

from __future__ import annotations

from fractions import Fraction

from domain.similarity import THRESHOLD, Candidate, bigrams, jaccard, normalise, same_place, similar_topics

OPEN = [
    Candidate(topic_id="topic-a", community="xfl", title="3号楼电梯经常停运", description="一周停了三次，老人下不了楼",
              building="3号楼"),
    Candidate(topic_id="topic-b", community="xfl", title="小区南门停车混乱", description="晚上车停到消防通道上"),
    Candidate(topic_id="topic-c", community="xfl", title="5号楼电梯经常停运", description="电梯按钮失灵",
              building="5号楼"),
    Candidate(topic_id="topic-d", community="lhy", title="3号楼电梯经常停运", description="同一标题，另一个社区"),
    Candidate(topic_id="topic-e", community="xfl", title="垃圾分类点太臭", description="夏天味道很大"),
]


def ids(found: list[tuple[Candidate, Fraction]]) -> list[str]:
    return [c.topic_id for c, _ in found]


def test_normalise_folds_width_case_and_chinese_numerals() -> None:
    assert normalise("３号楼 Elevator！") == "3号楼elevator"
    assert normalise("三号楼") == "3号楼"
    assert bigrams("电梯") == frozenset({"电梯"}) and bigrams("电") == frozenset({"电"})
    assert bigrams("，") == frozenset()


def test_jaccard_is_exact() -> None:
    assert jaccard(bigrams("电梯停运"), bigrams("电梯停运")) == 1
    assert jaccard(bigrams("电梯停运"), bigrams("电梯坏了")) == Fraction(1, 5)
    assert jaccard(frozenset(), bigrams("x")) == 0


def test_the_same_problem_in_other_words_is_found() -> None:
    found = similar_topics("xfl", "三号楼电梯又停运了", "经常停，老人上下楼困难", "3栋", OPEN)
    assert ids(found) == ["topic-a"], "same building, same problem; 5号楼 and another community are left out"
    assert found[0][1] >= THRESHOLD


def test_unrelated_topics_are_not_shown() -> None:
    assert similar_topics("xfl", "楼道灯不亮", "2单元晚上一片黑", None, OPEN) == []
    assert ids(similar_topics("xfl", "南门停车太乱", "车辆乱停", None, OPEN)) == ["topic-b"]


def test_a_topic_without_a_building_matches_any_building() -> None:
    found = similar_topics("xfl", "电梯经常停运", "", None, OPEN)
    assert set(ids(found)) == {"topic-a", "topic-c"} and found[0][1] == found[1][1]
    assert ids(found) == ["topic-a", "topic-c"], "ties in topic id order"


def test_buildings_compare_by_number() -> None:
    assert same_place("3号楼", "三号楼") and same_place("3栋", "3号楼") and same_place(None, "5号楼")
    assert not same_place("3号楼", "5号楼")


def test_threshold_is_inclusive_and_a_fraction() -> None:
    assert isinstance(THRESHOLD, Fraction)
    exactly = Candidate(topic_id="t", community="x", title="ab cd", description="")
    # "abce" against "abcd": bigrams {ab, bc, ce} vs {ab, bc, cd} -> 2/4 = 1/2
    assert ids(similar_topics("x", "abce", "", None, [exactly], threshold=Fraction(1, 2))) == ["t"]
    assert similar_topics("x", "abce", "", None, [exactly], threshold=Fraction(1, 2) + Fraction(1, 1000)) == []
