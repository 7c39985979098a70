"""What the meeting decider checks, one function per check (pure): each raises :class:`MeetingError` saying what
to do. Used by :mod:`domain.meetings`."""

from __future__ import annotations

import re
from typing import Any

from domain.legal_calendar import BEIJING
from domain.meeting_commands import DOORS_OPEN, MAX_OPTIONS, MAX_TITLE, STAFF, Decide, MeetingError
from domain.meeting_events import MeetingDecision, Option, vote_id
from domain.meeting_state import STATUS_ZH, Item, Meeting
from domain.topic_commands import when
from domain.topic_events import Actor

ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def text(value: str, limit: int, zh: str, en: str, *, required: bool = True) -> None:
    if required and not value.strip():
        raise MeetingError(f"请填写{zh}", f"the {en} is empty; fill it in")
    if len(value) > limit:
        raise MeetingError(f"{zh}最多 {limit} 字（现有 {len(value)} 字）",
                           f"the {en} has {len(value)} characters; at most {limit}")


def status(m: Meeting, allowed: tuple[str, ...], zh: str, en: str) -> None:
    if m.status not in allowed:
        raise MeetingError(f"议事会 {m.meeting_id} {STATUS_ZH[m.status]}，不能{zh}",
                           f"meeting {m.meeting_id} is {m.status or 'not scheduled'}; it cannot be {en}")


def staff(m: Meeting, by: Actor, zh: str, en: str) -> None:
    if by.kind not in STAFF:
        raise MeetingError(f"“{by.kind}”不能{zh}（可办理：{'、'.join(sorted(STAFF))}）",
                           f"'{by.kind}' cannot have the meeting {en} (allowed: {', '.join(sorted(STAFF))})")
    if by.kind not in ("street_office", "system") and by.community != m.community:
        raise MeetingError(f"议事会属于社区“{m.community}”，{by.name}（{by.community}）不能{zh}",
                           f"the meeting belongs to community '{m.community}'; {by.name} ({by.community}) cannot "
                           f"have it {en}")


def opened(m: Meeting, at: Any, zh: str, en: str) -> None:
    assert m.starts_at is not None
    if at < m.starts_at - DOORS_OPEN:
        raise MeetingError(f"议事会 {when(m.starts_at)} 开始，开始前两小时起才能{zh}",
                           f"the meeting starts {when(m.starts_at)}; it can be {en} from two hours before")


def item(m: Meeting, item_id: str) -> Item:
    if item_id not in m.items:
        listed = "、".join(m.items) or "—"
        raise MeetingError(f"议程中没有第 {item_id} 项（议程：{listed}）",
                           f"no agenda item {item_id} (items: {', '.join(m.items) or '—'})")
    return m.items[item_id]


def actor_via(m: Meeting, by: Actor, via: str, link: str | None, zh: str, en: str) -> None:
    """A link act is the party's own (or the door's); a clerk's act is staff's."""
    if via == "clerk":
        staff(m, by, zh, en)
    elif by.kind not in ("party", "resident") or not link:
        raise MeetingError(f"通过链接{zh}须由持链接者本人办理", f"{en} through a link is done by the link's holder")


def party(m: Meeting, party_id: str) -> None:
    if party_id not in m.parties:
        listed = "、".join(f"{p.party_id}（{p.name}）" for p in m.parties.values()) or "—"
        raise MeetingError(f"“{party_id}”不是本次议事会邀请的参会方（已邀请：{listed}）",
                           f"'{party_id}' is not a party invited to this meeting (invited: "
                           f"{', '.join(m.parties) or '—'})")


def check_options(options: tuple[Option, ...]) -> None:
    if len(options) > MAX_OPTIONS:
        raise MeetingError(f"一个议项最多 {MAX_OPTIONS} 个方案", f"an item has at most {MAX_OPTIONS} options")
    ids = [o.id for o in options]
    for o in options:
        if not ID.match(o.id):
            raise MeetingError(f"方案编号“{o.id[:40]}”只能用字母、数字、- 和 _（最多 32 个）",
                               f"option id '{o.id[:40]}' may use letters, digits, - and _ only (at most 32)")
        text(o.text, MAX_TITLE, f"方案 {o.id} 的内容", f"text of option {o.id}")
    if len(set(ids)) != len(ids):
        raise MeetingError("方案编号重复，请逐一区分", "option ids repeat; give each its own")


def check_consensus(item: Item, d: MeetingDecision, c: Decide) -> None:
    if item.options and d.option not in item.option_ids():
        raise MeetingError(f"请注明协商一致选定的方案（{'、'.join(item.option_ids())}）",
                           f"name the option agreed ({', '.join(item.option_ids())})")
    if (d.milestones or d.due) and not (d.owner or "").strip():
        raise MeetingError("有完成期限的决定须写明负责人（谁来做）",
                           "a decision with a deadline needs an owner (who does it)")
    today = c.at.astimezone(BEIJING).date()
    for name, due in ((ms.name, ms.due) for ms in d.milestones):
        text(name, MAX_TITLE, "节点名称", "milestone's name")
        if due < today:
            raise MeetingError(f"节点“{name}”的期限 {due} 早于会议日期 {today}，请更正",
                               f"milestone '{name}' is due {due}, before the meeting ({today}); correct it")
    if d.due is not None and d.due < today:
        raise MeetingError(f"完成期限 {d.due} 早于会议日期 {today}，请更正",
                           f"the deadline {d.due} is before the meeting ({today}); correct it")


def check_vote(m: Meeting, item: Item, d: MeetingDecision) -> None:
    text(d.question or "", MAX_TITLE, "表决事项", "question put to the vote")
    if item.options:
        unknown = [o for o in d.options if o not in item.option_ids()]
        if not d.options or unknown or len(set(d.options)) != len(d.options):
            bad = f"（“{'、'.join(unknown)}”不是其中之一）" if unknown else ""
            listed = "、".join(item.option_ids())
            raise MeetingError(f"请从第 {item.item_id} 项的方案（{listed}）中选出付诸表决的方案{bad}",
                               f"choose the options put to the vote among item {item.item_id}'s "
                               f"({', '.join(item.option_ids())})" + (f"; not {', '.join(unknown)}" if unknown else ""))
    elif d.options:
        raise MeetingError("该议项没有备选方案，表决就一个问题进行",
                           "the item has no options: the vote is on one question")
    expected = m.deliberation_id or vote_id(m.meeting_id, item.item_id)
    if d.deliberation_id != expected:
        raise MeetingError(f"表决编号应为 {expected}", f"the vote's deliberation id is {expected}")


