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
from domain.errors import N_, Items, Label, Text
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
    when,
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

SCHEDULE = Text(N_("schedule a meeting"))
ADD_ITEM = Text(N_("add an agenda item"))
INVITE = Text(N_("invite a party"))
POSITION = Text(N_("state a position"))
SIGN_IN = Text(N_("sign in at the meeting"))
ATTENDEE = Text(N_("the attendee's name"))
MINUTES = Text(N_("record the minutes"))
DECIDE = Text(N_("record a decision"))
CLOSE = Text(N_("close the session"))
CONFIRM = Text(N_("confirm the minutes"))
PUBLISH = Text(N_("publish the minutes"))
CANCEL = Text(N_("cancel the meeting"))


def schedule(m: Meeting, c: Schedule) -> list[MeetingEvent]:
    e = c.event
    if m.status:
        if m.meeting_id == e.meeting_id and m.title == e.title and m.starts_at == e.starts_at:
            return []
        raise MeetingError(N_("meeting %(meeting)s is scheduled already"), meeting=m.meeting_id)
    if not e.meeting_id.startswith("meeting-"):
        raise MeetingError(N_("a meeting id starts with 'meeting-'"))
    checks.text(e.title, MAX_TITLE, Text(N_("the meeting's title")))
    checks.text(e.place, MAX_PLACE, Text(N_("the place")))
    if e.starts_at < c.at:
        raise MeetingError(N_("the start %(starts)s has passed; choose a later time"), starts=when(e.starts_at))
    checks.staff(Meeting(meeting_id=e.meeting_id, community=e.community), e.by, SCHEDULE)
    return [e]


def add_item(m: Meeting, c: AddItem) -> list[MeetingEvent]:
    checks.status(m, ("scheduled",), ADD_ITEM)
    checks.staff(m, c.by, ADD_ITEM)
    if c.topic_id is not None and any(i.topic_id == c.topic_id for i in m.items.values()):
        return []  # the topic is on the agenda already (a retried step)
    checks.text(c.title, MAX_TITLE, Text(N_("the item's title")))
    checks.check_options(c.options)
    if len(m.items) >= MAX_ITEMS:
        raise MeetingError(N_("a meeting has at most %(limit)s agenda items"), limit=MAX_ITEMS)
    return [AgendaItemAdded(at=c.at, item_id=str(len(m.items) + 1), title=c.title.strip(), topic_id=c.topic_id,
                            options=c.options, by=c.by)]


def invite(m: Meeting, c: Invite) -> list[MeetingEvent]:
    checks.status(m, ("scheduled",), INVITE)
    checks.staff(m, c.by, INVITE)
    p = c.party
    known = m.parties.get(p.party_id)
    if known is not None:
        if (known.kind, known.name) == (p.kind, p.name):
            return []
        raise MeetingError(N_("party id %(party)s is taken by %(name)s; choose another"), party=p.party_id,
                           name=known.name)
    if not checks.ID.match(p.party_id) or p.party_id == DOOR:
        raise MeetingError(N_("a party id may use letters, digits, - and _ only (and is not 'door')"))
    checks.text(p.name, MAX_NAME, Text(N_("the party's name")))
    if len(m.parties) >= MAX_PARTIES:
        raise MeetingError(N_("a meeting invites at most %(limit)s parties"), limit=MAX_PARTIES)
    return [PartyInvited(at=c.at, party=p.model_copy(update={"name": p.name.strip()}), link_subject=c.link_subject,
                         by=c.by)]


def state_position(m: Meeting, c: StatePosition) -> list[MeetingEvent]:
    checks.status(m, ("scheduled",), POSITION)
    checks.actor_via(m, c.by, c.via, c.link_sha256, POSITION)
    checks.party(m, c.party_id)
    item = checks.item(m, c.item_id)
    if item.decision is not None:
        raise MeetingError(N_("item %(item)s has been decided; positions are closed"), item=c.item_id)
    if c.option is not None and c.option not in item.option_ids():
        raise MeetingError(N_("item %(item)s's options are %(options)s; %(option)s is not one of them"),
                           item=c.item_id, options=Items(item.option_ids()) if item.options else "—", option=c.option)
    checks.text(c.text, MAX_TEXT, Text(N_("the position")), required=c.option is None)
    current = item.positions.get(c.party_id)
    if current is not None and (current.option, current.text) == (c.option, c.text.strip()):
        return []
    return [PositionStated(at=c.at, party_id=c.party_id, item_id=c.item_id, option=c.option, text=c.text.strip(),
                           via=c.via, link_sha256=c.link_sha256, by=c.by)]


def sign_attendance(m: Meeting, c: SignAttendance) -> list[MeetingEvent]:
    checks.status(m, ("scheduled",), SIGN_IN)
    checks.opened(m, c.at, SIGN_IN)
    checks.actor_via(m, c.by, c.via, c.link_sha256, SIGN_IN)
    if c.party_id is not None:
        checks.party(m, c.party_id)
        if c.party_id in m.attendees:
            return []
        name = c.name.strip() or m.parties[c.party_id].name
        attendee = c.party_id
    else:
        if c.via == "link":
            raise MeetingError(N_("sign in through your own party's invitation link"))
        checks.text(c.name, MAX_NAME, ATTENDEE)
        name = c.name.strip()
        if any(a.party_id is None and a.name == name for a in m.attendees.values()):
            return []
        attendee = f"guest-{sum(1 for a in m.attendees.values() if a.party_id is None) + 1}"
    checks.text(name, MAX_NAME, ATTENDEE)
    return [AttendanceSigned(at=c.at, attendee_id=attendee, party_id=c.party_id, name=name, via=c.via,
                             link_sha256=c.link_sha256, by=c.by)]


def record_minutes(m: Meeting, c: RecordMinutes) -> list[MeetingEvent]:
    checks.status(m, ("scheduled", "held"), MINUTES)
    checks.opened(m, c.at, MINUTES)
    checks.staff(m, c.by, MINUTES)
    item = checks.item(m, c.item_id)
    checks.text(c.text, MAX_MINUTES, Text(N_("the minutes")))
    text = c.text.strip()
    if item.minutes and item.minutes[-1] == text:
        return []
    version = m.minutes_version + 1
    events: list[MeetingEvent] = [MinutesRecorded(at=c.at, item_id=c.item_id, version=len(item.minutes) + 1,
                                                  minutes_version=version, text=text, by=c.by)]
    if m.status == "held":
        if c.confirm_until is None or c.confirm_until <= c.at:
            raise MeetingError(N_("minutes corrected after the session need a new confirmation deadline"))
        events.append(ConfirmationReopened(at=c.at, minutes_version=version, confirm_until=c.confirm_until,
                                           fallback_years=c.fallback_years))
    return events


def decide_item(m: Meeting, c: Decide) -> list[MeetingEvent]:
    checks.status(m, ("scheduled",), DECIDE)
    checks.opened(m, c.at, DECIDE)
    checks.staff(m, c.by, DECIDE)
    item, d = checks.item(m, c.item_id), c.decision
    if item.decision is not None:
        if item.decision == d:
            return []
        raise MeetingError(N_("item %(item)s is decided (%(decision)s); a decision is not rewritten: say so in the "
                              "minutes or take it to a next meeting"), item=c.item_id,
                           decision=Label("decision", item.decision.kind))
    checks.text(d.summary, MAX_TEXT if d.kind != "deferred" else MAX_REASON, Text(N_("what was decided")))
    if d.kind == "consensus":
        checks.check_consensus(item, d, c)
    elif d.kind == "vote":
        checks.check_vote(m, item, d)
    elif d.kind == "escalated" and d.ticket_id != ticket_id(m.meeting_id, item.item_id):
        raise MeetingError(N_("the ticket id is %(ticket)s"), ticket=ticket_id(m.meeting_id, item.item_id))
    return [DecisionRecorded(at=c.at, item_id=c.item_id, decision=d, minutes_version=m.minutes_version + 1, by=c.by)]


def note_vote(m: Meeting, c: NoteVote) -> list[MeetingEvent]:
    item = checks.item(m, c.item_id)
    if item.decision is None or item.decision.kind != "vote" or item.decision.deliberation_id != c.deliberation_id:
        raise MeetingError(N_("item %(item)s was not put to the vote %(vote)s"), item=c.item_id,
                           vote=c.deliberation_id)
    if item.vote is not None:
        return []
    return [ItemVoteCounted(at=c.at, item_id=c.item_id, deliberation_id=c.deliberation_id, outcomes=c.outcomes,
                            winner=c.winner, reason=c.reason, tied=c.tied, head_seq=c.head_seq,
                            head_hash=c.head_hash)]


def hold(m: Meeting, c: Hold) -> list[MeetingEvent]:
    checks.status(m, ("scheduled",), CLOSE)
    checks.opened(m, c.at, CLOSE)
    checks.staff(m, c.by, CLOSE)
    if not m.items:
        raise MeetingError(N_("the agenda is empty: add the items discussed first"))
    if undecided := m.undecided():
        raise MeetingError(N_("items %(items)s have no decision: record one (defer those not reached)"),
                           items=Items(undecided))
    if c.confirm_until <= c.at:
        raise MeetingError(N_("the confirmation deadline must be later than now"))
    return [MeetingHeld(at=c.at, minutes_version=m.minutes_version, attendees=len(m.attendees),
                        confirm_until=c.confirm_until, fallback_years=c.fallback_years, by=c.by)]


def confirm(m: Meeting, c: Confirm) -> list[MeetingEvent]:
    checks.status(m, ("held",), CONFIRM)
    checks.actor_via(m, c.by, c.via, c.link_sha256, CONFIRM)
    checks.party(m, c.party_id)
    if c.minutes_version != m.minutes_version:
        raise MeetingError(N_("the minutes are now version %(version)s; read them again, then confirm"),
                           version=m.minutes_version)
    if m.confirmed.get(c.party_id) == c.minutes_version:
        return []
    return [MinutesConfirmed(at=c.at, party_id=c.party_id, minutes_version=c.minutes_version, via=c.via,
                             link_sha256=c.link_sha256, by=c.by)]


def publish(m: Meeting, c: Publish) -> list[MeetingEvent]:
    checks.status(m, ("held",), PUBLISH)
    missing = m.unconfirmed()
    assert m.confirm_until is not None
    if missing and c.at < m.confirm_until:
        raise MeetingError(N_("%(parties)s have not confirmed version %(version)s of the minutes; they are "
                              "published when the window ends, %(until)s"),
                           parties=Items(f"{m.parties[p].name} ({p})" for p in missing), version=m.minutes_version,
                           until=when(m.confirm_until))
    return [MinutesPublished(at=c.at, minutes_version=m.minutes_version, confirmed=m.confirmed_now(),
                             unconfirmed=missing, reason="window_ended" if missing else "all_confirmed")]


def cancel(m: Meeting, c: Cancel) -> list[MeetingEvent]:
    checks.status(m, ("scheduled",), CANCEL)
    checks.staff(m, c.by, CANCEL)
    checks.text(c.reason, MAX_REASON, Text(N_("the reason for cancelling")))
    if any(i.decision is not None for i in m.items.values()):
        raise MeetingError(N_("decisions are recorded: close the meeting instead of cancelling it"))
    return [MeetingCancelled(at=c.at, reason=c.reason.strip(), by=c.by)]


RULES: dict[str, Callable[[Meeting, Any], list[MeetingEvent]]] = {
    "schedule": schedule, "add_item": add_item, "invite": invite, "state_position": state_position,
    "sign_attendance": sign_attendance, "record_minutes": record_minutes, "decide": decide_item,
    "note_vote": note_vote, "hold": hold, "confirm": confirm, "publish": publish, "cancel": cancel}


__all__ = ["MeetingError", "decide"]


def decide(m: Meeting, command: MeetingCommand) -> list[MeetingEvent]:
    """The events ``command`` produces on ``m``; raises :class:`MeetingError` when it is refused."""
    if command.kind != "schedule" and not m.status:
        raise MeetingError(N_("no such meeting; check the meeting id"))
    return RULES[command.kind](m, command)
