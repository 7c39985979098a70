"""Meetings for the console, the CLI and the parties' links: the clerk's and the committee's steps.

Every step goes to the meeting's workflow as an update (validated there, decided again on the stream); what the lists
read is the ``meetings`` projection, written with every append. Items about a topic go through the contract with
topics (yishi/services/topics.py): putting a topic on the agenda calls ``schedule_topic``, a decision on it
``record_decision``; this module never appends to a topic's stream. The parties' links: yishi/services/meeting_links.py.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from activities.eventstore import EventStore
from activities.meetings import load_meeting, project_meeting, to_new
from domain.errors import N_, DomainError, Label, Text
from domain.legal_calendar import HolidayFile
from domain.meeting_commands import AddItem, Invite, MeetingError, Schedule
from domain.meeting_events import MeetingDecision, MeetingKind, MeetingScheduled, Option, PartySpec, vote_id
from domain.meeting_events import ticket_id as meeting_ticket_id
from domain.meeting_state import Meeting, fold
from domain.meetings import decide
from domain.roll import Roll, Scope
from domain.rules import get_rule
from domain.topic_events import Actor, Milestone, TopicDecision
from workflows.meeting import (
    ActorInput,
    AttendanceInput,
    ConfirmInput,
    DecideInput,
    InviteInput,
    ItemInput,
    ItemSpec,
    MeetingInput,
    MeetingReceipt,
    MeetingResult,
    MinutesInput,
    PositionInput,
)
from workflows.meeting_parts import TicketSpec, VoteBox
from yishi.i18n.errors import refusal
from yishi.services.deliberations import store_roll
from yishi.services.topics import record_decision, schedule_topic, topic_summary
from yishi.settings import Settings

FIRST_KEY = "1:scheduled"
"""The idempotency key of a meeting's first append (the workflow appends the same ``MeetingScheduled`` under it)."""


class MeetingRefusedError(DomainError):
    """The meeting's workflow (or the domain) refused the step; the text says why and what to do (shown in the
    reader's language: ``translator(lang).error(exc)``)."""


async def update(client: Client, meeting_id: str, name: str, arg: BaseModel,
                 update_id: str | None = None) -> MeetingReceipt:
    """Run one update on the meeting's workflow; a refusal raises :class:`MeetingRefusedError` (zh / en)."""
    handle = client.get_workflow_handle(meeting_id)
    try:
        return await handle.execute_update(name, arg, id=update_id, result_type=MeetingReceipt)
    except WorkflowUpdateFailedError as exc:
        raise MeetingRefusedError(refusal(exc.cause or exc)) from None
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        raise MeetingRefusedError(N_("meeting %(meeting)s does not exist or has ended"), meeting=meeting_id) from None


class AgendaIncompleteError(MeetingRefusedError):
    """The meeting is scheduled (its workflow runs, its items are listed) but one or more of its topics refused to
    be put on its agenda (``TopicScheduled`` not recorded): one line per topic, saying which and why. The caller
    shows the meeting (``meeting_id``), whose agenda picker puts them on again once that is settled."""

    def __init__(self, meeting_id: str, failures: list[Text]) -> None:
        super().__init__(failures[0])
        self.meeting_id = meeting_id
        self.failures = failures

    @property
    def texts(self) -> list[Text]:
        return self.failures


def new_meeting_id() -> str:
    return f"meeting-{secrets.token_hex(6)}"


def _check_plan(event: MeetingScheduled, parties: tuple[PartySpec, ...], items: tuple[ItemSpec, ...]) -> None:
    """Refuse, before anything is stored or started, what the workflow's first steps would refuse."""
    m = fold(decide(Meeting(), Schedule(at=event.at, event=event)))
    for party in parties:
        m = fold(decide(m, Invite(at=event.at, by=event.by, party=party, link_subject=event.meeting_id)), m)
    for item in items:
        m = fold(decide(m, AddItem(at=event.at, by=event.by, title=item.title, options=item.options)), m)


async def schedule_meeting(client: Client, pool: asyncpg.Pool, event: MeetingScheduled, *, settings: Settings,
                           parties: tuple[PartySpec, ...] = (), items: tuple[ItemSpec, ...] = (),
                           holiday_file: HolidayFile | None = None) -> str:
    """Record the meeting (``MeetingScheduled``) and start its workflow, which invites ``parties``, puts ``items``
    on the agenda and posts the notice; each item of a topic (checked with :func:`agenda_topic` first) is recorded
    in the topic too (``TopicScheduled``). Returns the meeting id (also its stream's and its workflow's); when a
    topic refuses (changed since it was checked), the others are still recorded and :class:`AgendaIncompleteError`
    says which and why (the meeting is scheduled: :func:`add_topic` puts the topic on again)."""
    try:
        _check_plan(event, parties, items)
    except MeetingError as exc:
        raise MeetingRefusedError(exc.text) from None
    store = EventStore(pool)
    await store.append(event.meeting_id, to_new([event]), idempotency_key=FIRST_KEY)
    await project_meeting(pool, fold([event]), 1)
    params = MeetingInput(scheduled=event, items=items, parties=parties, remind_before=settings.meeting_remind_before,
                          confirm=settings.meeting_confirm, holiday_file=holiday_file)
    await client.start_workflow("Meeting", params, id=event.meeting_id, task_queue=settings.task_queue,
                                result_type=MeetingResult)
    failures = []
    for n, item in enumerate(items, start=1):  # the workflow numbers its first items 1, 2, … in this order
        if item.topic_id is not None:
            try:
                await schedule_topic(client, item.topic_id, meeting_id=event.meeting_id, item_id=str(n), by=event.by)
            except DomainError as exc:  # e.g. declined since the form was filled in: the meeting exists all the same
                failures.append(Text(N_("meeting %(meeting)s is scheduled, but topic %(topic)s (%(title)s) is not on "
                                        "its agenda: %(reason)s"), meeting=event.meeting_id, topic=item.topic_id,
                                     title=item.title, reason=exc.text))
    if failures:
        raise AgendaIncompleteError(event.meeting_id, failures)
    return event.meeting_id


async def meeting_state(pool: asyncpg.Pool, meeting_id: str) -> Meeting:
    """The whole meeting folded from its stream."""
    meeting, _, _ = await load_meeting(EventStore(pool), meeting_id)
    if not meeting.meeting_id:
        raise MeetingError(N_("no meeting %(meeting)s; check the meeting id"), meeting=meeting_id)
    return meeting


async def add_item(client: Client, meeting_id: str, *, title: str, options: tuple[Option, ...] = (),
                   by: Actor) -> MeetingReceipt:
    """A free item on the agenda (not a topic), with its options if there is a choice to make."""
    return await update(client, meeting_id, "add_item", ItemInput(by=by, title=title, options=options))


AGENDA_STATUSES = ("taken", "decided")
"""A topic goes on an agenda once taken up, or again once decided (e.g. after its vote: who carries it out)."""


async def agenda_topic(pool: asyncpg.Pool, topic_id: str, community: str, *, on_agenda: bool = False) -> Any:
    """The topic's summary if it may go on an agenda of ``community``: the same community, and taken up or decided
    (or already on this agenda: a retried step); else :class:`MeetingRefusedError` saying why."""
    summary = await topic_summary(pool, topic_id)
    if summary.community != community:
        raise MeetingRefusedError(N_("topic %(topic)s belongs to community %(theirs)s, the meeting to %(ours)s"),
                                  topic=topic_id, theirs=summary.community, ours=community)
    if summary.status not in AGENDA_STATUSES and not on_agenda:
        raise MeetingRefusedError(N_("topic %(topic)s is %(status)s; a topic is put on an agenda once it is taken "
                                     "up"), topic=topic_id, status=Label("topic_status", summary.status))
    return summary


async def add_topic(client: Client, pool: asyncpg.Pool, meeting_id: str, topic_id: str, *, by: Actor,
                    options: tuple[Option, ...] = ()) -> MeetingReceipt:
    """Put a taken topic on the agenda (with ``options`` when there is a choice to make, e.g. three sites): the item
    in the meeting, then ``TopicScheduled`` in the topic (both idempotent: an interrupted step is finished by running
    it again)."""
    meeting = await meeting_state(pool, meeting_id)
    on_agenda = any(i.topic_id == topic_id for i in meeting.items.values())
    summary = await agenda_topic(pool, topic_id, meeting.community, on_agenda=on_agenda)
    receipt = await update(client, meeting_id, "add_item", ItemInput(by=by, title=summary.title, topic_id=topic_id,
                                                                       options=options))
    assert receipt.item_id is not None
    await schedule_topic(client, topic_id, meeting_id=meeting_id, item_id=receipt.item_id, by=by)
    return receipt


async def invite(client: Client, meeting_id: str, party: PartySpec, *, by: Actor) -> MeetingReceipt:
    return await update(client, meeting_id, "invite", InviteInput(by=by, party=party))


async def state_position(client: Client, meeting_id: str, *, party_id: str, item_id: str, option: str | None,
                         text: str, by: Actor) -> MeetingReceipt:
    """The clerk records a party's position (given on paper or in person)."""
    return await update(client, meeting_id, "state_position", PositionInput(
        by=by, party_id=party_id, item_id=item_id, option=option, text=text, via="clerk"))


async def sign_attendance(client: Client, meeting_id: str, *, party_id: str | None, name: str,
                          by: Actor) -> MeetingReceipt:
    """The clerk signs someone in: an invited party, or a guest by name."""
    return await update(client, meeting_id, "sign_attendance", AttendanceInput(by=by, party_id=party_id, name=name,
                                                                                via="clerk"))


async def record_minutes(client: Client, meeting_id: str, item_id: str, text: str, *, by: Actor) -> MeetingReceipt:
    return await update(client, meeting_id, "record_minutes", MinutesInput(by=by, item_id=item_id, text=text))


class VoteRequest(BaseModel):
    """What the clerk gives for a vote: the question, the options put to it, and the owners who vote."""

    question: str
    options: tuple[str, ...] = ()
    scope: Scope = Scope()
    rule_id: str = "headcount-majority"
    voting: str = "P7D"
    paper_entry: str | None = "eod"


async def decide_item(client: Client, pool: asyncpg.Pool, meeting_id: str, item_id: str, decision: MeetingDecision,
                      *, by: Actor, roll: Roll | None = None, vote: VoteRequest | None = None,
                      ticket: TicketSpec | None = None, settings: Settings | None = None) -> MeetingReceipt:
    """Record the decision on an item; a vote opens the ballot box (over ``roll``), an escalation the ticket; an item
    about a topic then has the decision recorded on the topic (``record_decision``)."""
    meeting = await meeting_state(pool, meeting_id)
    box = None
    if decision.kind == "vote" and (roll is not None or not meeting.deliberation_id):
        if roll is None or vote is None:
            raise MeetingRefusedError(N_("a vote needs the owners roll, its scope and the rule"))
        get_rule(vote.rule_id)  # an unknown rule is refused with the list of valid ones
        roll.select(vote.scope)  # an empty or unknown scope fails before anything is stored
        digest = await store_roll(pool, roll)
        s = settings or Settings()
        box = VoteBox(roll_digest=digest, scope=vote.scope, rule_id=vote.rule_id, voting=vote.voting,
                      paper_entry=vote.paper_entry, proxy_limit=s.proxy_limit, deem_silent=s.deem_silent,
                      deem_over_half=s.deem_over_half)
    if decision.kind == "vote":
        decision = decision.model_copy(update={
            "deliberation_id": meeting.deliberation_id or vote_id(meeting_id, item_id),
            "question": decision.question or (vote.question if vote else None),
            "options": decision.options or (vote.options if vote else ())})
    if decision.kind == "escalated":
        decision = decision.model_copy(update={"ticket_id": meeting_ticket_id(meeting_id, item_id)})
    receipt = await update(client, meeting_id, "decide", DecideInput(by=by, item_id=item_id, decision=decision,
                                                                      vote=box, ticket=ticket),
                           update_id=f"decide:{item_id}")
    item = (await meeting_state(pool, meeting_id)).items.get(item_id)
    if item is not None and item.topic_id and item.decision is not None:
        await record_decision(client, item.topic_id, topic_decision(meeting_id, item_id, item.decision), by=by)
    return receipt


def topic_decision(meeting_id: str, item_id: str, d: MeetingDecision) -> TopicDecision:
    """The meeting's decision as the topic records it (the contract's ``TopicDecision``)."""
    return TopicDecision(meeting_id=meeting_id, item_id=item_id, kind=d.kind, summary=d.summary, owner=d.owner,
                         due=d.due, milestones=tuple(Milestone(name=m.name, due=m.due) for m in d.milestones),
                         vote_deliberation_id=d.deliberation_id if d.kind == "vote" else None,
                         ticket_id=d.ticket_id if d.kind == "escalated" else None)


async def hold(client: Client, pool: asyncpg.Pool, meeting_id: str, *, by: Actor) -> MeetingReceipt:
    """Close the session; first make sure every topic decided here has its decision (an interrupted ``decide``)."""
    meeting = await meeting_state(pool, meeting_id)
    for item_id, item in meeting.items.items():
        if item.topic_id and item.decision is not None:
            await record_decision(client, item.topic_id, topic_decision(meeting_id, item_id, item.decision), by=by)
    return await update(client, meeting_id, "hold", ActorInput(by=by))


async def confirm(client: Client, meeting_id: str, *, party_id: str, minutes_version: int,
                  by: Actor) -> MeetingReceipt:
    """The clerk records a party's confirmation given on paper (签字确认)."""
    return await update(client, meeting_id, "confirm", ConfirmInput(by=by, party_id=party_id,
                                                                    minutes_version=minutes_version, via="clerk"))


async def publish(client: Client, meeting_id: str, *, by: Actor) -> MeetingReceipt:
    return await update(client, meeting_id, "publish", ActorInput(by=by))


async def cancel(client: Client, meeting_id: str, *, reason: str, by: Actor) -> MeetingReceipt:
    return await update(client, meeting_id, "cancel", ActorInput(by=by, reason=reason))


async def list_meetings(pool: asyncpg.Pool, community: str | None = None, series_id: str | None = None,
                        limit: int = 200) -> list[dict[str, Any]]:
    """Meetings from the read model, latest start first."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT meeting_id, community, series_id, deliberation_id, title, kind, starts_at, place, status, items,"
            " parties, attendees, minutes_version, confirm_until FROM meetings"
            " WHERE ($1::text IS NULL OR community = $1) AND ($2::text IS NULL OR series_id = $2)"
            " ORDER BY starts_at DESC LIMIT $3", community, series_id, limit)
    return [dict(r) for r in rows]


async def rebuild_meetings(pool: asyncpg.Pool) -> int:
    """Rebuild every meeting's row from its stream (after a restore, or a change to the projection)."""
    store = EventStore(pool)
    async with pool.acquire() as conn:
        ids = [r["stream_id"] for r in await conn.fetch(
            "SELECT stream_id FROM events WHERE seq = 1 AND type = 'MeetingScheduled' ORDER BY stream_id")]
        await conn.execute("DELETE FROM meetings")
    for meeting_id in ids:
        meeting, seq, _ = await load_meeting(store, meeting_id)
        await project_meeting(pool, meeting, seq)
    return len(ids)


def scheduled_event(*, community: str, title: str, kind: MeetingKind, starts_at: datetime, place: str, by: Actor,
                    now: datetime, meeting_id: str | None = None, series_id: str | None = None,
                    deliberation_id: str | None = None) -> MeetingScheduled:
    return MeetingScheduled(at=now, meeting_id=meeting_id or new_meeting_id(), community=community, title=title,
                            kind=kind, starts_at=starts_at, place=place, series_id=series_id,
                            deliberation_id=deliberation_id, by=by)


async def community_rolls(pool: asyncpg.Pool, community: str, limit: int = 50) -> list[dict[str, Any]]:
    """The deliberations of ``community`` whose frozen owners roll a meeting's vote can use (latest first)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT id, title, roll_digest FROM deliberations WHERE community = $1"
                                " AND roll_digest IS NOT NULL ORDER BY created_at DESC LIMIT $2", community, limit)
    return [dict(r) for r in rows]
