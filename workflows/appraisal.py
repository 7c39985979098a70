"""业主评议物业: one appraisal's window as a durable process (issue 20).

The service records the appraisal opened (its items, company, frozen roll) and starts this workflow, which holds
what waits on time: it witnesses the opening, reminds the owners who have not rated at ``remind_at``, closes at
``closes_at`` and records the exact result (activities/appraisal.py). Each step returns the stream's head, which
this history keeps: ``yishi audit verify appraisal-…`` replays the history and holds the stream against those heads
and the recorded result against a recount. Ratings do not travel through the workflow: owners' ratings are
appended to the stream by the web tier, decided under the stream's lock (yishi/services/appraisals.py).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.appraisal import AppraisalHead, AppraisalStep
    from domain.operator import Operator

from workflows.policies import ACTIVITY_TIMEOUT, RETRY


class AppraisalInput(BaseModel):
    appraisal_id: str
    roll_digest: str
    closes_at: datetime
    remind_at: datetime | None = None


class CloseRequest(BaseModel):
    """The committee closes the appraisal before its window ends (signal ``close_now``)."""

    by: Operator


CLOSE_EARLY_PATCH = "appraisal-close-early"


class AppraisalOutcome(BaseModel):
    appraisal_id: str
    seq: int
    hash: str
    score: str | None
    raters: int


@workflow.defn(name="Appraisal")
class AppraisalWorkflow:
    def __init__(self) -> None:
        self._close: CloseRequest | None = None

    @workflow.signal
    def close_now(self, request: CloseRequest) -> None:
        """The committee's early close (the first one counts); the close is decided on the stream as at the deadline."""
        if self._close is None:
            self._close = request

    @workflow.run
    async def run(self, params: AppraisalInput) -> AppraisalOutcome:
        await self._step("witness_appraisal_open", params)
        early = workflow.patched(CLOSE_EARLY_PATCH)  # before it, the windows were slept through
        if params.remind_at is not None and workflow.now() < params.remind_at:
            await (self._until(params.remind_at) if early else workflow.sleep(params.remind_at - workflow.now()))
            if self._close is None:
                head = await self._step("remind_appraisal", params)
                workflow.logger.info("appraisal.reminded", extra={"appraisal_id": params.appraisal_id,
                                                                   "pending": head.pending})
        if workflow.now() < params.closes_at and self._close is None:
            await (self._until(params.closes_at) if early else workflow.sleep(params.closes_at - workflow.now()))
        head = await self._step("close_appraisal", params, self._close)
        result = head.results or {}
        return AppraisalOutcome(appraisal_id=params.appraisal_id, seq=head.seq, hash=head.hash,
                                score=result.get("score"), raters=int(result.get("raters", 0)))

    async def _until(self, at: datetime) -> None:
        """Until ``at``, or the committee's early close."""
        try:
            await workflow.wait_condition(lambda: self._close is not None, timeout=at - workflow.now())
        except TimeoutError:
            pass

    async def _step(self, name: str, params: AppraisalInput, close: CloseRequest | None = None) -> AppraisalHead:
        step = AppraisalStep(appraisal_id=params.appraisal_id, at=workflow.now(), roll_digest=params.roll_digest,
                             **({"by": close.by, "reason": "committee"} if close is not None else {}))
        return await workflow.execute_activity(name, step, result_type=AppraisalHead,
                                               start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)
