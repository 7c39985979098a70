"""What the meeting decider checks, one function per check (pure): each raises :class:`MeetingError` saying what
to do. Used by :mod:`domain.meetings`.

A check names what was being done as an ``action``: a :class:`~domain.errors.Text` such as
``Text(N_("add an agenda item"))``, worded in the reader's language where the error is shown."""

from __future__ import annotations

import re
from typing import Any

from domain.errors import N_, Items, Label, Text
from domain.legal_calendar import BEIJING
from domain.meeting_commands import DOORS_OPEN, MAX_OPTIONS, MAX_TITLE, STAFF, Decide, MeetingError, when
from domain.meeting_events import MeetingDecision, Option, vote_id
from domain.meeting_state import Item, Meeting
from domain.topic_events import Actor

ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def text(value: str, limit: int, what: Text, *, required: bool = True) -> None:
    """``what``: the field, as a text (``Text(N_("the meeting's title"))``)."""
    if required and not value.strip():
        raise MeetingError(N_("%(what)s is empty; fill it in"), what=what)
    if len(value) > limit:
        raise MeetingError(N_("%(what)s has %(count)s characters; at most %(limit)s"), what=what, count=len(value),
                           limit=limit)


def status_label(m: Meeting) -> Label:
    return Label("meeting_status", m.status or "none")


def status(m: Meeting, allowed: tuple[str, ...], action: Text) -> None:
    if m.status not in allowed:
        raise MeetingError(N_("meeting %(meeting)s is %(status)s: you cannot %(action)s"), meeting=m.meeting_id,
                           status=status_label(m), action=action)


def staff(m: Meeting, by: Actor, action: Text) -> None:
    if by.kind not in STAFF:
        raise MeetingError(N_("%(kind)s cannot %(action)s (who can: %(allowed)s)"), kind=Label("actor", by.kind),
                           action=action, allowed=Items(Label("actor", k) for k in sorted(STAFF)))
    if by.kind not in ("street_office", "system") and by.community != m.community:
        raise MeetingError(N_("the meeting belongs to community %(community)s; %(name)s (%(theirs)s) cannot "
                              "%(action)s"), community=m.community, name=by.name, theirs=by.community, action=action)


def opened(m: Meeting, at: Any, action: Text) -> None:
    assert m.starts_at is not None
    if at < m.starts_at - DOORS_OPEN:
        raise MeetingError(N_("the meeting starts %(starts)s; you can %(action)s from two hours before"),
                           starts=when(m.starts_at), action=action)


def item(m: Meeting, item_id: str) -> Item:
    if item_id not in m.items:
        raise MeetingError(N_("the agenda has no item %(item)s (items: %(items)s)"), item=item_id,
                           items=Items(m.items) if m.items else "—")
    return m.items[item_id]


def actor_via(m: Meeting, by: Actor, via: str, link: str | None, action: Text) -> None:
    """A link act is the party's own (or the door's); a clerk's act is staff's."""
    if via == "clerk":
        staff(m, by, action)
    elif by.kind not in ("party", "resident") or not link:
        raise MeetingError(N_("only the link's holder can %(action)s through a link"), action=action)


def party(m: Meeting, party_id: str) -> None:
    if party_id not in m.parties:
        raise MeetingError(N_("%(party)s is not a party invited to this meeting (invited: %(invited)s)"),
                           party=party_id, invited=Items(f"{p.party_id} ({p.name})" for p in m.parties.values())
                           if m.parties else "—")


def check_options(options: tuple[Option, ...]) -> None:
    if len(options) > MAX_OPTIONS:
        raise MeetingError(N_("an item has at most %(limit)s options"), limit=MAX_OPTIONS)
    ids = [o.id for o in options]
    for o in options:
        if not ID.match(o.id):
            raise MeetingError(N_("option id %(id)s may use letters, digits, - and _ only (at most 32)"),
                               id=o.id[:40])
        text(o.text, MAX_TITLE, Text(N_("the text of option %(id)s"), id=o.id))
    if len(set(ids)) != len(ids):
        raise MeetingError(N_("option ids repeat; give each its own"))


def check_consensus(item: Item, d: MeetingDecision, c: Decide) -> None:
    if item.options and d.option not in item.option_ids():
        raise MeetingError(N_("name the option agreed (%(options)s)"), options=Items(item.option_ids()))
    if (d.milestones or d.due) and not (d.owner or "").strip():
        raise MeetingError(N_("a decision with a deadline needs an owner (who does it)"))
    today = c.at.astimezone(BEIJING).date()
    for name, due in ((ms.name, ms.due) for ms in d.milestones):
        text(name, MAX_TITLE, Text(N_("the milestone's name")))
        if due < today:
            raise MeetingError(N_("milestone %(name)s is due %(due)s, before the meeting (%(today)s); correct it"),
                               name=name, due=due.isoformat(), today=today.isoformat())
    if d.due is not None and d.due < today:
        raise MeetingError(N_("the deadline %(due)s is before the meeting (%(today)s); correct it"),
                           due=d.due.isoformat(), today=today.isoformat())


def check_vote(m: Meeting, item: Item, d: MeetingDecision) -> None:
    text(d.question or "", MAX_TITLE, Text(N_("the question put to the vote")))
    if item.options:
        unknown = [o for o in d.options if o not in item.option_ids()]
        if not d.options or unknown or len(set(d.options)) != len(d.options):
            if unknown:
                raise MeetingError(N_("choose the options put to the vote among item %(item)s's (%(options)s); "
                                      "%(unknown)s is not one of them"), item=item.item_id,
                                   options=Items(item.option_ids()), unknown=Items(unknown))
            raise MeetingError(N_("choose the options put to the vote among item %(item)s's (%(options)s)"),
                               item=item.item_id, options=Items(item.option_ids()))
    elif d.options:
        raise MeetingError(N_("the item has no options: the vote is on one question"))
    expected = m.deliberation_id or vote_id(m.meeting_id, item.item_id)
    if d.deliberation_id != expected:
        raise MeetingError(N_("the vote's deliberation id is %(expected)s"), expected=expected)
