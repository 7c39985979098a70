"""议事会 / 周末议事厅 (community consultation), as a durable process (issue 5, C; the meeting loop of issue 16).

an issue raised by residents or a grid worker → the committee accepts or declines with a reason within a
deadline → a meeting is convened with the issue as its agenda item (workflows/consultation_meeting.py) → the
parties (party members, residents' committee, owner representatives, property company) state their positions
through their invitation links → the meeting decides: consensus on an option, a vote among the options agreed
(headcount majority of participants, or a 278 rule when the matter is one), escalated, or deferred to a next
meeting → implementation milestones → residents' satisfaction feedback → closed.

Runs started before the ``consultation-meeting`` patch posted a meeting notice, opened position tasks completed by
role, and always voted on every option; they keep doing so on replay.
"""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

from pydantic import AwareDatetime, BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.errors import N_, Items, Label, Text
    from domain.events import Question
    from domain.meeting_events import MeetingKind, Option
    from domain.procedures import select_candidate
    from domain.stage_events import FeedbackRecorded, MilestoneRecorded, PositionRecorded, StageEvent
    from domain.tally_result import TallyResult
    from yishi.i18n import bilingual

from workflows.common import (
    ProcedureInput,
    ProcedureResult,
    ProcedureWorkflow,
    Task,
    TaskCompletion,
    TaskReceipt,
    reject,
)
from workflows.consultation_meeting import CONSULTATION_MEETING, MeetingLoop
from workflows.meeting import CONFIRM, REMIND_BEFORE, MeetingNote

PARTIES = ("party_member", "residents_committee", "owner_rep", "property_company")


class ConsultationInput(ProcedureInput):
    issue: str = ""
    options: tuple[Option, ...] = (Option(id="main", text="同意该方案 / adopt the proposal"),)
    parties: tuple[str, ...] = PARTIES
    milestones: tuple[str, ...] = ()
    party_names: dict[str, str] = {}
    """Party (role) -> the name its invitation shows (default: 党员, 社居委, 业主代表, 物业公司)."""
    meeting_at: AwareDatetime | None = None
    """When the meeting starts (default: when the ``notice`` period ends); positions are stated until then."""
    place: str = "社区议事厅"
    meeting_kind: MeetingKind = "council"
    meeting_remind_before: str = REMIND_BEFORE
    """The meeting's reminder to the parties before it starts (the ``remind_before`` period is the vote's)."""
    meeting_confirm: str = CONFIRM
    """The window in which the parties confirm the meeting's minutes."""


class FeedbackInput(BaseModel):
    owner_id: str
    score: int
    comment: str = ""
    recorded_by: str | None = None
    """Who typed it in from a paper form (name and role), when the owner did not give it through the link."""


@workflow.defn(name="Consultation")
class ConsultationWorkflow(MeetingLoop, ProcedureWorkflow):
    @workflow.init
    def __init__(self, params: ConsultationInput) -> None:
        super().__init__(params)
        self._in: ConsultationInput = params

    @workflow.run
    async def run(self, params: ConsultationInput) -> ProcedureResult:
        return await self._drive()

    async def _stage_start(self) -> None:
        await self._gate("acceptance", ("committee",), ("accepted", "declined"),
                         *bilingual(N_("Accept the issue (a refusal needs a reason)")))

    async def _stage_notice(self) -> None:
        if workflow.patched(CONSULTATION_MEETING):
            await self._convene()
            return
        options = Items(Text(N_("%(id)s: %(text)s"), id=o.id, text=o.text) for o in self._in.options)
        await self._notice_stage("meeting_notice", "meeting",
                                 bilingual(N_("Consultation meeting: %(title)s"), title=self._in.title),
                                 bilingual(N_("Issue: %(issue)s. Options: %(options)s"), issue=self._in.issue,
                                           options=options), "positions")

    async def _stage_positions(self) -> None:
        until = await self._until("positions")
        end = until.ends_at
        await self._enter("positions", until)
        choices = (*(o.id for o in self._in.options), "no_position")
        tasks = [await self._open_task("position", (party,), choices,
                                       *bilingual(N_("Position of %(party)s"), party=Label("role", party)),
                                       due=until, subject=party) for party in self._in.parties]
        try:
            await workflow.wait_condition(lambda: all(self._s.tasks[t.task_id].status != "open" for t in tasks),
                                          timeout=max(end - workflow.now(), timedelta(0)))
        except TimeoutError:
            for task in tasks:
                if self._s.tasks[task.task_id].status == "open":
                    await self._overdue(self._s.tasks[task.task_id], "no position recorded", expire=True)
        self._s.next = "voting"

    def _options(self) -> tuple[Option, ...]:
        """The options put to the vote: those the meeting agreed on (every option before the meeting loop)."""
        agreed = self._s.agreed
        return tuple(o for o in self._in.options if o.id in agreed) if agreed else self._in.options

    def _milestones(self) -> tuple[str, ...]:
        return self._s.agreed_milestones or self._in.milestones

    async def _stage_voting(self) -> None:
        options = self._options()
        single = len(options) == 1
        questions = tuple(Question(id="main" if single else f"option:{o.id}", text_zh=o.text, text_en=o.text)
                          for o in options)
        outcome = await self._vote(questions)
        await self._result_notice(self._in.title)
        if single:
            decision = options[0].id if outcome.approved else None
        else:
            results = {q: TallyResult.model_validate(r) for q, r in outcome.results.items()}
            decision = select_candidate(results, prefix="option:").winner
        if decision is None:
            await self._close("no_decision")
        else:
            self._s.extra["decision"] = decision
            self._s.next = "implementation"

    async def _stage_implementation(self) -> None:
        await self._enter("implementation", await self._until("milestone"))
        tasks = [await self._open_task("milestone", ("committee",), ("done",),
                                       *bilingual(N_("Milestone: %(name)s"), name=name), due=self._stage_end(),
                                       subject=f"m{i}")
                 for i, name in enumerate(self._milestones(), start=1)]
        for task in tasks:
            await self._await_task(task)
        self._s.next = "feedback"

    async def _stage_feedback(self) -> None:
        until = await self._until("feedback")
        end = until.ends_at
        await self._enter("feedback", until)
        await self._notify("feedback", bilingual(N_("Satisfaction feedback")),
                           bilingual(N_("Rate how the decision was carried out (1–5) through your link.")))
        await self._sleep_until(end)
        scores = list(self._s.feedback.values())
        mean = Fraction(sum(scores), len(scores)) if scores else None
        await self._close("implemented", f"feedback: {len(scores)} responses, mean {mean if mean is not None else '—'}")

    async def _facts(self, task: Task, c: TaskCompletion) -> list[StageEvent]:
        now = workflow.now()
        if task.kind == "position" and task.subject:
            return [PositionRecorded(at=now, party=task.subject, option=c.outcome, statement=c.note)]
        if task.kind == "milestone" and task.subject:
            name = self._milestones()[int(task.subject[1:]) - 1]
            return [MilestoneRecorded(at=now, milestone=name, by=c.actor or c.role, note=c.note)]
        return await super()._facts(task, c)

    @workflow.update
    async def give_feedback(self, feedback: FeedbackInput) -> TaskReceipt:
        """A resident rates the implementation (1–5) during the feedback period."""
        async with self._lock:
            self._check_feedback(feedback)
            ref = await self._append(f"feedback:{feedback.owner_id}", FeedbackRecorded(
                at=workflow.now(), owner_id=feedback.owner_id, score=feedback.score, comment=feedback.comment,
                recorded_by=feedback.recorded_by))
            self._s.feedback[feedback.owner_id] = feedback.score
            self._s.version += 1
        return TaskReceipt(task_id=f"feedback:{feedback.owner_id}", seq=ref.seq, hash=ref.hash)

    @workflow.signal
    async def meeting_note(self, note: MeetingNote) -> None:
        """The meeting this consultation convened tells it a position stated or the decision on the issue."""
        await self._on_meeting_note(note)

    @give_feedback.validator
    def _validate_give_feedback(self, feedback: FeedbackInput) -> None:
        self._check_feedback(feedback)

    def _check_feedback(self, f: FeedbackInput) -> None:
        if self._s.stage != "feedback":
            raise reject(N_("feedback is taken during '%(stage)s', not '%(current)s'"), "WrongStage",
                         stage=Label("stage", "feedback"), current=Label("stage", self._s.stage, "consultation"))
        if not 1 <= f.score <= 5:
            raise reject(N_("the score must be 1 to 5"), "BadScore")
        if f.owner_id in self._s.feedback:
            raise reject(N_("%(owner)s has already given feedback"), "AlreadyGiven", owner=f.owner_id)
