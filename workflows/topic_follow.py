"""Following where a topic was sent: the escalation ticket it routed to (a child ``Escalation`` it started, or one a
meeting opened), the procedure it was routed to, or the vote a meeting put it to. Each is followed beside the
topic's own waiting; its end is recorded with ``RouteOutcome`` (:mod:`domain.topic_rules`).

``RouteFollowers`` is a base of ``TopicWorkflow`` (``workflows/topic.py``): it uses that class's ``_version`` and
``_route_outcome``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ChildWorkflowError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.escalation import EscalationOutcome, TicketQuery
    from activities.topics import DeliberationOutcome, OutcomeQuery
    from domain.topics import Topic

from workflows.escalation import EscalationInput, EscalationResult
from workflows.policies import ACTIVITY_TIMEOUT

FOLLOW = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=10))
"""How often a ticket or deliberation this run does not hold a handle to is looked at until it has ended."""


class RouteFollowers:
    _version: int

    def __init__(self) -> None:
        self._followers: dict[str, asyncio.Task[None]] = {}
        self._children: dict[str, workflow.ChildWorkflowHandle] = {}
        self._starting: set[str] = set()

    async def _route_outcome(self, stream: str, status: str, outcome: str, resolution: str,
                             approved: bool | None) -> None:
        raise NotImplementedError

    def _follow(self, topic: Topic) -> None:
        """Start following what the topic waits for, once per stream."""
        waiting = topic.awaiting
        if waiting is None or waiting.stream in self._followers or waiting.stream in self._starting:
            return
        if waiting.kind == "ticket":
            follower = self._ticket_ended(waiting.stream)
        else:
            follower = self._deliberation_ended(waiting.stream, "count" if waiting.kind == "vote" else "close")
        self._followers[waiting.stream] = asyncio.create_task(follower)

    async def _start_ticket(self, params: EscalationInput) -> None:
        """Start the ticket (吹哨); its id is never reused: a ticket found started already is followed instead.
        The ticket outlives the topic's workflow (``ABANDON``): once blown, the whistle belongs to the ladder."""
        try:
            self._children[params.ticket_id] = await workflow.start_child_workflow(
                "Escalation", params, id=params.ticket_id, result_type=EscalationResult,
                parent_close_policy=ParentClosePolicy.ABANDON, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
        except WorkflowAlreadyStartedError:
            workflow.logger.info("topic.ticket_adopted", extra={"ticket_id": params.ticket_id})
        finally:
            self._starting.discard(params.ticket_id)
            self._version += 1  # wake the main loop: it follows the ticket now

    async def _ticket_ended(self, ticket_id: str) -> None:
        child = self._children.get(ticket_id)
        if child is not None:
            try:
                result: EscalationResult = await child
            except ChildWorkflowError as exc:  # cancelled or terminated by an operator
                result = EscalationResult(ticket_id=ticket_id, status="ended", outcome="ticket_ended",
                                          resolution=str(exc.cause or exc)[:500])
            status, outcome, resolution = result.status, result.outcome, result.resolution
        else:
            found: EscalationOutcome = await workflow.execute_activity(
                "escalation_outcome", TicketQuery(ticket_id=ticket_id), result_type=EscalationOutcome,
                start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=FOLLOW)
            status, outcome, resolution = found.status, found.outcome, found.resolution
        await self._route_outcome(ticket_id, status, outcome or status, resolution or "", None)

    async def _deliberation_ended(self, deliberation_id: str, until: str) -> None:
        found: DeliberationOutcome = await workflow.execute_activity(
            "deliberation_outcome", OutcomeQuery(deliberation_id=deliberation_id, until=until),  # type: ignore[arg-type]
            result_type=DeliberationOutcome,
            start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=FOLLOW)
        text = f"{found.outcome}: {found.note}" if found.note and found.note != found.outcome else found.outcome
        await self._route_outcome(deliberation_id, found.status, found.outcome, text, found.approved)
