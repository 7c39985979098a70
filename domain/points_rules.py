"""What a points rule may say, and what an award under it is worth (pure, exact integers).

**Never for how anyone voted.** A rule, its conditions, and the facts an award states may not refer to a ballot's
content: no condition or fact names a choice, an option, a question or a candidate, or has a choice as its value
(赞成/反对/弃权, for/against/abstain), and no rule's name or description speaks of voting one way. Points for
taking part in a vote (``vote_participation``) exist only while the community has turned them on (off by default),
count the fact of taking part (one award per person per deliberation, whatever the ballot said), and take no
conditions at all. The service that awards them reads whether an owner has a ballot in the stream, never which.

Hours: a per-hour rule gives ``floor(minutes × points / 60)`` for a source's total minutes; a part of a point is
not given (50 minutes at 10 points an hour: 8 points). Corrections recompute from the total, so the points of a
source always equal that formula over its minutes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from domain.errors import N_, DomainError, Items
from domain.points_events import Rule

BALLOT_TERMS = ("choice", "choose", "chosen", "vote", "voted", "voting", "ballot", "option", "question", "candidate",
                "approve", "approval", "reject", "against", "abstain", "favour", "favor", "outcome", "result",
                "投票", "表决", "选票", "赞成", "反对", "弃权", "同意", "不同意", "选项", "选择", "候选", "结果")
"""Words a condition or fact key may not contain: every way to point at what a ballot said."""
CHOICE_VALUES = ("for", "against", "abstain", "yes", "no", "approve", "approved", "reject", "rejected",
                 "赞成", "反对", "弃权", "同意", "不同意", "支持")
"""Values that are a ballot's choice (a condition ``x = for`` is a choice whatever its key)."""
PHRASES = ("赞成票", "反对票", "弃权票", "投赞成", "投反对", "投弃权", "投了赞成", "投了反对", "投同意", "投不同意",
           "按投票结果", "按表决结果", "voted for", "voted against", "vote for", "vote against", "votes for",
           "votes against", "voting for", "voting against", "in favour", "in favor", "abstained",
           "how they voted", "how he voted", "how she voted", "ballot choice", "ballot content")
"""Phrases of a rule's name or description that speak of voting one way (participation is fine: 参与投票)."""


class PointsError(DomainError):
    """A points command is refused; the message says why and what to do."""


class RuleError(PointsError):
    """A rule (or an award under it) is refused; the message says what to change."""


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().strip()


def _key_refers_to_ballot(key: str) -> str | None:
    """The ballot term ``key`` contains: a Chinese term anywhere, an English one as a word or a word's start
    (``votes``, ``choice_id``, ``candidateName``)."""
    folded = _norm(re.sub(r"([a-z])([A-Z])", r"\1_\2", key))
    words = [w for w in re.split(r"[^0-9a-z]+", folded) if w]
    for term in BALLOT_TERMS:
        if term.isascii():
            if any(word.startswith(term) for word in words):
                return term
        elif term in folded:
            return term
    return None


def ballot_reference(facts: Mapping[str, str]) -> str | None:
    """The first key or value of ``facts`` (a rule's conditions, an award's facts) that refers to a ballot's
    content, described, or None."""
    for key, value in facts.items():
        if (term := _key_refers_to_ballot(key)) is not None:
            return f"{key} ({term})"
        if _norm(value) in CHOICE_VALUES:
            return f"{key}={value}"
    return None


def phrase_about_ballot(text: str) -> str | None:
    folded = _norm(text)
    return next((p for p in PHRASES if p in folded), None)


def check_rule(rule: Rule) -> None:
    """Refuse a rule that refers to ballot content, or a participation rule with conditions or per hour."""
    found = ballot_reference(rule.conditions)
    if found is not None:
        raise RuleError(N_("rule '%(rule_id)s': condition '%(found)s' refers to what a ballot said; points never "
                           "depend on how anyone voted: remove the condition"), rule_id=rule.rule_id, found=found)
    for text in (rule.name_zh, rule.name_en, rule.description):
        if (phrase := phrase_about_ballot(text)) is not None:
            raise RuleError(N_("rule '%(rule_id)s': its name or description says '%(phrase)s', about how someone "
                               "voted; rewrite it (taking part may earn points, the choice never)"),
                            rule_id=rule.rule_id, phrase=phrase)
    if rule.basis == "vote_participation" and (rule.conditions or rule.per != "occasion"):
        raise RuleError(N_("rule '%(rule_id)s': points for taking part in a vote count taking part, once: no "
                           "conditions, not per hour"), rule_id=rule.rule_id)
    if rule.per == "hour" and rule.basis != "volunteer_hours":
        raise RuleError(N_("rule '%(rule_id)s': only volunteer hours are counted per hour"), rule_id=rule.rule_id)


def check_facts(rule: Rule, facts: Mapping[str, str]) -> None:
    """An award's facts: none about ballot content, and every condition of its rule stated with its value."""
    found = ballot_reference(facts)
    if found is not None:
        raise RuleError(N_("the award states '%(found)s', about what a ballot said; points never depend on how "
                           "anyone voted"), found=found)
    if rule.basis == "vote_participation" and facts:
        raise RuleError(N_("points for taking part in a vote state no facts"))
    missing = [f"{k}={v}" for k, v in rule.conditions.items() if facts.get(k) != v]
    if missing:
        raise RuleError(N_("rule '%(rule_id)s' requires %(missing)s; this award does not state it: check, or "
                           "choose another rule"), rule_id=rule.rule_id, missing=Items(missing))


def occasion_points(rule: Rule, quantity: int, party_member: bool) -> tuple[int, int]:
    """``(points, 先锋指数)`` for ``quantity`` occasions (the index only for party members)."""
    return rule.points * quantity, (rule.pioneer * quantity if party_member else 0)


def hour_points(points_per_hour: int, minutes: int) -> int:
    """``floor(minutes × points_per_hour / 60)``: whole points only, exact."""
    return (minutes * points_per_hour) // 60


def hours_points(rule: Rule, minutes: int, party_member: bool) -> tuple[int, int]:
    """``(points, 先锋指数)`` for a source's total ``minutes`` under a per-hour rule."""
    return hour_points(rule.points, minutes), (hour_points(rule.pioneer, minutes) if party_member else 0)
