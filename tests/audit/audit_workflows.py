"""Workflows defined for the audit tests only (in their own module so the Replayer's sandbox can import them).

- ``ChangedBallotBox``: the ballot box after a code change that is not replay-compatible (it witnesses the
  head before opening the box, so its first command differs from every recorded history).
- ``EscalatingProcedure``: a parent whose vote runs as a child ``BallotBox`` with id and stream ``<id>/vote-1``,
  the shape of a procedure with escalations: the audit must find and check the child by its id prefix.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.box import Checkpoint, StreamRef
    from workflows.ballot_box import BoxParams, BoxResult


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
