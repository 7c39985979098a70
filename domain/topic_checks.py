"""Checks shared by the topic rules (pure): non-empty bounded text, the topic's status, who may act."""

from __future__ import annotations

from collections.abc import Collection

from domain.topic_commands import TopicError
from domain.topic_events import Actor
from domain.topic_state import Topic

STATUS_ZH = {"raised": "待领题", "taken": "已领题", "scheduled": "已列入议程", "decided": "已作出决定",
             "voting": "表决中", "following_up": "落实中", "routed": "已转办", "resolved": "已办结、征求评价",
             "declined": "未受理", "merged": "已合并", "closed": "已关闭", "new": "未提出"}
SYSTEM = Actor(kind="system", name="workflow", community="")


def bounded(value: str, limit: int, zh: str, en: str) -> str:
    text = value.strip()
    if not text:
        raise TopicError(f"请填写{zh}", f"the {en} is empty; fill it in")
    if len(text) > limit:
        raise TopicError(f"{zh}最多 {limit} 字（现有 {len(text)} 字）", f"the {en} has {len(text)} characters; "
                         f"at most {limit}")
    return text


def in_status(t: Topic, statuses: Collection[str], zh: str, en: str) -> None:
    if t.status not in statuses:
        now = STATUS_ZH.get(t.status, t.status)
        raise TopicError(f"议题 {t.topic_id} 当前为“{now}”，不能{zh}", f"topic {t.topic_id} is {t.status}; it cannot "
                         f"be {en} now")


def by_staff(t: Topic, by: Actor, kinds: Collection[str], zh: str, en: str) -> None:
    if by.kind not in kinds:
        raise TopicError(f"“{by.kind}”不能{zh}（可办理：{'、'.join(sorted(kinds))}）",
                         f"'{by.kind}' cannot have a topic {en} (allowed: {', '.join(sorted(kinds))})")
    if by.kind not in ("street_office", "system") and by.community != t.community:
        raise TopicError(f"议题属于社区“{t.community}”，{by.name}（{by.community}）不能{zh}",
                         f"the topic belongs to community '{t.community}'; {by.name} ({by.community}) cannot have it "
                         f"{en}")


def not_finished(t: Topic, zh: str, en: str) -> None:
    if t.finished:
        where = f"，已并入议题 {t.merged_into}，请到该议题{zh}" if t.merged_into else ""
        there = f"; it was merged into {t.merged_into}: {en} that one" if t.merged_into else ""
        raise TopicError(f"议题 {t.topic_id} 已{STATUS_ZH[t.status]}{where}", f"topic {t.topic_id} is "
                         f"{t.status}{there}")
