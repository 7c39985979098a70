"""Escalation tickets of the procedure workflows (issue 6): each subject (an objection the committee could not
mediate, a missed hand-over) gets one ``Escalation`` child workflow with id and stream ``<deliberation>/esc-<subject>``,
stood for on the console by a task with no role that is completed (with ``EscalationResolved``) when the ticket ends.

The ``escalation-ticket-once`` patch starts the ticket with an id that is never reused: after a reset of the
deliberation the ticket that already exists is adopted and followed through its stream instead of started twice.
Cancelling the deliberation cancels its open tickets (``_cancel_tickets``); how a ticket records that, even before
it has opened (the ``escalation-cancel-before-open`` patch), is the ``Escalation`` workflow's own code
(``workflows/escalation.py``).

``EscalationTickets`` is a base of ``ProcedureWorkflow`` (``workflows/common.py``): it uses that class's state
(``_in``, ``_s``, ``_lock``, ``_followers``, ``_cancelling``, set in its ``__init__``) and its ``_open_task`` and
``_append``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import (
    ChildWorkflowError,
    FailureError,
    WorkflowAlreadyStartedError,
    is_cancelled_exception,
)
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.escalation import EscalationOutcome, TicketQuery
    from domain.errors import N_
    from domain.escalation import EvidenceRef
    from domain.stage_events import EscalationResolved, EscalationStarted, TaskCompleted
    from yishi.i18n import bilingual

from workflows.escalation import EscalationInput, EscalationResult
from workflows.policies import ACTIVITY_TIMEOUT

if TYPE_CHECKING:
    from workflows.common import ProcedureInput, ProcedureState, Task

FOLLOW = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=10))
"""How often a ticket this run did not start (see ``_ticket_adopted``) is looked at until it has ended."""


class EscalationTickets:
    """Start, follow, adopt and cancel a procedure's escalation tickets (child ``Escalation`` workflows)."""

    _in: ProcedureInput
    _s: ProcedureState
    _lock: asyncio.Lock
    _followers: list[asyncio.Task[None]]
    _cancelling: bool

    async def _escalation_child(self, subject: str, title: str, detail: str, evidence: tuple[EvidenceRef, ...],
                                *, category: str, outcomes: tuple[str, ...], reason: str,
                                start_level: str = "street") -> Task:
        """Start an Escalation child for ``subject``; a task with no role stands for it on the console and
        is completed (with ``EscalationResolved``) when the child ends. Cancelling this workflow cancels it."""
        did = self._in.deliberation_id
        ticket_id = f"{did}/esc-{subject}"
        task = await self._open_task(
            "escalation", (), outcomes,
            *bilingual(N_("Street office / departments: %(title)s (ticket %(ticket)s)"), title=title, ticket=ticket_id),
            subject=subject)
        await self._append(f"escalation:{subject}", EscalationStarted(
            at=workflow.now(), task_id=task.task_id, subject=subject, ticket_id=ticket_id, category=category,
            start_level=start_level, reason=reason))
        params = EscalationInput(
            ticket_id=ticket_id, parent_id=did, community=self._in.community, category=category,
            subject=title, detail=detail, evidence=evidence, initiator=self._in.initiated_by,
            initiator_kind="owner" if self._in.initiator_role == "owner" else "committee",
            start_level=start_level, outcomes=outcomes, holiday_file=self._in.holiday_file)
        if workflow.patched("escalation-ticket-once"):
            follower = await self._start_ticket(params, task.task_id, subject)
        else:  # histories recorded before: the default id reuse policy, under which a reset could run it twice
            child = await workflow.start_child_workflow(
                "Escalation", params, id=ticket_id, result_type=EscalationResult,
                parent_close_policy=ParentClosePolicy.REQUEST_CANCEL)
            follower = self._ticket_ended(child, task.task_id, subject)
        # Followed beside the stage: the objection window (or the hand-over) waits on the task, not the child.
        self._followers.append(asyncio.create_task(follower))
        return task

    async def _start_ticket(self, params: EscalationInput, task_id: str, subject: str
                            ) -> Coroutine[Any, Any, None]:
        """Start the ticket's workflow; its id is never reused. After a reset of this workflow to a point before
        this start, the ticket exists already (running, or ended): the start is refused and that ticket is
        followed, so a subject has one ticket and its facts and notices are not recorded or sent again."""
        try:
            child = await workflow.start_child_workflow(
                "Escalation", params, id=params.ticket_id, result_type=EscalationResult,
                parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
        except WorkflowAlreadyStartedError:
            workflow.logger.info("escalation.adopted %s", params.ticket_id)
            return self._ticket_adopted(params.ticket_id, task_id, subject)
        return self._ticket_ended(child, task_id, subject)

    async def _cancel_tickets(self) -> None:
        """Cancel the open escalation tickets with the deliberation, and wait until each has recorded it
        (the REQUEST_CANCEL close policy would also ask, but only once this run has closed)."""
        self._cancelling = True
        running = [f for f in self._followers if not f.done()]
        for follower in running:
            follower.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    async def _ticket_ended(self, child: workflow.ChildWorkflowHandle, task_id: str, subject: str) -> None:
        try:
            result: EscalationResult = await child
        except ChildWorkflowError as exc:
            if self._cancelling:
                raise
            # Ended on its own (cancelled or terminated by an operator): recorded, so the stage is not held forever.
            result = EscalationResult(ticket_id=child.id, status="ended", outcome="ticket_ended",
                                      resolution=str(exc.cause or exc)[:500])
        await self._record_ticket_end(task_id, subject, result)

    async def _ticket_adopted(self, ticket_id: str, task_id: str, subject: str) -> None:
        """Follow a ticket this run found already started: its end is read from its stream."""
        try:
            found: EscalationOutcome = await workflow.execute_activity(
                "escalation_outcome", TicketQuery(ticket_id=ticket_id), result_type=EscalationOutcome,
                start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=FOLLOW)
        except BaseException as exc:
            if self._cancelling and is_cancelled_exception(exc):
                # Not this run's child, so no close policy covers it: ask it to end with the deliberation.
                try:
                    await workflow.get_external_workflow_handle(ticket_id).cancel()
                except FailureError as failed:  # it has ended meanwhile
                    workflow.logger.info("escalation.cancel_skipped %s %s", ticket_id, failed)
            raise
        if found.status == "cancelled":  # as a child that ended on its own is recorded (see _ticket_ended)
            result = EscalationResult(ticket_id=ticket_id, status="ended", outcome="ticket_ended",
                                      resolution=" / ".join(bilingual(N_("the ticket was cancelled"))))
        else:
            result = EscalationResult(**found.model_dump())
        await self._record_ticket_end(task_id, subject, result)

    async def _record_ticket_end(self, task_id: str, subject: str, result: EscalationResult) -> None:
        async with self._lock:
            task = self._s.tasks[task_id]
            outcome = result.outcome or result.status
            await self._append(f"task:{task_id}:done", TaskCompleted(
                at=workflow.now(), task_id=task_id, role="escalation", actor=result.ticket_id, outcome=outcome,
                note=result.resolution or ""), EscalationResolved(
                at=workflow.now(), task_id=task_id, subject=subject, outcome=outcome, note=result.resolution or ""))
            task.status, task.outcome, task.role, task.actor = "done", outcome, "escalation", result.ticket_id
            task.note = result.resolution or ""
            self._s.version += 1
