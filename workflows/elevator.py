"""加装电梯 (elevator installation) for one entrance, as a durable process (issue 5, A).

feasibility (human task) → consultation notice → vote (child ballot box, reminders to non-voters) →
result notice with the final head → rejected: closed | approved: cost-sharing plan → each owner confirms
their share → 公示 with objections (mediation, then an escalation ticket) → permit (granted or
refused, with the document number) → construction → acceptance → closed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.stages import CostPlanInput
    from domain.events import Question
    from domain.numbers import Area
    from domain.stage_events import CostPlanProposed, PermitDecided, ShareConfirmed, SharesUnconfirmed, StageEvent

from workflows.common import (
    ACTIVITY_TIMEOUT,
    RETRY,
    ProcedureInput,
    ProcedureResult,
    ProcedureWorkflow,
    Task,
    TaskCompletion,
    TaskReceipt,
    reject,
)


class ElevatorInput(ProcedureInput):
    question_zh: str = "是否同意本单元加装电梯？"
    question_en: str = "Do you agree to install an elevator in this entrance?"
    cost_total: Area = Decimal("600000")
    coefficients: dict[str, Area] = {}
    ground_floor: str = "1"
    ground_coefficient: Area = Decimal(0)
    by_area: bool = True


class ShareConfirmation(BaseModel):
    owner_id: str


@workflow.defn(name="Elevator")
class ElevatorWorkflow(ProcedureWorkflow):
    objection_stage = "publicity"

    @workflow.init
    def __init__(self, params: ElevatorInput) -> None:
        super().__init__(params)
        self._in: ElevatorInput = params

    @workflow.run
    async def run(self, params: ElevatorInput) -> ProcedureResult:
        return await self._drive()

    async def _stage_start(self) -> None:
        await self._gate("feasibility", ("committee", "street_office"), ("feasible", "not_feasible"),
                         "加装电梯可行性审查（社区/街道）", "Feasibility check (community / street office)")

    async def _stage_notice(self) -> None:
        await self._notice_stage("consultation_notice", "consultation", (
            f"{self._in.title}征询公告", f"Consultation: {self._in.title}"), (
            f"{self._in.question_zh} 表决规则：{self._in.rule_id}。",
            f"{self._in.question_en} Rule: {self._in.rule_id}."), "voting")

    async def _stage_voting(self) -> None:
        outcome = await self._vote((Question(id="main", text_zh=self._in.question_zh, text_en=self._in.question_en),))
        await self._result_notice(self._in.title)
        if outcome.approved:
            self._s.next = "cost_sharing"
        else:
            await self._close(outcome.outcome, "a new attempt may be started with previous_id")

    async def _stage_cost_sharing(self) -> None:
        until = await self._until("share_confirmation")
        end = until.ends_at
        await self._enter("cost_sharing", until)
        p = self._in
        plan = await workflow.execute_activity(
            "propose_cost_plan", CostPlanInput(
                deliberation_id=p.deliberation_id, plan_id=f"plan-{self._s.step}", roll_digest=p.roll_digest,
                scope=p.scope, total=p.cost_total, coefficients=p.coefficients, ground_floor=p.ground_floor,
                ground_coefficient=p.ground_coefficient, by_area=p.by_area, at=workflow.now()),
            result_type=CostPlanProposed, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)
        self._s.extra["plan"] = plan.model_dump_json()
        self._s.version += 1
        await self._notify("cost_plan", ("费用分摊方案", "Cost-sharing plan"), (
            f"总费用 {plan.total} 元，按楼层系数分摊；请通过个人链接确认您的份额。",
            f"Total {plan.total} yuan shared by floor coefficients; confirm your share through your link."))
        owners = {s.owner_id for s in plan.shares}
        try:
            await workflow.wait_condition(lambda: owners <= set(self._s.confirmed),
                                          timeout=max(end - workflow.now(), timedelta(0)))
        except TimeoutError:
            missing = tuple(sorted(owners - set(self._s.confirmed)))
            await self._append(f"plan:{plan.plan_id}:unconfirmed",
                               SharesUnconfirmed(at=workflow.now(), plan_id=plan.plan_id, owners=missing))
        self._s.next = "publicity"

    async def _stage_publicity(self) -> None:
        if await self._objection_window("publicity", "publicity", (
                "publicity", "加装电梯方案公示", "Public notice of the plan (公示)",
                "方案公示期内，业主可通过个人链接提出异议。",
                "During the notice period owners may object through their link.")):
            self._s.next = "permit"
        else:
            await self._close("objection_upheld")

    async def _stage_permit(self) -> None:
        task = await self._task("permit", ("committee",), ("granted", "refused"), "规划/建设许可申请结果",
                                "Permit application decision", "permit", needs_document=True)
        if task.outcome == "granted":
            self._s.next = "construction"
        else:
            await self._close("permit_refused", task.document_no or "")

    async def _stage_construction(self) -> None:
        await self._task("construction", ("committee",), ("completed",), "施工完成", "Construction finished",
                         "construction")
        self._s.next = "acceptance"

    async def _stage_acceptance(self) -> None:
        task = await self._task("acceptance", ("committee", "street_office"), ("passed", "failed"), "竣工验收",
                                "Acceptance inspection", "acceptance", needs_note=("failed",))
        if task.outcome == "passed":
            await self._close("completed")
        else:
            self._s.next = "construction"

    async def _facts(self, task: Task, c: TaskCompletion) -> list[StageEvent]:
        if task.kind == "permit":
            return [PermitDecided(at=workflow.now(), granted=c.outcome == "granted", document_no=c.document_no or "")]
        return await super()._facts(task, c)

    def _plan_shares(self) -> dict[str, Decimal]:
        raw = self._s.extra.get("plan")
        if raw is None:
            return {}
        return {s.owner_id: s.amount for s in CostPlanProposed.model_validate_json(raw).shares}

    def _may_object(self, owner_id: str) -> bool:
        return owner_id in self._plan_shares()

    @workflow.update
    async def confirm_share(self, confirmation: ShareConfirmation) -> TaskReceipt:
        """An owner confirms their share of the cost-sharing plan (from their personal link)."""
        async with self._lock:
            self._check_share(confirmation)
            amount = self._plan_shares()[confirmation.owner_id]
            plan_id = CostPlanProposed.model_validate_json(self._s.extra["plan"]).plan_id
            ref = await self._append(f"share:{plan_id}:{confirmation.owner_id}", ShareConfirmed(
                at=workflow.now(), plan_id=plan_id, owner_id=confirmation.owner_id, amount=amount))
            self._s.confirmed[confirmation.owner_id] = workflow.now()
            self._s.version += 1
        return TaskReceipt(task_id=f"share:{confirmation.owner_id}", seq=ref.seq, hash=ref.hash)

    @confirm_share.validator
    def _validate_confirm_share(self, confirmation: ShareConfirmation) -> None:
        self._check_share(confirmation)

    def _check_share(self, c: ShareConfirmation) -> None:
        if self._s.stage != "cost_sharing" or "plan" not in self._s.extra:
            raise reject(f"当前为“{self._s.stage}”阶段，不在确认分摊份额期间",
                         f"shares are confirmed during 'cost_sharing', not '{self._s.stage}'", "WrongStage")
        if c.owner_id not in self._plan_shares():
            raise reject(f"业主 {c.owner_id} 不在本单元分摊方案中", f"owner {c.owner_id} has no share in this plan",
                         "NotInScope")
        if c.owner_id in self._s.confirmed:
            when: datetime = self._s.confirmed[c.owner_id]
            raise reject(f"业主 {c.owner_id} 已于 {when:%Y-%m-%d %H:%M} 确认",
                         f"owner {c.owner_id} confirmed at {when}", "AlreadyConfirmed")
