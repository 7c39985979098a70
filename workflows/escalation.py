"""社区吹哨、部门报到: one escalation ticket as a durable process (issue 6).

Opened by a deliberation (a child workflow: an objection the committee could not mediate, a hand-over
refused) or on its own for a resident's complaint. The ticket climbs the community's ladder: each level
has an acknowledge and a resolve deadline, a missed one escalates to the next level and notifies the
initiator and the committee. Organisations act through updates (validated by organisation and role);
after a resolution the initiator answers a follow-up, and "not satisfied" reopens it once. Every step
is an event in the ticket's own stream. Cancelling the workflow (or its parent) records ``Cancelled``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from activities.escalation import (
        EscalationAppend,
        EscalationCancel,
        EscalationOutcome,
        LadderQuery,
        TicketNotice,
        WebhookDispatch,
    )
    from activities.routing import Route, RouteQuery
    from activities.stages import Appended
    from domain import escalation as esc
    from domain.errors import N_, Bilingual
    from domain.escalation import (
        FOLLOW_UP_DEFAULT,
        Acknowledged,
        Cancelled,
        Dues,
        EscalationError,
        EscalationEvent,
        EscalationOpened,
        EvidenceRef,
        FollowUpAnswered,
        Level,
        LevelAssigned,
        Resolved,
        Ticket,
    )
    from domain.escalation_auth import authorise
    from domain.joint_commands import next_part_deadline
    from domain.legal_calendar import HolidayFile, PeriodEnd
    from domain.procedures import parse_period
    from domain.stage_events import NoticePublished
    from yishi.i18n import bilingual

from workflows.deadlines import DEADLINES_RECORDED, period_end, period_ends, with_fallback
from workflows.escalation_joint import ActionReceipt, JointParts, TicketAction, beijing, reject
from workflows.policies import ACTIVITY_TIMEOUT, RETRY

FIRST_KEY = "1:opened"
"""The idempotency key of a ticket's first append (``EscalationOpened`` and the first assignment)."""
GRID_ROUTING = "grid-routing"
"""Patch (issue 19): a new ticket is routed by the ``route_escalation`` activity (the grid of its building, the
ladder version current when it opens, its channel, recorded on ``EscalationOpened``). Histories recorded before
read the ladder with ``escalation_ladder`` (every ``tests/histories/escalation*.json`` but ``*_grid_routing*``)."""


def _pair(title: tuple[str, str], body: tuple[str, str]) -> tuple[tuple[str, str], tuple[str, str]]:
    """(title, body) in Chinese and in English, from a title and a body each in both languages."""
    return (title[0], body[0]), (title[1], body[1])


ANNOUNCED = {"opened": N_("Ticket opened: %(subject)s"), "escalated": N_("Ticket escalated: %(subject)s"),
             "reopened": N_("Ticket reopened: %(subject)s"), "transferred": N_("Ticket transferred: %(subject)s")}


class EscalationInput(BaseModel):
    ticket_id: str
    parent_id: str | None = None
    community: str = "default"
    category: str
    subject: str
    detail: str = ""
    evidence: tuple[EvidenceRef, ...] = ()
    initiator: str = "committee"
    initiator_kind: Literal["owner", "committee", "hotline"] = "committee"
    start_level: str | None = None
    outcomes: tuple[str, ...] = ("resolved",)
    follow_up: str = FOLLOW_UP_DEFAULT
    holiday_file: HolidayFile | None = None
    webhook_attempts: int = 5
    # Since the grid-routing patch: where the ticket came from and what it names to find its grid.
    channel: str = ""
    building: str = ""
    entrance: str = ""
    room: str = ""
    address: str = ""
    source: str = ""
    case_number: str = ""
    complainant_digest: str = ""


class EscalationResult(EscalationOutcome):
    """How the ticket ended: the workflow's result (the same fields as ``escalation_outcome`` reads)."""


@workflow.defn(name="Escalation")
class EscalationWorkflow(JointParts):
    @workflow.init
    def __init__(self, params: EscalationInput) -> None:
        self._in = params
        self._t = Ticket()
        self._step = 0
        self._version = 0
        self._lock = asyncio.Lock()  # orders appends with the state changes they record
        self._levels: tuple[Level, ...] | None = None
        self._route: Route | None = None

    @workflow.run
    async def run(self, params: EscalationInput) -> EscalationResult:
        try:
            await self._open()
            await self._until_closed()
        except BaseException as exc:
            if not is_cancelled_exception(exc) or self._t.finished:
                raise
            # The parent was cancelled (or this ticket was): record it, then end as cancelled.
            cancelled = Cancelled(at=workflow.now(), reason="cancelled with its deliberation"
                                  if self._in.parent_id else "cancelled")
            if self._t.ticket_id:
                await self._record("cancelled", [cancelled])
            elif workflow.patched("escalation-cancel-before-open"):
                await self._cancelled_before_open(cancelled)
            raise
        await workflow.wait_condition(workflow.all_handlers_finished)
        t = self._t
        return EscalationResult(ticket_id=t.ticket_id, status=t.status, outcome=t.outcome,
                                resolution=t.resolution)

    # ---- recording ------------------------------------------------------------------------------------

    async def _record(self, label: str, events: list[EscalationEvent]) -> Appended:
        self._step += 1
        ref = await workflow.execute_activity(
            "append_escalation_events",
            EscalationAppend(ticket_id=self._in.ticket_id, key=f"{self._step}:{label}", events=tuple(events)),
            result_type=Appended, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)
        for event in events:
            self._t = esc.evolve(self._t, event)
        self._version += 1
        return ref

    async def _notify(self, kind: str, zh: tuple[str, str], en: tuple[str, str]) -> None:
        t = self._t
        notice = NoticePublished(at=workflow.now(), notice_id=f"{kind}-{self._step}", kind=f"escalation_{kind}",
                                 title_zh=zh[0], title_en=en[0], body_zh=zh[1], body_en=en[1],
                                 recipients=(t.initiator, f"committee:{t.community}"))
        await workflow.execute_activity(
            "notify_escalation", TicketNotice(ticket_id=t.ticket_id, community=t.community, notice=notice),
            result_type=int, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)

    async def _announce(self, assigned: LevelAssigned) -> None:
        """Tell the initiator and the committee; post to the organisation's system if it has a webhook."""
        t, level = self._t, self._t.levels[assigned.level]
        body = with_fallback(bilingual(
            N_("Ticket %(ticket)s is now with %(level)s (%(org)s); acknowledge by %(ack)s, resolve by %(resolve)s."),
            ticket=t.ticket_id, level=Bilingual(level.name_zh, level.name_en), org=assigned.org,
            ack=beijing(assigned.ack_due), resolve=beijing(assigned.resolve_due)), assigned.fallback_years)
        await self._notify(assigned.reason, *_pair(bilingual(ANNOUNCED[assigned.reason], subject=t.subject), body))
        retry = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5),
                            maximum_attempts=self._in.webhook_attempts)
        try:
            await workflow.execute_activity(
                "dispatch_escalation_webhook",
                WebhookDispatch(ticket_id=t.ticket_id, n=assigned.n, org=assigned.org, at=workflow.now()),
                result_type=bool, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=retry)
        except ActivityError as exc:  # the inbox still shows it; the deadlines run regardless
            if is_cancelled_exception(exc):
                raise
            workflow.logger.warning("escalation.webhook_failed %s %s %s", t.ticket_id, assigned.org, exc.cause)

    async def _apply(self, label: str, events: list[EscalationEvent]) -> Appended:
        responded = any(a.acknowledged_at for a in self._t.assignments)
        ref = await self._record(label, events)
        for event in events:
            if isinstance(event, LevelAssigned):
                await self._announce(event)
        if self._in.source:  # a hotline's ticket: its system hears of the response, the resolution, the rating
            for event in events:
                if isinstance(event, Acknowledged) and not responded:
                    responded = True
                    await self._callback("response", ref)
                elif isinstance(event, Resolved):
                    await self._callback("resolution", ref)
                elif isinstance(event, FollowUpAnswered):
                    await self._callback("rating", ref)
        await self._announce_parts(events)
        return ref

    # ---- the ticket's life ---------------------------------------------------------------------------

    async def _ladder(self) -> tuple[Level, ...]:
        p = self._in
        levels: tuple[Level, ...] = await workflow.execute_activity(
            "escalation_ladder", LadderQuery(community=p.community, category=p.category),
            result_type=tuple[Level, ...], start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)
        self._levels = levels
        return levels

    async def _routed(self) -> tuple[tuple[Level, ...], Route | None]:
        """The ticket's levels: since the ``grid-routing`` patch from its route (activity ``route_escalation``),
        before it from the community's ladder (``escalation_ladder``). Asked once."""
        if self._levels is not None:
            return self._levels, self._route
        if not workflow.patched(GRID_ROUTING):
            return await self._ladder(), None
        p = self._in
        route: Route = await workflow.execute_activity(
            "route_escalation", RouteQuery(
                community=p.community, category=p.category, at=workflow.now(), channel=p.channel or "resident",
                building=p.building, entrance=p.entrance, room=p.room,
                owner=p.initiator if p.initiator_kind == "owner" else "", address=p.address,
                start_level=p.start_level), result_type=Route, start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=RETRY)
        self._route, self._levels = route, route.levels
        return route.levels, route

    def _opened(self, levels: tuple[Level, ...], route: Route | None = None) -> EscalationOpened:
        p = self._in
        routed = {} if route is None else {
            "community": route.community, "channel": p.channel or "resident", "ladder_version": route.ladder_version,
            "grid": route.grid, "building": route.building, "entrance": route.entrance,
            "routed_by": route.routed_by, "source": p.source, "case_number": p.case_number,
            "complainant_digest": p.complainant_digest, "joint": route.joint}
        return EscalationOpened(**{
            "at": workflow.now(), "ticket_id": p.ticket_id, "parent_id": p.parent_id, "community": p.community,
            "category": p.category, "subject": p.subject, "detail": p.detail, "evidence": p.evidence,
            "initiator": p.initiator, "initiator_kind": p.initiator_kind, "levels": levels, "outcomes": p.outcomes,
            **routed})

    async def _open(self) -> None:
        levels, route = await self._routed()
        opened = self._opened(levels, route)
        start = route.start_level if route is not None else self._in.start_level
        level = opened.levels[esc.start_index(opened.levels, start)]
        dues = await self._dues(level, opened.at)
        async with self._lock:
            await self._apply("opened", esc.open_ticket(opened, start, dues))

    async def _dues(self, level: Level, at: datetime) -> Dues:
        """A level's deadlines counted from ``at``: a recorded fact since the ``deadlines-recorded`` patch."""
        ack, resolve = await period_ends(at, (level.ack, level.resolve), self._in.holiday_file,
                                         f"{self._in.ticket_id}:{level.key}")
        return Dues.of(ack, resolve)

    async def _dues_for(self, command: str, at: datetime, answer: str = "") -> Dues | None:
        """The deadlines of the level ``command`` would assign (None when it assigns none)."""
        index = esc.level_to_assign(self._t, command, at, answer)
        return None if index is None else await self._dues(self._t.levels[index], at)

    async def _follow_up_end(self, at: datetime) -> PeriodEnd | None:
        """When the follow-up period of a ticket resolved at ``at`` ends; recorded on ``Resolved`` since the
        ``deadlines-recorded`` patch (histories before it compute it in ``_due``, as they did)."""
        if not workflow.patched(DEADLINES_RECORDED):
            return None
        return await period_end(at, self._in.follow_up, self._in.holiday_file, f"{self._in.ticket_id}:follow_up")

    async def _cancelled_before_open(self, cancelled: Cancelled) -> None:
        """Cancelled before the first append was known to be done: the stream still says the ticket was opened
        and cancelled, with no one assigned. The activity shares the first append's key, so whichever of the
        two lands first is the opening, and the cancellation is recorded once either way."""
        levels, route = await self._routed()
        opened = self._opened(levels, route)
        await workflow.execute_activity(
            "record_escalation_cancelled", EscalationCancel(
                ticket_id=self._in.ticket_id, first_key=FIRST_KEY, opened=opened, cancelled=cancelled),
            result_type=Appended, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)
        for event in (opened, cancelled):
            self._t = esc.evolve(self._t, event)
        self._version += 1

    async def _until_closed(self) -> None:
        while not self._t.finished:
            due = self._due()
            seen = self._version
            try:
                await workflow.wait_condition(lambda seen=seen: self._version != seen,  # type: ignore[misc]
                                              timeout=max(due - workflow.now(), timedelta(0)) if due else None)
            except TimeoutError:
                async with self._lock:
                    await self._on_time()

    def _due(self) -> datetime | None:
        t = self._t
        if t.status == "resolved" and t.resolved_at is not None:
            if t.follow_up_due is not None:
                return t.follow_up_due
            return parse_period(self._in.follow_up).end(t.resolved_at, self._in.holiday_file)  # before the patch
        nxt = esc.next_deadline(t)  # None while joint parts are open: they have their own deadlines
        due = [d for d in (nxt[1] if nxt else None, next_part_deadline(t)) if d is not None]
        return min(due) if due else None

    async def _on_time(self) -> None:
        now, t = workflow.now(), self._t
        if t.status == "resolved":
            due = self._due()
            if due is not None and now >= due:
                await self._apply("lapsed", esc.follow_up_lapsed(t, now))
                await self._closed_notice()
            return
        if t.joint.open_parts:
            await self._parts_on_time(now)
            return
        events = esc.deadline_passed(t, now, await self._dues_for("deadline", now))
        if not events:
            return
        await self._apply("deadline", events)
        if len(events) == 1:  # the top level missed it: there is no one above; tell them all the same
            await self._notify("overdue", *_pair(bilingual(N_("Ticket overdue")), bilingual(
                N_("Ticket %(ticket)s is overdue at the top level."), ticket=t.ticket_id)))

    async def _resolved_notice(self) -> None:
        t, within = self._t, self._in.follow_up
        if t.follow_up_due is None:  # resolved before the deadlines-recorded patch
            body = bilingual(N_("%(text)s (rate it within %(within)s)"), text=t.resolution or "", within=within)
        else:
            body = with_fallback(bilingual(N_("%(text)s (rate it by %(when)s)"), text=t.resolution or "",
                                           when=beijing(t.follow_up_due)), t.follow_up_fallback)
        await self._notify("resolved", *_pair(bilingual(N_("Ticket resolved: please rate it")), body))

    async def _closed_notice(self) -> None:
        t = self._t
        await self._notify("closed", *_pair(bilingual(N_("Ticket closed")), bilingual(
            N_("Ticket %(ticket)s: %(resolution)s"), ticket=t.ticket_id, resolution=t.resolution or "")))

    # ---- actions ---------------------------------------------------------------------------------------

    def _decide(self, name: str, a: TicketAction, now: datetime | None = None, dues: Dues | None = None,
                follow_up: PeriodEnd | None = None) -> list[EscalationEvent]:
        """The events of action ``name``, or a refusal. Without ``dues`` (an update's validator) an action that
        assigns a level is only checked; ``_act`` computes them first (``_dues_for``)."""
        t, now = self._t, now or workflow.now()
        try:
            match name:
                case "acknowledge":
                    return esc.acknowledge(t, a.org, a.role, a.actor, now)
                case "request_info":
                    return esc.request_info(t, a.org, a.role, a.actor, a.text, now)
                case "provide_info":
                    return esc.provide_info(t, a.role, a.actor, a.text, now)
                case "resolve":
                    return esc.resolve(t, a.org, a.role, a.actor, a.outcome, a.text, now, follow_up)
                case "request_transfer":
                    return esc.request_transfer(t, a.org, a.role, a.actor, a.to_org, a.text, now)
                case "accept_transfer":
                    return esc.accept_transfer(t, a.org, a.role, a.actor, now, dues)
                case "decline_transfer":
                    return esc.decline_transfer(t, a.org, a.role, a.actor, a.text, now)
                case "follow_up":
                    return esc.answer_follow_up(t, a.role, a.actor, a.outcome, a.text, now, dues)
        except EscalationError as exc:
            raise reject(exc.text, type(exc).__name__) from None
        raise reject(N_("unknown action '%(action)s'"), "Rejected", action=name)

    def _validate(self, name: str, a: TicketAction) -> None:
        """The update validators: who may act (domain/escalation_auth.py: the acting organisation owns the
        level, receives the transfer, or is the initiator), then what the state allows. Validators do not run
        on replay, so histories recorded before the organisation check replay unchanged; the handler decides
        again on the state only (``_decide``)."""
        try:
            authorise(self._t, name, role=a.role, org=a.org, by=a.actor)
        except EscalationError as exc:
            raise reject(exc.text, "NotAuthorised") from None
        self._decide(name, a)

    async def _act(self, name: str, action: TicketAction) -> ActionReceipt:
        async with self._lock:
            now = workflow.now()
            self._decide(name, action, now)  # again: the state may have moved since the validator ran
            dues = await self._dues_for(name, now, action.outcome)
            follow_up = await self._follow_up_end(now) if name == "resolve" else None
            ref = await self._apply(name, self._decide(name, action, now, dues, follow_up))
            if name == "resolve":
                await self._resolved_notice()
            elif self._t.status == "closed":
                await self._closed_notice()
        return ActionReceipt(ticket_id=self._t.ticket_id, seq=ref.seq, hash=ref.hash, status=self._t.status)

    @workflow.update
    async def acknowledge(self, action: TicketAction) -> ActionReceipt:
        return await self._act("acknowledge", action)

    @acknowledge.validator
    def _v_acknowledge(self, action: TicketAction) -> None:
        self._validate("acknowledge", action)

    @workflow.update
    async def request_info(self, action: TicketAction) -> ActionReceipt:
        return await self._act("request_info", action)

    @request_info.validator
    def _v_request_info(self, action: TicketAction) -> None:
        self._validate("request_info", action)

    @workflow.update
    async def provide_info(self, action: TicketAction) -> ActionReceipt:
        return await self._act("provide_info", action)

    @provide_info.validator
    def _v_provide_info(self, action: TicketAction) -> None:
        self._validate("provide_info", action)

    @workflow.update
    async def resolve(self, action: TicketAction) -> ActionReceipt:
        return await self._act("resolve", action)

    @resolve.validator
    def _v_resolve(self, action: TicketAction) -> None:
        self._validate("resolve", action)

    @workflow.update
    async def request_transfer(self, action: TicketAction) -> ActionReceipt:
        return await self._act("request_transfer", action)

    @request_transfer.validator
    def _v_request_transfer(self, action: TicketAction) -> None:
        self._validate("request_transfer", action)

    @workflow.update
    async def accept_transfer(self, action: TicketAction) -> ActionReceipt:
        return await self._act("accept_transfer", action)

    @accept_transfer.validator
    def _v_accept_transfer(self, action: TicketAction) -> None:
        self._validate("accept_transfer", action)

    @workflow.update
    async def decline_transfer(self, action: TicketAction) -> ActionReceipt:
        return await self._act("decline_transfer", action)

    @decline_transfer.validator
    def _v_decline_transfer(self, action: TicketAction) -> None:
        self._validate("decline_transfer", action)

    @workflow.update
    async def follow_up(self, action: TicketAction) -> ActionReceipt:
        return await self._act("follow_up", action)

    @follow_up.validator
    def _v_follow_up(self, action: TicketAction) -> None:
        self._validate("follow_up", action)

    @workflow.query
    def ticket(self) -> Ticket:
        return self._t


ACTIONS = ("acknowledge", "request_info", "provide_info", "resolve", "request_transfer", "accept_transfer",
           "decline_transfer", "follow_up")
