"""Has this been raised already? Character-bigram Jaccard similarity of topics (pure, exact).

Before a resident submits, the open topics of the same community that read alike are shown ("already raised:
join it" adds support instead of a duplicate). Text is normalised (NFKC: full-width letters and digits become
half-width; case folded; Chinese numerals of buildings read as digits; whitespace and punctuation dropped) and
cut into overlapping pairs of characters, which works for Chinese without a word segmenter. The score is the
larger of the Jaccard index of the titles and of title + description (a short title is the strongest signal; a
long description dilutes it), as an exact :class:`~fractions.Fraction`. Two topics naming different buildings
are never similar.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from fractions import Fraction

from pydantic import BaseModel, ConfigDict

THRESHOLD = Fraction(1, 3)
"""Scores at or above this are shown as "already raised" (tests/domain/test_topic_similarity.py calibrates it)."""
MAX_SHOWN = 5
_NUMERALS = str.maketrans("〇一二三四五六七八九", "0123456789")


class Candidate(BaseModel):
    """An open topic as the similarity lookup reads it."""

    model_config = ConfigDict(frozen=True)
    topic_id: str
    community: str
    title: str
    description: str = ""
    building: str | None = None


def normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_NUMERALS)
    return "".join(ch for ch in folded if ch.isalnum())


def bigrams(text: str) -> frozenset[str]:
    """Overlapping character pairs of the normalised text (a one-character text is its own bigram)."""
    norm = normalise(text)
    if len(norm) < 2:
        return frozenset((norm,)) if norm else frozenset()
    return frozenset(norm[i:i + 2] for i in range(len(norm) - 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> Fraction:
    if not a or not b:
        return Fraction(0)
    return Fraction(len(a & b), len(a | b))


def similarity(title_a: str, text_a: str, title_b: str, text_b: str) -> Fraction:
    """The larger of the titles' Jaccard index and that of title + description."""
    return max(jaccard(bigrams(title_a), bigrams(title_b)),
               jaccard(bigrams(f"{title_a} {text_a}"), bigrams(f"{title_b} {text_b}")))


def same_place(building_a: str | None, building_b: str | None) -> bool:
    """Buildings only keep two topics apart when both name one and they differ."""
    if not building_a or not building_b:
        return True
    return normalise(building_a).removesuffix("号楼").removesuffix("栋") == \
        normalise(building_b).removesuffix("号楼").removesuffix("栋")


def similar_topics(community: str, title: str, description: str, building: str | None,
                   open_topics: Iterable[Candidate], threshold: Fraction = THRESHOLD,
                   limit: int = MAX_SHOWN) -> list[tuple[Candidate, Fraction]]:
    """The open topics of ``community`` that read like this one, most alike first (ties: topic id)."""
    found = []
    for topic in open_topics:
        if topic.community != community or not same_place(building, topic.building):
            continue
        score = similarity(title, description, topic.title, topic.description)
        if score >= threshold:
            found.append((topic, score))
    found.sort(key=lambda pair: (-pair[1], pair[0].topic_id))
    return found[:limit]
