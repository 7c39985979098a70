"""居民出题、社区领题: one topic (议题) as a durable process (issue 16).

The workflow holds what waits on time and on other processes: the take-up deadline (领题, default 5 working days;
missed → recorded and handed up the community's ladder, as a ticket is), the milestones of a decision's
follow-up (missed → flagged), the feedback window after the work is done, and the end of the ticket, procedure
or vote the topic was sent to. Staff act through updates (validated on the workflow's state, decided again on
the stream by the ``apply_topic_command`` activity, under an idempotency key per step). Residents' supports,
comments and feedback are appended to the stream by the web tier (thousands of residents must not queue on one
workflow); feedback then signals ``refresh``, since the proposer's 不满意 reopens the topic once and the last
answer closes it.

Deadlines are recorded facts, as for tickets and procedures (workflows/deadlines.py): a period on the legal calendar
(the take-up's working days, the feedback window) is computed by the ``compute_deadlines`` activity, and the years it
had to count on weekends only are recorded with it (``fallback_years``). A milestone is due at 24:00 of its date.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.topics import CommunityQuery, TopicAppend, TopicApplied, TopicQuery
    from domain import topic_commands as cmd
    from domain.errors import N_
    from domain.legal_calendar import PeriodEnd
    from domain.topics import Topic, TopicCommand, TopicError
    from domain.topics import decide as decide_topic

from workflows.deadlines import period_end
from workflows.escalation import reject
from workflows.policies import ACTIVITY_TIMEOUT, RETRY
from workflows.topic_follow import RouteFollowers
from workflows.topic_inputs import (
    AbsorbInput,
    ActorNote,
    DecisionInput,
    MergeInput,
    MilestoneInput,
    RouteInput,
    ScheduleInput,
    TopicInput,
    TopicReceipt,
    TopicResult,
)

FIRST_KEY = "1:raised"
"""The idempotency key of a topic's first append (the service appends the same ``TopicRaised`` under it)."""

EARLY_UPDATE = "topic-update-waits-for-raise"
"""Patch: a staff update that arrives before ``run`` has applied the raise (``yishi topic raise`` then ``take`` at
once) is accepted, waits for the raise and the take-up assignment, and is then validated and decided as usual."""


@workflow.defn(name="Topic")
class TopicWorkflow(RouteFollowers):
    @workflow.init
    def __init__(self, params: TopicInput) -> None:
        self._in = params
        self._t = Topic()
        self._step = 0
        self._version = 0
        self._refresh = False
        self._lock = asyncio.Lock()  # orders the appends with the state they were decided on
        self._levels: tuple[cmd.TakeUpLevel, ...] = ()
        super().__init__()

    @workflow.run
    async def run(self, params: TopicInput) -> TopicResult:
        async with self._lock:
            await self._apply("raised", cmd.Raise(at=params.raised.at, event=params.raised), key=FIRST_KEY)
            self._levels = await workflow.execute_activity(
                "topic_take_up_levels", CommunityQuery(community=params.raised.community),
                result_type=tuple[cmd.TakeUpLevel, ...], start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)
            if self._levels:
                due = await self._period_end(params.raised.at, params.take_up, "take_up")
                await self._apply("take_up", cmd.AssignTakeUp(at=workflow.now(), level=0, target=self._levels[0],
                                                               due_at=due.ends_at, fallback_years=due.fallback_years))
        while not self._t.finished:
            self._follow(self._t)
            due, seen = self._due(), self._version
            try:
                await workflow.wait_condition(lambda seen=seen: self._version != seen or self._refresh,  # type: ignore[misc]
                                              timeout=max(due - workflow.now(), timedelta(0)) if due else None)
            except TimeoutError:
                async with self._lock:
                    await self._on_time()
            if self._refresh:
                async with self._lock:
                    self._refresh = False
                    await self._read()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return TopicResult(topic_id=self._t.topic_id, status=self._t.status,
                           outcome=self._t.closed_outcome or self._t.declined_reason or self._t.merged_into)

    # ---- recording ------------------------------------------------------------------------------------

    async def _period_end(self, start: datetime, period: str, what: str) -> PeriodEnd:
        """Where ``period`` counted from ``start`` ends, computed by the ``compute_deadlines`` activity."""
        return await period_end(start, period, self._in.holiday_file, f"{self._in.topic_id}:{what}")

    def _set(self, applied: TopicApplied) -> None:
        self._t = applied.topic
        self._version += 1

    async def _apply(self, label: str, command: TopicCommand, key: str | None = None) -> TopicApplied:
        self._step += 1
        try:
            applied: TopicApplied = await workflow.execute_activity(
                "apply_topic_command", TopicAppend(topic_id=self._in.topic_id, key=key or f"{self._step}:{label}",
                                                   command=command),
                result_type=TopicApplied, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)
        except ActivityError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type == "TopicError":
                raise ApplicationError(cause.message, *cause.details, type="TopicError", non_retryable=True) from None
            raise
        self._set(applied)
        return applied

    async def _read(self) -> None:
        applied = await workflow.execute_activity(
            "read_topic", TopicQuery(topic_id=self._in.topic_id), result_type=TopicApplied,
            start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)
        self._set(applied)

    # ---- time -----------------------------------------------------------------------------------------

    def _due(self) -> datetime | None:
        t = self._t
        if t.status == "raised" and t.take_up is not None and t.take_up.level_key not in t.take_up_missed:
            return t.take_up.due_at
        if t.status == "following_up":
            dues = [f.due_at[i] for f in t.follow_ups for i in range(len(f.done)) if not f.done[i] and not f.missed[i]]
            return min(dues) if dues else None
        if t.status == "resolved":
            return t.feedback_due
        return None

    async def _on_time(self) -> None:
        now, t = workflow.now(), self._t
        if t.status == "raised" and t.take_up is not None and now >= t.take_up.due_at:
            following = t.take_up.level + 1
            nxt = self._levels[following] if following < len(self._levels) else None
            due = await self._period_end(now, self._in.take_up, "take_up") if nxt else None
            await self._apply("take_up_missed", cmd.LapseTakeUp(
                at=now, next=nxt, next_due=due.ends_at if due else None,
                next_fallback_years=due.fallback_years if due else ()))
        elif t.status == "following_up":
            await self._apply("milestones_missed", cmd.LapseMilestones(at=now))
        elif t.status == "resolved" and t.feedback_due is not None and now >= t.feedback_due:
            await self._apply("feedback_closed", cmd.CloseFeedback(at=now))

    async def _route_outcome(self, stream: str, status: str, outcome: str, resolution: str,
                             approved: bool | None) -> None:
        async with self._lock:
            now = workflow.now()
            due = await self._period_end(now, self._in.feedback, "feedback")
            await self._apply("route_outcome", cmd.RouteOutcome(
                at=now, stream=stream, status=status, outcome=outcome, resolution=resolution, approved=approved,
                feedback_due=due.ends_at, feedback_fallback_years=due.fallback_years))

    # ---- staff actions --------------------------------------------------------------------------------

    def _command(self, name: str, arg: BaseModel, due: PeriodEnd | None = None) -> TopicCommand:
        """The domain command of an update; ``due``: the feedback window's end (a placeholder in the validator,
        which cannot run activities: no rule checks it)."""
        now = workflow.now()
        due = due or PeriodEnd(ends_at=now)
        feedback = {"feedback_due": due.ends_at, "feedback_fallback_years": due.fallback_years}
        match name, arg:
            case "take", ActorNote():
                return cmd.Take(at=now, by=arg.by, note=arg.text)
            case "decline", ActorNote():
                return cmd.Decline(at=now, by=arg.by, reason=arg.text)
            case "resolve", ActorNote():
                return cmd.Resolve(at=now, source="committee", resolution=arg.text, by=arg.by, **feedback)
            case "merge", MergeInput():
                return cmd.Merge(at=now, into=arg.into, by=arg.by, note=arg.note)
            case "absorb", AbsorbInput():
                return cmd.Absorb(at=now, from_topic=arg.from_topic, supporters=arg.supporters, by=arg.by)
            case "route", RouteInput():
                return cmd.Route(at=now, target=arg.target, stream=arg.stream, category=arg.category,  # type: ignore[arg-type]
                                 by=arg.by, note=arg.note)
            case "schedule", ScheduleInput():
                return cmd.Schedule(at=now, meeting_id=arg.meeting_id, item_id=arg.item_id, by=arg.by)
            case "decide", DecisionInput():
                return cmd.Decide(at=now, decision=arg.decision, by=arg.by)
            case "complete_milestone", MilestoneInput():
                return cmd.CompleteMilestone(at=now, follow_up_id=arg.follow_up_id, index=arg.index, by=arg.by,
                                             note=arg.note, **feedback)
        raise reject(N_("unknown action '%(action)s'"), "Rejected", action=name)

    def _validate(self, name: str, arg: BaseModel) -> None:
        if not self._t.topic_id:
            return  # the raise is being applied: the handler waits for it, then validates (EARLY_UPDATE)
        try:
            decide_topic(self._t, self._command(name, arg))
        except TopicError as exc:
            raise reject(exc.text, "TopicError") from None

    async def _act(self, name: str, arg: BaseModel) -> TopicReceipt:
        ticket = arg.ticket if isinstance(arg, RouteInput) else None
        early = not self._t.topic_id and workflow.patched(EARLY_UPDATE)
        if early:  # before run takes its lock on the first activation: wait for the raise it applies first
            await workflow.wait_condition(lambda: bool(self._t.topic_id))
        async with self._lock:
            if early:  # on the state the run's first steps left (raised, take-up assigned), as its validator would
                self._validate(name, arg)
            if ticket is not None:
                self._starting.add(ticket.ticket_id)  # followed once its child is started, not adopted meanwhile
            try:
                due = None
                if name in ("resolve", "complete_milestone"):  # they may resolve: the feedback window starts now
                    due = await self._period_end(workflow.now(), self._in.feedback, "feedback")
                applied = await self._apply(name, self._command(name, arg, due))  # decided again on the stream
            except BaseException:
                self._starting.discard(ticket.ticket_id if ticket else "")
                raise
            if ticket is not None:
                await self._start_ticket(ticket)
        return TopicReceipt(topic_id=self._in.topic_id, seq=applied.seq, hash=applied.hash, status=self._t.status)

    @workflow.update
    async def take(self, arg: ActorNote) -> TopicReceipt:
        return await self._act("take", arg)

    @take.validator
    def _v_take(self, arg: ActorNote) -> None:
        self._validate("take", arg)

    @workflow.update
    async def decline(self, arg: ActorNote) -> TopicReceipt:
        return await self._act("decline", arg)

    @decline.validator
    def _v_decline(self, arg: ActorNote) -> None:
        self._validate("decline", arg)

    @workflow.update
    async def resolve(self, arg: ActorNote) -> TopicReceipt:
        return await self._act("resolve", arg)

    @resolve.validator
    def _v_resolve(self, arg: ActorNote) -> None:
        self._validate("resolve", arg)

    @workflow.update
    async def merge(self, arg: MergeInput) -> TopicReceipt:
        return await self._act("merge", arg)

    @merge.validator
    def _v_merge(self, arg: MergeInput) -> None:
        self._validate("merge", arg)

    @workflow.update
    async def absorb(self, arg: AbsorbInput) -> TopicReceipt:
        return await self._act("absorb", arg)

    @absorb.validator
    def _v_absorb(self, arg: AbsorbInput) -> None:
        self._validate("absorb", arg)

    @workflow.update
    async def route(self, arg: RouteInput) -> TopicReceipt:
        return await self._act("route", arg)

    @route.validator
    def _v_route(self, arg: RouteInput) -> None:
        self._validate("route", arg)

    @workflow.update
    async def schedule(self, arg: ScheduleInput) -> TopicReceipt:
        return await self._act("schedule", arg)

    @schedule.validator
    def _v_schedule(self, arg: ScheduleInput) -> None:
        self._validate("schedule", arg)

    @workflow.update
    async def decide(self, arg: DecisionInput) -> TopicReceipt:
        return await self._act("decide", arg)

    @decide.validator
    def _v_decide(self, arg: DecisionInput) -> None:
        self._validate("decide", arg)

    @workflow.update
    async def complete_milestone(self, arg: MilestoneInput) -> TopicReceipt:
        return await self._act("complete_milestone", arg)

    @complete_milestone.validator
    def _v_complete_milestone(self, arg: MilestoneInput) -> None:
        self._validate("complete_milestone", arg)

    @workflow.signal
    def refresh(self) -> None:
        """The web tier appended to the stream (feedback): read it again."""
        self._refresh = True

    @workflow.query
    def topic(self) -> Topic:
        return self._t


ACTIONS = ("take", "decline", "resolve", "merge", "absorb", "route", "schedule", "decide", "complete_milestone")
