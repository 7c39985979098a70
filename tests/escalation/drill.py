"""A procedure of one stage that escalates at once: the shared escalation code of ``ProcedureWorkflow`` on its
own, for tests on the real dev server (which can reset a workflow, and runs in real time)."""

from __future__ import annotations

from temporalio import workflow

from workflows.common import ProcedureInput, ProcedureResult, ProcedureWorkflow


@workflow.defn(name="EscalationDrill")
class EscalationDrill(ProcedureWorkflow):
    @workflow.init
    def __init__(self, params: ProcedureInput) -> None:
        super().__init__(params)

    @workflow.run
    async def run(self, params: ProcedureInput) -> ProcedureResult:
        return await self._drive()

    async def _stage_start(self) -> None:
        await self._enter("escalated")
        task = await self._escalation_child(
            "drill", "楼道堆物", "物业未清理3栋楼道堆物（演练）", (), category="urban_management",
            outcomes=("resolved",), reason="drill")
        task = await self._await_task(task)
        await self._close(task.outcome or "")
