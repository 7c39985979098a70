"""Workflows defined for the audit tests only (in their own module so the Replayer's sandbox can import them).

- ``ChangedBallotBox``: the ballot box after a code change that is not replay-compatible (it witnesses the
  head before opening the box, so its first command differs from every recorded history).
- ``EscalatingProcedure``: a parent whose vote runs as a child ``BallotBox`` with id and stream ``<id>/vote-1``,
  the shape of a procedure with escalations: the audit must find and check the child by its id prefix.
- ``TicketingProcedure``: a parent that starts the real ``Escalation`` workflow as a child ticket with id and
  stream ``<id>/esc-<subject>`` and ``parent_id`` = its own id, as ``workflows/escalating.py`` does (the ticket
  outlives this parent: it is cancelled by the test).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.box import Checkpoint, StreamRef
    from workflows.ballot_box import BoxParams, BoxResult
    from workflows.escalation import EscalationInput, EscalationResult


@workflow.defn(name="BallotBox")
class ChangedBallotBox:
    @workflow.run
    async def run(self, params: BoxParams) -> BoxResult:
        ref = StreamRef(deliberation_id=params.open.deliberation_id)
        await workflow.execute_activity("record_checkpoint", ref, result_type=Checkpoint,
                                        start_to_close_timeout=timedelta(seconds=60))
        raise RuntimeError("not reached in replay")


@workflow.defn(name="AuditTestProcedure")
class EscalatingProcedure:
    @workflow.run
    async def run(self, params: BoxParams) -> BoxResult:
        return await workflow.execute_child_workflow(
            "BallotBox", params, id=params.open.deliberation_id, result_type=BoxResult)


@workflow.defn(name="AuditTicketProcedure")
class TicketingProcedure:
    @workflow.run
    async def run(self, params: EscalationInput) -> str:
        child = await workflow.start_child_workflow(
            "Escalation", params, id=params.ticket_id, result_type=EscalationResult,
            parent_close_policy=ParentClosePolicy.ABANDON)
        return child.id
