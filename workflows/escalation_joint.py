"""吹哨报到 in the ``Escalation`` workflow (issue 19): the whistle and the parts' updates, the parts' timers, their
notices and webhooks, and the hotline's callbacks. ``JointParts`` is a base of ``EscalationWorkflow``
(workflows/escalation.py): it uses that class's state (``_in``, ``_t``, ``_lock``) and its ``_apply``, ``_notify``,
``_follow_up_end`` and ``_resolved_notice``.

The whistle's handler marks its history with the ``joint-parts`` patch. No running ticket from before it can have
parts (the whistle is a new update), and the timers and actions of a ticket without parts are what they were, so
histories recorded before replay unchanged (tests/escalation/test_joint_replay.py). Likewise the hotline's callbacks
run only for tickets whose input names a ``source``, which no input before them did.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from activities.escalation import WebhookDispatch
    from activities.hotline import HotlineCallback
    from activities.stages import Appended
    from domain.errors import N_, Items, Text
    from domain.escalation import Dues, EscalationError, EscalationEvent, Ticket
    from domain.escalation_auth import authorise
    from domain.joint import PartEscalated, PartOpened, WhistleBlown
    from domain.joint_commands import (
        blow_whistle,
        joint_resolution,
        part_deadlines_passed,
        parts_to_escalate,
        release_part,
        report_in,
        resolve_part,
        spec_of,
    )
    from domain.legal_calendar import BEIJING
    from yishi.i18n import bilingual

from workflows.deadlines import period_ends, with_fallback
from workflows.policies import ACTIVITY_TIMEOUT

if TYPE_CHECKING:
    from workflows.escalation import EscalationInput

JOINT_PARTS = "joint-parts"
"""Patch marker recorded by the first whistle of a ticket (see the module docstring)."""


def reject(message: str | Text, kind: str = "Rejected", /, **params: object) -> ApplicationError:
    """A refusal a person can act on: English as the message, the text in the details (as in workflows/common.py)."""
    text = message if isinstance(message, Text) else Text(message, **params)
    return ApplicationError(str(text), text.wire(), type=kind, non_retryable=True)


def beijing(instant: datetime) -> str:
    return instant.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") + " (UTC+8)"


class TicketAction(BaseModel):
    """One organisation's (or the initiator's) action; ``text`` is the question, answer, resolution,
    reason or comment, ``outcome`` the resolution outcome or the follow-up answer."""

    role: str
    actor: str
    org: str = ""
    text: str = ""
    outcome: str = ""
    to_org: str = ""


class Whistle(BaseModel):
    """吹哨: the street office calls ``departments`` in at once, with the reason (``text``)."""

    role: str
    actor: str
    org: str
    departments: tuple[str, ...] = Field(max_length=12)
    text: str = ""


class PartAction(BaseModel):
    """A department's report-in or resolution of its ``part``, or the street office's release of it."""

    role: str
    actor: str
    org: str
    part: int
    text: str = ""


class ActionReceipt(BaseModel):
    ticket_id: str
    seq: int
    hash: str
    status: str


PART_UPDATES = ("report_in", "resolve_part", "release_part")


class JointParts:
    _in: EscalationInput
    _t: Ticket
    _lock: asyncio.Lock
    _step: int

    if TYPE_CHECKING:
        async def _apply(self, label: str, events: list[EscalationEvent]) -> Appended: ...
        async def _notify(self, kind: str, zh: tuple[str, str], en: tuple[str, str]) -> None: ...
        async def _follow_up_end(self, at: datetime) -> object: ...
        async def _resolved_notice(self) -> None: ...

    async def _joint_dues(self, at: datetime) -> Dues:
        spec = spec_of(self._t)
        report, resolve = await period_ends(at, (spec.report, spec.resolve), self._in.holiday_file,
                                            f"{self._in.ticket_id}:joint")
        return Dues.of(report, resolve)

    def _joint_decide(self, name: str, a: Whistle | PartAction, now: datetime,
                      dues: Dues | None = None) -> list[EscalationEvent]:
        t = self._t
        try:
            if isinstance(a, Whistle):
                return blow_whistle(t, a.org, a.role, a.actor, a.departments, a.text, now, dues)
            match name:
                case "report_in":
                    return report_in(t, a.part, a.org, a.role, a.actor, now)
                case "resolve_part":
                    return resolve_part(t, a.part, a.org, a.role, a.actor, a.text, now)
                case "release_part":
                    return release_part(t, a.part, a.org, a.role, a.actor, a.text, now)
        except EscalationError as exc:
            raise reject(exc.text, type(exc).__name__) from None
        raise reject(N_("unknown action '%(action)s'"), "Rejected", action=name)

    def _joint_validate(self, name: str, a: Whistle | PartAction) -> None:
        try:
            authorise(self._t, name, role=a.role, org=a.org, by=a.actor, part=getattr(a, "part", 0))
        except EscalationError as exc:
            raise reject(exc.text, "NotAuthorised") from None
        self._joint_decide(name, a, workflow.now())

    def _receipt(self, ref: Appended) -> ActionReceipt:
        return ActionReceipt(ticket_id=self._t.ticket_id, seq=ref.seq, hash=ref.hash, status=self._t.status)

    @workflow.update
    async def whistle(self, w: Whistle) -> ActionReceipt:
        workflow.patched(JOINT_PARTS)
        async with self._lock:
            now = workflow.now()
            self._joint_decide("whistle", w, now)  # again: the state may have moved since the validator ran
            ref = await self._apply("whistle", self._joint_decide("whistle", w, now, await self._joint_dues(now)))
        return self._receipt(ref)

    @whistle.validator
    def _v_whistle(self, w: Whistle) -> None:
        self._joint_validate("whistle", w)

    async def _act_part(self, name: str, a: PartAction) -> ActionReceipt:
        async with self._lock:
            now = workflow.now()
            ref = await self._apply(name, self._joint_decide(name, a, now))
            if joint_resolution(self._t, now, None):  # every part done or released: the ticket is resolved
                follow_up = await self._follow_up_end(now)
                ref = await self._apply("joint-resolved", joint_resolution(self._t, now, follow_up))  # type: ignore[arg-type]
                await self._resolved_notice()
        return self._receipt(ref)

    @workflow.update
    async def report_in(self, a: PartAction) -> ActionReceipt:
        return await self._act_part("report_in", a)

    @report_in.validator
    def _v_report_in(self, a: PartAction) -> None:
        self._joint_validate("report_in", a)

    @workflow.update
    async def resolve_part(self, a: PartAction) -> ActionReceipt:
        return await self._act_part("resolve_part", a)

    @resolve_part.validator
    def _v_resolve_part(self, a: PartAction) -> None:
        self._joint_validate("resolve_part", a)

    @workflow.update
    async def release_part(self, a: PartAction) -> ActionReceipt:
        return await self._act_part("release_part", a)

    @release_part.validator
    def _v_release_part(self, a: PartAction) -> None:
        self._joint_validate("release_part", a)

    async def _parts_on_time(self, now: datetime) -> None:
        """A part's deadline passed: recorded, and the part moves to the supervisor alone (the others stay)."""
        dues = await self._joint_dues(now) if parts_to_escalate(self._t, now) else None
        events = part_deadlines_passed(self._t, now, dues)
        if events:
            await self._apply("parts-deadline", events)

    async def _announce_parts(self, events: list[EscalationEvent]) -> None:
        """Tell the initiator and the committee who was called in (and which part moved up); post each part to
        its organisation's system when it has a webhook."""
        t = self._t
        called = [e for e in events if isinstance(e, PartOpened | PartEscalated)]
        for event in events:
            if isinstance(event, WhistleBlown):
                opened = [e for e in called if isinstance(e, PartOpened)]
                due = opened[0] if opened else None
                if due is None:
                    body = bilingual(N_("Ticket %(ticket)s: the street office called in %(departments)s"),
                                     ticket=t.ticket_id, departments=Items(event.departments))
                else:
                    body = with_fallback(bilingual(
                        N_("Ticket %(ticket)s: the street office called in %(departments)s; report in by "
                           "%(report)s, resolve by %(resolve)s."), ticket=t.ticket_id,
                        departments=Items(event.departments), report=beijing(due.report_due),
                        resolve=beijing(due.resolve_due)), due.fallback_years)
                title = bilingual(N_("Departments called in"))
                await self._notify("whistle", (title[0], body[0]), (title[1], body[1]))
            elif isinstance(event, PartEscalated):
                title = bilingual(N_("A department missed its deadline"))
                body = bilingual(N_("Ticket %(ticket)s part %(part)s: %(from_org)s missed its deadline; now with "
                                    "%(to_org)s, resolve by %(resolve)s."), ticket=t.ticket_id, part=event.part,
                                 from_org=event.from_org, to_org=event.to_org, resolve=beijing(event.resolve_due))
                await self._notify(f"part-{event.part}-escalated", (title[0], body[0]), (title[1], body[1]))
        for event in called:
            org = event.org if isinstance(event, PartOpened) else event.to_org
            await self._post(WebhookDispatch(ticket_id=t.ticket_id, n=event.part, org=org, at=workflow.now(),
                                             part=event.part))

    async def _post(self, dispatch: WebhookDispatch) -> None:
        retry = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5),
                            maximum_attempts=self._in.webhook_attempts)
        try:
            await workflow.execute_activity("dispatch_escalation_webhook", dispatch, result_type=bool,
                                            start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=retry)
        except ActivityError as exc:  # the inbox still shows it; the deadlines run regardless
            if is_cancelled_exception(exc):
                raise
            workflow.logger.warning("escalation.webhook_failed", extra={"ticket_id": dispatch.ticket_id,
                                                                         "org": dispatch.org})

    async def _callback(self, kind: str, ref: Appended) -> None:
        """A signed callback to the hotline that created the ticket (activities/hotline.py), retried; one that
        never got through is recorded as failed and the ticket goes on."""
        attempts = self._in.webhook_attempts
        retry = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=5),
                            maximum_attempts=attempts)
        try:
            await workflow.execute_activity(
                "hotline_callback", HotlineCallback(ticket_id=self._t.ticket_id, kind=kind, seq=ref.seq,
                                                    at=workflow.now(), attempts=attempts),
                result_type=bool, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=retry)
        except ActivityError as exc:
            if is_cancelled_exception(exc):
                raise
            workflow.logger.warning("escalation.hotline_callback_failed", extra={"ticket_id": self._t.ticket_id,
                                                                                 "kind": kind})
