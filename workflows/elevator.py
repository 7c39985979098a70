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
    from domain.errors import N_, Label
    from domain.events import Question
    from domain.numbers import Area
    from domain.stage_events import CostPlanProposed, PermitDecided, ShareConfirmed, SharesUnconfirmed, StageEvent
    from yishi.i18n import bilingual

from workflows.common import (
    ACTIVITY_TIMEOUT,
    RETRY,
    ProcedureInput,
    ProcedureResult,
    ProcedureWorkflow,
    Task,
    TaskCompletion,
    TaskReceipt,
    beijing,
    reject,
)

QUESTION = bilingual(N_("Do you agree to install an elevator in this entrance?"))


class ElevatorInput(ProcedureInput):
    question_zh: str = QUESTION[0]
    question_en: str = QUESTION[1]
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
                         *bilingual(N_("Feasibility check (community / street office)")))

    async def _stage_notice(self) -> None:
        question = (self._in.question_zh, self._in.question_en)
        rule = bilingual(N_("Rule: %(rule)s."), rule=self._in.rule_id)
        await self._notice_stage("consultation_notice", "consultation",
                                 bilingual(N_("Consultation: %(title)s"), title=self._in.title),
                                 (f"{question[0]} {rule[0]}", f"{question[1]} {rule[1]}"), "voting")

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
        await self._notify("cost_plan", bilingual(N_("Cost-sharing plan")), bilingual(
            N_("Total %(total)s yuan shared by floor coefficients; confirm your share through your link."),
            total=plan.total))
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
                "publicity", *bilingual(N_("Public notice of the plan (公示)")),
                *bilingual(N_("During the notice period owners may object through their link.")))):
            self._s.next = "permit"
        else:
            await self._close("objection_upheld")

    async def _stage_permit(self) -> None:
        task = await self._task("permit", ("committee",), ("granted", "refused"),
                                *bilingual(N_("Permit application decision")), "permit", needs_document=True)
        if task.outcome == "granted":
            self._s.next = "construction"
        else:
            await self._close("permit_refused", task.document_no or "")

    async def _stage_construction(self) -> None:
        await self._task("construction", ("committee",), ("completed",), *bilingual(N_("Construction finished")),
                         "construction")
        self._s.next = "acceptance"

    async def _stage_acceptance(self) -> None:
        task = await self._task("acceptance", ("committee", "street_office"), ("passed", "failed"),
                                *bilingual(N_("Acceptance inspection")), "acceptance", needs_note=("failed",))
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
            raise reject(N_("shares are confirmed during '%(stage)s', not '%(current)s'"), "WrongStage",
                         stage=Label("stage", "cost_sharing"), current=Label("stage", self._s.stage, "elevator"))
        if c.owner_id not in self._plan_shares():
            raise reject(N_("owner %(owner)s has no share in this plan"), "NotInScope", owner=c.owner_id)
        if c.owner_id in self._s.confirmed:
            when: datetime = self._s.confirmed[c.owner_id]
            raise reject(N_("owner %(owner)s confirmed at %(when)s"), "AlreadyConfirmed", owner=c.owner_id,
                         when=beijing(when))
