"""What the ``Meeting`` workflow (workflows/meeting.py) is built from: recording commands on the meeting's stream,
posting its notices through the notice channels (the procedures' ``append_stage_events``, ``notice_channels`` and
``deliver_notice`` activities), and the children a decision starts: the ballot box of a vote (``BallotBox``, id the
vote's deliberation id) and the ticket of an escalation (``Escalation``, id ``<meeting>/esc-item-<n>``). Both are
started with ``ABANDON`` and never reused ids: once opened, a vote or a ticket belongs to the owners or the ladder,
whatever happens to the meeting's workflow afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.box import OpenBoxInput
    from activities.meetings import MeetingAppend, MeetingApplied, MeetingQuery, VoteRegistration
    from activities.notices import ChannelQuery, Delivery
    from activities.stages import Appended, StageAppend
    from activities.topics import DeliberationOutcome, OutcomeQuery
    from domain.errors import N_, Items, Text
    from domain.events import Question
    from domain.legal_calendar import HolidayFile
    from domain.meeting_commands import MeetingCommand, NoteVote
    from domain.meeting_events import MeetingDecision, Option
    from domain.meeting_state import Meeting
    from domain.procedures import paper_entry_until, parse_period, select_candidate
    from domain.roll import Scope
    from domain.stage_events import NoticeDelivered, NoticeDeliveryFailed, NoticePublished
    from domain.tally_result import TallyResult
    from yishi.i18n import bilingual

from workflows.ballot_box import BoxParams, BoxResult
from workflows.deadlines import period_end
from workflows.decision import Decision
from workflows.escalation import EscalationInput, EscalationResult
from workflows.policies import ACTIVITY_TIMEOUT, RETRY

EARLY_UPDATE = "meeting-update-waits-for-schedule"
"""Patch: a step that arrives before ``run`` has recorded the schedule, its invitations and its first items (``yishi
meeting schedule`` then ``invite`` at once) is accepted, waits for them, and is then validated and decided as usual."""

FOLLOW = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=10))


class VoteBox(BaseModel):
    """The ballot box a decision "put to a vote" opens: over which roll and scope, under which rule, for how long."""

    roll_digest: str
    scope: Scope
    rule_id: str = "headcount-majority"
    voting: str = "P7D"
    paper_entry: str | None = "eod"
    checkpoint: str = "PT1H"
    ballots_changeable: bool = True
    proxy_limit: int = 3
    deem_silent: bool = False
    deem_over_half: bool = False


class TicketSpec(BaseModel):
    """The ticket an escalated decision opens (吹哨): the ladder's department and first level."""

    category: str
    start_level: str = "street"
    detail: str = ""


class MeetingParts:
    _m: Meeting
    _step: int
    _version: int
    _lock: asyncio.Lock
    _followers: dict[str, asyncio.Task[None]]
    _holiday: HolidayFile | None
    _attempts: int
    _published: MeetingApplied | None

    # ---- recording -------------------------------------------------------------------------------------

    def _id(self) -> str:
        raise NotImplementedError

    async def _ready(self, validator: Callable[[], None]) -> None:
        """Before an act's handler: an act accepted before the schedule was recorded (its validator lets it through:
        see ``_validate``) waits for the run's first steps (the schedule, the invitations, the first items, recorded
        under the lock the run takes first), then is validated as its validator would have (EARLY_UPDATE)."""
        if self._m.meeting_id or not workflow.patched(EARLY_UPDATE):
            return
        await workflow.wait_condition(lambda: bool(self._m.meeting_id))
        async with self._lock:
            pass
        validator()

    def _set(self, applied: MeetingApplied) -> None:
        self._m = applied.meeting
        self._version += 1

    async def _apply(self, label: str, command: MeetingCommand, key: str | None = None) -> MeetingApplied:
        self._step += 1
        try:
            applied: MeetingApplied = await workflow.execute_activity(
                "apply_meeting_command", MeetingAppend(meeting_id=self._id(), key=key or f"{self._step}:{label}",
                                                       command=command),
                result_type=MeetingApplied, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)
        except ActivityError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type == "MeetingError":
                raise ApplicationError(cause.message, *cause.details, type="MeetingError", non_retryable=True) from None
            raise
        self._set(applied)
        if command.kind == "publish" and applied.types:
            self._published = applied  # the head the publication notice names: MinutesPublished itself
        return applied

    async def _read(self) -> MeetingApplied:
        """The meeting as its stream has it now, and the stream's head."""
        applied: MeetingApplied = await workflow.execute_activity(
            "read_meeting", MeetingQuery(meeting_id=self._id()), result_type=MeetingApplied,
            start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)
        self._set(applied)
        return applied

    # ---- notices ---------------------------------------------------------------------------------------

    async def _notify(self, kind: str, title: tuple[str, str], body: tuple[str, str],
                      recipients: tuple[str, ...] | None = None, head: MeetingApplied | None = None) -> None:
        """Post a notice (``NoticePublished`` in the meeting's stream) through every channel of the community;
        ``recipients``: party ids (None: the community's notice board)."""
        notice = NoticePublished(
            at=workflow.now(), notice_id=f"{kind}-{self._m.notices + 1}", kind=kind, title_zh=title[0],
            title_en=title[1], body_zh=body[0], body_en=body[1], recipients=recipients,
            head_seq=head.seq if head else None, head_hash=head.hash if head else None)
        await workflow.execute_activity(
            "append_stage_events", StageAppend(deliberation_id=self._id(), key=f"notice:{notice.notice_id}",
                                               events=(notice,)),
            result_type=Appended, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)
        self._m = self._m.model_copy(update={"notices": self._m.notices + 1})
        channels = await workflow.execute_activity(
            "notice_channels", ChannelQuery(community=self._m.community), result_type=list[str],
            start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)
        await asyncio.gather(*(self._deliver(notice, channel) for channel in channels))

    async def _deliver(self, notice: NoticePublished, channel: str) -> None:
        retry = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=10),
                            maximum_attempts=self._attempts)
        delivery = Delivery(deliberation_id=self._id(), community=self._m.community, roll_digest="", scope=Scope(),
                            channel=channel, notice=notice)
        try:
            await workflow.execute_activity("deliver_notice", delivery, result_type=NoticeDelivered,
                                            start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=retry)
        except ActivityError as exc:  # retries spent: the console lists it (the printed sheet is still posted)
            error = str(exc.cause or exc)[:500]
            workflow.logger.warning("meeting.notice_undelivered",
                                    extra={"notice_id": notice.notice_id, "channel": channel, "error": error})
            await workflow.execute_activity(
                "append_stage_events", StageAppend(
                    deliberation_id=self._id(), key=f"notice:{notice.notice_id}:{channel}:final",
                    events=(NoticeDeliveryFailed(at=workflow.now(), notice_id=notice.notice_id, channel=channel,
                                                 attempt=self._attempts, error=error, final=True),)),
                result_type=Appended, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)

    # ---- a vote: the existing ballot box, as a child -------------------------------------------------------

    async def _open_vote(self, item_id: str, decision: MeetingDecision, box: VoteBox) -> None:
        """Open the ballot box of ``decision`` (one question per option, ``option:<id>``, or ``main``) and follow it
        until it is counted (``ItemVoteCounted``)."""
        did = decision.deliberation_id
        assert did is not None
        item = self._m.items[item_id]
        texts = {o.id: o.text for o in item.options}
        questions = (tuple(Question(id=f"option:{o}", text_zh=texts[o], text_en=texts[o]) for o in decision.options)
                     or (Question(id="main", text_zh=decision.question or item.title,
                                  text_en=decision.question or item.title),))
        now = workflow.now()
        end = await period_end(now, box.voting, self._holiday, f"{did}:voting")
        paper = paper_entry_until(end.ends_at, box.paper_entry) if box.paper_entry is not None else None
        await workflow.execute_activity(
            "register_meeting_vote", VoteRegistration(
                deliberation_id=did, meeting_id=self._id(), community=self._m.community,
                title=f"{self._m.title}：{item.title}", question=decision.question or item.title, rule_id=box.rule_id,
                scope=box.scope, roll_digest=box.roll_digest, opens_at=now, closes_at=end.ends_at,
                changeable=box.ballots_changeable),
            start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)
        params = BoxParams(open=OpenBoxInput(
            deliberation_id=did, roll_digest=box.roll_digest, scope=box.scope, rule_id=box.rule_id, questions=questions,
            opens_at=now, closes_at=end.ends_at, ballots_changeable=box.ballots_changeable,
            proxy_limit=box.proxy_limit, deem_silent=box.deem_silent, deem_over_half=box.deem_over_half,
            paper_entry_until=paper, closes_fallback_years=end.fallback_years),
            checkpoint_every=parse_period(box.checkpoint).span())
        try:
            child = await workflow.start_child_workflow(
                "BallotBox", params, id=did, result_type=BoxResult, parent_close_policy=ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
        except WorkflowAlreadyStartedError:  # after a reset: the box exists; its count is read from its stream
            self._followers[item_id] = asyncio.create_task(self._vote_adopted(item_id, did))
            return
        self._followers[item_id] = asyncio.create_task(self._vote_counted(item_id, did, child))

    async def _vote_counted(self, item_id: str, did: str, child: workflow.ChildWorkflowHandle) -> None:
        try:
            result: BoxResult = await child
        except ChildWorkflowError:  # terminated by an operator: read what the stream says, if it was counted
            await self._vote_adopted(item_id, did)
            return
        decided = Decision.of(result.outcome, rule_decides=True)
        tallies = {q: TallyResult.model_validate(r) for q, r in decided.results.items()}
        outcomes = {q: str(r["outcome"]) for q, r in decided.results.items()}
        if "main" in tallies:
            winner = self._m.items[item_id].title if decided.approved else None
            reason = "approved" if decided.approved else "rejected"
            tied: tuple[str, ...] = ()
        else:
            selection = select_candidate(tallies, prefix="option:")
            winner, reason, tied = selection.winner, selection.reason, selection.tied
        async with self._lock:
            await self._apply("vote_counted", NoteVote(
                at=workflow.now(), item_id=item_id, deliberation_id=did, outcomes=outcomes, winner=winner,
                reason=reason, tied=tied, head_seq=result.outcome.head.seq, head_hash=result.outcome.head.hash),
                key=f"vote:{item_id}:counted")

    async def _vote_adopted(self, item_id: str, did: str) -> None:
        """A box this run did not start: wait for its count in its stream (or note that it ended without one)."""
        found: DeliberationOutcome = await workflow.execute_activity(
            "deliberation_outcome", OutcomeQuery(deliberation_id=did, until="count"),
            result_type=DeliberationOutcome, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=FOLLOW)
        workflow.logger.info("meeting.vote_adopted", extra={"deliberation_id": did, "outcome": found.outcome})

    # ---- an escalation: the existing ticket, as a child ----------------------------------------------------

    async def _open_ticket(self, item_id: str, decision: MeetingDecision, spec: TicketSpec, by: str) -> None:
        assert decision.ticket_id is not None
        item = self._m.items[item_id]
        detail = spec.detail.strip() or decision.summary
        params = EscalationInput(
            ticket_id=decision.ticket_id, parent_id=self._id(), community=self._m.community, category=spec.category,
            subject=f"{self._m.title}：{item.title}",
            detail="\n\n".join((detail, bilingual(N_("Escalated by meeting %(meeting)s, item %(item)s"),
                                                  meeting=self._id(), item=item_id)[0])),
            initiator=by, initiator_kind="committee", start_level=spec.start_level, holiday_file=self._holiday)
        try:
            await workflow.start_child_workflow(
                "Escalation", params, id=decision.ticket_id, result_type=EscalationResult,
                parent_close_policy=ParentClosePolicy.ABANDON, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
        except WorkflowAlreadyStartedError:
            workflow.logger.info("meeting.ticket_adopted", extra={"ticket_id": decision.ticket_id})


def options_text(options: tuple[Option, ...]) -> Items:
    return Items(Text(N_("%(id)s: %(text)s"), id=o.id, text=o.text) for o in options)


def agenda_lines(m: Meeting) -> tuple[str, str]:
    """The agenda, one line per item (with its options), in Chinese and in English."""
    lines = [bilingual(N_("%(n)s. %(title)s (options: %(options)s)"), n=i, title=item.title,
                       options=options_text(item.options)) if item.options
             else bilingual(N_("%(n)s. %(title)s"), n=i, title=item.title) for i, item in m.items.items()]
    return "\n".join(zh for zh, _ in lines), "\n".join(en for _, en in lines)

