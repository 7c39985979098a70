"""The ballot box as a child workflow: open, witness the stream head while open, seal and tally.

Ballots never pass through here (ARCHITECTURE.md): the web tier appends them to the stream. This
workflow records checkpoints ``(seq, hash)`` of the stream head in its own history, so rewriting the
database after a checkpoint is detectable without trusting the database, and returns the final head for
the result notice. Procedure workflows (elevator, property, consultation) run it as a child.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.box import Checkpoint, OpenBoxInput, SealInput, SealOutcome, StreamRef

from workflows.policies import ACTIVITY_TIMEOUT, RETRY

# Patch: once the last wait is over (deadline reached or withdrawn), seal without a record_checkpoint first.
# Histories from before it still run that checkpoint (tests/histories/ballot_box_*_before_final_checkpoint_patch).
SEAL_WITHOUT_FINAL_CHECKPOINT = "box-seal-without-final-checkpoint"
# Patch: a box withdrawn while its record_checkpoint ran seals in this run when continue-as-new is then suggested
# (BoxParams does not carry the withdrawal: the next run stayed open). Histories from before it continue as new
# there (tests/histories/ballot_box_withdrawn_at_continue_as_new_before_withdrawn_can_patch.json).
SEAL_WITHDRAWN_BEFORE_CONTINUE_AS_NEW = "box-seal-withdrawn-before-continue-as-new"
# Patch: a box opened with a paper-entry window (OpenBoxInput.paper_entry_until) seals when it ends, not at the close.
# Every history from before it had no window and sealed at closes_at (tests/histories/ballot_box_deadline.json and the
# other ballot_box_*.json; elevator.json, property.json, consultation.json for the boxes of procedures).
SEAL_AFTER_PAPER_ENTRY = "box-seal-after-paper-entry"


class BoxParams(BaseModel):
    open: OpenBoxInput
    checkpoint_every: timedelta = timedelta(hours=1)
    # Carried over continue-as-new: the box is already open and these were witnessed before.
    opened: bool = False
    last_checkpoint: Checkpoint | None = None


class BoxResult(BaseModel):
    outcome: SealOutcome
    checkpoints: list[Checkpoint]


@workflow.defn(name="BallotBox")
class BallotBoxWorkflow:
    def __init__(self) -> None:
        self._checkpoints: list[Checkpoint] = []
        self._seal_early: str | None = None

    @workflow.run
    async def run(self, params: BoxParams) -> BoxResult:
        ref = StreamRef(deliberation_id=params.open.deliberation_id)
        if params.last_checkpoint is not None:
            self._checkpoints.append(params.last_checkpoint)
        if not params.opened:
            self._checkpoints.append(await workflow.execute_activity(
                "open_box", params.open, result_type=Checkpoint,
                start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY))
        # The deadline the box waits for: the close, or the end of paper entry after it (online ballots are still
        # refused from the close by the web tier; the witness checkpoints go on while paper ballots come in).
        closes_at: datetime = params.open.closes_at
        if params.open.paper_entry_until is not None and workflow.patched(SEAL_AFTER_PAPER_ENTRY):
            closes_at = max(closes_at, params.open.paper_entry_until)
        while workflow.now() < closes_at and self._seal_early is None:
            wait = min(params.checkpoint_every, closes_at - workflow.now())
            try:
                await workflow.wait_condition(lambda: self._seal_early is not None, timeout=wait)
            except TimeoutError:
                pass
            closing = workflow.now() >= closes_at or self._seal_early is not None
            if closing and workflow.patched(SEAL_WITHOUT_FINAL_CHECKPOINT):
                break  # seal_box's outcome witnesses the final head: a checkpoint here would add nothing
            self._checkpoints.append(await workflow.execute_activity(
                "record_checkpoint", ref, result_type=Checkpoint,
                start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY))
            if workflow.info().is_continue_as_new_suggested() and workflow.now() < closes_at:
                if self._seal_early is not None and workflow.patched(SEAL_WITHDRAWN_BEFORE_CONTINUE_AS_NEW):
                    break  # withdrawn while the checkpoint ran: seal now, the next run would not know
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(params.model_copy(
                    update={"opened": True, "last_checkpoint": self._checkpoints[-1]}))
        seal_at = max(workflow.now(), closes_at) if self._seal_early is None else workflow.now()
        outcome = await workflow.execute_activity(
            "seal_box", SealInput(deliberation_id=ref.deliberation_id, at=seal_at,
                                  reason=self._seal_early or "deadline"),
            result_type=SealOutcome, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)
        self._checkpoints.append(outcome.head)
        return BoxResult(outcome=outcome, checkpoints=self._checkpoints)

    @workflow.query
    def checkpoints(self) -> list[Checkpoint]:
        return self._checkpoints

    @workflow.signal
    def withdraw(self, reason: str) -> None:
        """The committee withdraws the vote (e.g. the parent deliberation is cancelled): seal now."""
        self._seal_early = reason or "withdrawn"
