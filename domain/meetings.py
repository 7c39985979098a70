"""Meetings (议事会 / 周末议事厅 / 民声七点办): the decider (pure).

A meeting is scheduled (once, or as an occurrence of a series) with a place, an agenda (taken topics or free items,
each with options where there is a choice to make) and invited parties. Before and at the meeting each party
states its position per item through its invitation link; at the meeting attendance is signed (the door's QR link
or the clerk) and the clerk records the minutes per item and a decision: consensus (what, who, by when,
milestones), a vote (the existing ballot box over the options agreed), escalated (吹哨: a ticket) or deferred. The
clerk closes the session (held); the parties confirm the minutes through their links until the confirmation window
ends; the minutes are published when every party has confirmed, or at the window's end with those who had not
listed as such. A correction after the session is a new version that needs confirming again: nothing is rewritten.

:func:`decide` returns the events to append (``[]`` when a retried command changes nothing) or raises
:class:`MeetingError` saying what to do. Time is passed in (``at``); deadlines are computed outside and passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain import meeting_checks as checks
from domain.meeting_commands import (
    MAX_ITEMS,
    MAX_MINUTES,
    MAX_NAME,
    MAX_PARTIES,
    MAX_PLACE,
    MAX_REASON,
    MAX_TEXT,
    MAX_TITLE,
    AddItem,
    Cancel,
    Confirm,
    Decide,
    Hold,
    Invite,
    MeetingCommand,
    MeetingError,
    NoteVote,
    Publish,
    RecordMinutes,
    Schedule,
    SignAttendance,
    StatePosition,
)
from domain.meeting_events import (
    DOOR,
    AgendaItemAdded,
    AttendanceSigned,
    ConfirmationReopened,
    DecisionRecorded,
    ItemVoteCounted,
    MeetingCancelled,
    MeetingEvent,
    MeetingHeld,
    MinutesConfirmed,
    MinutesPublished,
    MinutesRecorded,
    PartyInvited,
    PositionStated,
    ticket_id,
)
from domain.meeting_state import Meeting
from domain.topic_commands import when


def schedule(m: Meeting, c: Schedule) -> list[MeetingEvent]:
    e = c.event
    if m.status:
        if m.meeting_id == e.meeting_id and m.title == e.title and m.starts_at == e.starts_at:
            return []
        raise MeetingError(f"议事会 {m.meeting_id} 已安排", f"meeting {m.meeting_id} is scheduled already")
    if not e.meeting_id.startswith("meeting-"):
        raise MeetingError("议事会编号应以 meeting- 开头", "a meeting id starts with 'meeting-'")
    checks.text(e.title, MAX_TITLE, "会议名称", "title")
    checks.text(e.place, MAX_PLACE, "地点", "place")
    if e.starts_at < c.at:
        raise MeetingError(f"开始时间 {when(e.starts_at)} 已过，请选择以后的时间",
                           f"the start {when(e.starts_at)} has passed; choose a later time")
    checks.staff(Meeting(meeting_id=e.meeting_id, community=e.community), e.by, "安排议事会", "scheduled")
    return [e]


def add_item(m: Meeting, c: AddItem) -> list[MeetingEvent]:
    checks.status(m, ("scheduled",), "增加议程", "given an agenda item")
    checks.staff(m, c.by, "增加议程", "given an agenda item")
    if c.topic_id is not None and any(i.topic_id == c.topic_id for i in m.items.values()):
        return []  # the topic is on the agenda already (a retried step)
    checks.text(c.title, MAX_TITLE, "议项名称", "item title")
    checks.check_options(c.options)
    if len(m.items) >= MAX_ITEMS:
        raise MeetingError(f"一次议事会最多 {MAX_ITEMS} 个议项", f"a meeting has at most {MAX_ITEMS} items")
    return [AgendaItemAdded(at=c.at, item_id=str(len(m.items) + 1), title=c.title.strip(), topic_id=c.topic_id,
                            options=c.options, by=c.by)]


def invite(m: Meeting, c: Invite) -> list[MeetingEvent]:
    checks.status(m, ("scheduled",), "邀请参会方", "given an invitation")
    checks.staff(m, c.by, "邀请参会方", "given an invitation")
    p = c.party
    known = m.parties.get(p.party_id)
    if known is not None:
        if (known.kind, known.name) == (p.kind, p.name):
            return []
        raise MeetingError(f"参会方编号 {p.party_id} 已用于“{known.name}”，请换一个",
                           f"party id {p.party_id} is taken by '{known.name}'; choose another")
    if not checks.ID.match(p.party_id) or p.party_id == DOOR:
        raise MeetingError("参会方编号只能用字母、数字、- 和 _（不能是 door）",
                           "a party id may use letters, digits, - and _ only (and is not 'door')")
    checks.text(p.name, MAX_NAME, "参会方名称", "party's name")
    if len(m.parties) >= MAX_PARTIES:
        raise MeetingError(f"一次议事会最多邀请 {MAX_PARTIES} 方", f"a meeting invites at most {MAX_PARTIES} parties")
    return [PartyInvited(at=c.at, party=p.model_copy(update={"name": p.name.strip()}), link_subject=c.link_subject,
                         by=c.by)]


def state_position(m: Meeting, c: StatePosition) -> list[MeetingEvent]:
    checks.status(m, ("scheduled",), "陈述意见", "given positions")
    checks.actor_via(m, c.by, c.via, c.link_sha256, "陈述意见", "stating a position")
    checks.party(m, c.party_id)
    item = checks.item(m, c.item_id)
    if item.decision is not None:
        raise MeetingError(f"第 {c.item_id} 项已作出决定，不再收集意见",
                           f"item {c.item_id} has been decided; positions are closed")
    if c.option is not None and c.option not in item.option_ids():
        raise MeetingError(f"第 {c.item_id} 项的方案为：{'、'.join(item.option_ids()) or '无'}；“{c.option}”不在其中",
                           f"item {c.item_id}'s options are {', '.join(item.option_ids()) or 'none'}; "
                           f"'{c.option}' is not one of them")
    checks.text(c.text, MAX_TEXT, "意见", "position", required=c.option is None)
    current = item.positions.get(c.party_id)
    if current is not None and (current.option, current.text) == (c.option, c.text.strip()):
        return []
    return [PositionStated(at=c.at, party_id=c.party_id, item_id=c.item_id, option=c.option, text=c.text.strip(),
                           via=c.via, link_sha256=c.link_sha256, by=c.by)]


def sign_attendance(m: Meeting, c: SignAttendance) -> list[MeetingEvent]:
    checks.status(m, ("scheduled",), "签到", "signed in to")
    checks.opened(m, c.at, "签到", "signed in to")
    checks.actor_via(m, c.by, c.via, c.link_sha256, "签到", "signing in")
    if c.party_id is not None:
        checks.party(m, c.party_id)
        if c.party_id in m.attendees:
            return []
        name = c.name.strip() or m.parties[c.party_id].name
        attendee = c.party_id
    else:
        if c.via == "link":
            raise MeetingError("请用本方的邀请链接签到", "sign in through your own party's invitation link")
        checks.text(c.name, MAX_NAME, "签到人姓名", "attendee's name")
        name = c.name.strip()
        if any(a.party_id is None and a.name == name for a in m.attendees.values()):
            return []
        attendee = f"guest-{sum(1 for a in m.attendees.values() if a.party_id is None) + 1}"
    checks.text(name, MAX_NAME, "签到人姓名", "attendee's name")
    return [AttendanceSigned(at=c.at, attendee_id=attendee, party_id=c.party_id, name=name, via=c.via,
                             link_sha256=c.link_sha256, by=c.by)]


def record_minutes(m: Meeting, c: RecordMinutes) -> list[MeetingEvent]:
    checks.status(m, ("scheduled", "held"), "记录纪要", "given minutes")
    checks.opened(m, c.at, "记录纪要", "given minutes")
    checks.staff(m, c.by, "记录纪要", "given minutes")
    item = checks.item(m, c.item_id)
    checks.text(c.text, MAX_MINUTES, "纪要", "minutes")
    text = c.text.strip()
    if item.minutes and item.minutes[-1] == text:
        return []
    version = m.minutes_version + 1
    events: list[MeetingEvent] = [MinutesRecorded(at=c.at, item_id=c.item_id, version=len(item.minutes) + 1,
                                                  minutes_version=version, text=text, by=c.by)]
    if m.status == "held":
        if c.confirm_until is None or c.confirm_until <= c.at:
            raise MeetingError("会后修改纪要须重新确认：缺少新的确认截止时间",
                               "minutes corrected after the session need a new confirmation deadline")
        events.append(ConfirmationReopened(at=c.at, minutes_version=version, confirm_until=c.confirm_until,
                                           fallback_years=c.fallback_years))
    return events


def decide_item(m: Meeting, c: Decide) -> list[MeetingEvent]:
    checks.status(m, ("scheduled",), "记录决定", "given decisions")
    checks.opened(m, c.at, "记录决定", "given decisions")
    checks.staff(m, c.by, "记录决定", "given decisions")
    item, d = checks.item(m, c.item_id), c.decision
    if item.decision is not None:
        if item.decision == d:
            return []
        raise MeetingError(f"第 {c.item_id} 项已决定（{item.decision.kind}）；决定不能改写，请在纪要中说明或下次再议",
                           f"item {c.item_id} is decided ({item.decision.kind}); a decision is not rewritten: say so "
                           "in the minutes or take it to a next meeting")
    checks.text(d.summary, MAX_TEXT if d.kind != "deferred" else MAX_REASON, "决定内容", "decision's summary")
    if d.kind == "consensus":
        checks.check_consensus(item, d, c)
    elif d.kind == "vote":
        checks.check_vote(m, item, d)
    elif d.kind == "escalated" and d.ticket_id != ticket_id(m.meeting_id, item.item_id):
        raise MeetingError(f"工单编号应为 {ticket_id(m.meeting_id, item.item_id)}",
                           f"the ticket id is {ticket_id(m.meeting_id, item.item_id)}")
    return [DecisionRecorded(at=c.at, item_id=c.item_id, decision=d, minutes_version=m.minutes_version + 1, by=c.by)]


def note_vote(m: Meeting, c: NoteVote) -> list[MeetingEvent]:
    item = checks.item(m, c.item_id)
    if item.decision is None or item.decision.kind != "vote" or item.decision.deliberation_id != c.deliberation_id:
        raise MeetingError(f"第 {c.item_id} 项没有付诸表决 {c.deliberation_id}",
                           f"item {c.item_id} was not put to the vote {c.deliberation_id}")
    if item.vote is not None:
        return []
    return [ItemVoteCounted(at=c.at, item_id=c.item_id, deliberation_id=c.deliberation_id, outcomes=c.outcomes,
                            winner=c.winner, reason=c.reason, tied=c.tied, head_seq=c.head_seq,
                            head_hash=c.head_hash)]


def hold(m: Meeting, c: Hold) -> list[MeetingEvent]:
    checks.status(m, ("scheduled",), "结束会议", "closed")
    checks.opened(m, c.at, "结束会议", "closed")
    checks.staff(m, c.by, "结束会议", "closed")
    if not m.items:
        raise MeetingError("议程为空：请先登记讨论的议项", "the agenda is empty: add the items discussed first")
    if undecided := m.undecided():
        raise MeetingError(f"第 {'、'.join(undecided)} 项尚无决定：请记录决定（未及讨论的记为下次再议）",
                           f"items {', '.join(undecided)} have no decision: record one (defer those not reached)")
    if c.confirm_until <= c.at:
        raise MeetingError("纪要确认截止时间须晚于现在", "the confirmation deadline must be later than now")
    return [MeetingHeld(at=c.at, minutes_version=m.minutes_version, attendees=len(m.attendees),
                        confirm_until=c.confirm_until, fallback_years=c.fallback_years, by=c.by)]


def confirm(m: Meeting, c: Confirm) -> list[MeetingEvent]:
    checks.status(m, ("held",), "确认纪要", "given confirmations")
    checks.actor_via(m, c.by, c.via, c.link_sha256, "确认纪要", "confirming the minutes")
    checks.party(m, c.party_id)
    if c.minutes_version != m.minutes_version:
        raise MeetingError(f"纪要已更新为第 {m.minutes_version} 版，请重新阅读后确认",
                           f"the minutes are now version {m.minutes_version}; read them again, then confirm")
    if m.confirmed.get(c.party_id) == c.minutes_version:
        return []
    return [MinutesConfirmed(at=c.at, party_id=c.party_id, minutes_version=c.minutes_version, via=c.via,
                             link_sha256=c.link_sha256, by=c.by)]


def publish(m: Meeting, c: Publish) -> list[MeetingEvent]:
    checks.status(m, ("held",), "公布纪要", "published")
    missing = m.unconfirmed()
    assert m.confirm_until is not None
    if missing and c.at < m.confirm_until:
        names = "、".join(m.parties[p].name for p in missing)
        raise MeetingError(f"{names} 尚未确认第 {m.minutes_version} 版纪要；{when(m.confirm_until)} 确认期满后公布",
                           f"{', '.join(missing)} have not confirmed version {m.minutes_version} of the minutes; "
                           f"they are published when the window ends, {when(m.confirm_until)}")
    return [MinutesPublished(at=c.at, minutes_version=m.minutes_version, confirmed=m.confirmed_now(),
                             unconfirmed=missing, reason="window_ended" if missing else "all_confirmed")]


def cancel(m: Meeting, c: Cancel) -> list[MeetingEvent]:
    checks.status(m, ("scheduled",), "取消", "cancelled")
    checks.staff(m, c.by, "取消议事会", "cancelled")
    checks.text(c.reason, MAX_REASON, "取消理由", "reason")
    if any(i.decision is not None for i in m.items.values()):
        raise MeetingError("已记录决定的议事会不能取消：请结束会议",
                           "decisions are recorded: close the meeting instead")
    return [MeetingCancelled(at=c.at, reason=c.reason.strip(), by=c.by)]


RULES: dict[str, Callable[[Meeting, Any], list[MeetingEvent]]] = {
    "schedule": schedule, "add_item": add_item, "invite": invite, "state_position": state_position,
    "sign_attendance": sign_attendance, "record_minutes": record_minutes, "decide": decide_item,
    "note_vote": note_vote, "hold": hold, "confirm": confirm, "publish": publish, "cancel": cancel}


__all__ = ["MeetingError", "decide"]


def decide(m: Meeting, command: MeetingCommand) -> list[MeetingEvent]:
    """The events ``command`` produces on ``m``; raises :class:`MeetingError` when it is refused."""
    if command.kind != "schedule" and not m.status:
        raise MeetingError("没有这个议事会；请核对编号", "no such meeting; check the meeting id")
    return RULES[command.kind](m, command)
