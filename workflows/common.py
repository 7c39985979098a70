"""Shared stage machinery of the procedure workflows: one state model, human tasks as updates with
validators, objections with mediation and escalation tickets (child workflows, started and followed by the
``EscalationTickets`` base in ``workflows/escalating.py``), notices, and the vote as a child box.

A procedure is a state machine: ``state.next`` names the stage method to run (``_stage_<name>``), each
stage method sets the next one, and the workflow may continue as new only between two stages (with
handlers drained), so the state model is all a new run needs. Every stage change, task and notice is
appended to the deliberation's stream through an activity with an idempotency key per stage or task.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from activities.box import Checkpoint, OpenBoxInput
    from activities.keeper import KeepInput
    from activities.notices import ChannelQuery, Delivery
    from activities.stages import Appended, DoorKnockInput, DoorKnockListRef, StageAppend
    from domain.errors import N_, Bilingual, Items, Label, Text
    from domain.escalation import EvidenceRef
    from domain.events import Question
    from domain.kept import KeptHistory
    from domain.legal_calendar import BEIJING, HolidayFile, PeriodEnd
    from domain.meeting_events import MeetingDecision
    from domain.procedures import PAPER_ENTRY, Period, paper_entry_until, parse_period, round_stream
    from domain.roll import Scope
    from domain.stage_events import (
        DoorKnockListIssued,
        EscalationPlaceholderOpened,
        EscalationResolved,
        MediationRecorded,
        NoticeDelivered,
        NoticeDeliveryFailed,
        NoticePublished,
        ObjectionFiled,
        ProcedureClosed,
        ProcedureStarted,
        StageEntered,
        StageEvent,
        TaskCompleted,
        TaskOpened,
        TaskOverdue,
        VoteCounted,
        VoteRoundOpened,
    )
    from yishi.i18n import bilingual

from workflows.ballot_box import BoxParams, BoxResult
from workflows.deadlines import period_end, with_fallback
from workflows.decision import DEEMED_TALLY_DECIDES, KEEP_BOX_HISTORY, PAPER_ENTRY_WINDOW, Decision, result_lines
from workflows.escalating import EscalationTickets
from workflows.policies import ACTIVITY_TIMEOUT, RETRY

REMINDER_BY_LIST = "reminder-by-list"
"""Reminders name their door-knock list instead of carrying its owners (issue 18: any size of roll). Histories
recorded before it (e.g. tests/histories/elevator.json) pass the owners through the workflow."""


class ProcedureInput(BaseModel):
    """What every procedure starts from; ``resume`` carries the state over continue-as-new."""

    deliberation_id: str
    procedure: str
    title: str
    scope: Scope
    rule_id: str
    roll_digest: str
    periods: dict[str, str]
    initiator_role: str
    initiated_by: str
    community: str = "default"
    previous_id: str | None = None
    petition_signers: tuple[str, ...] = ()
    holiday_file: HolidayFile | None = None
    ballots_changeable: bool = True
    proxy_limit: int = 3
    deem_silent: bool = False
    deem_over_half: bool = False
    notice_attempts: int = 5
    stages_per_run: int | None = None
    """Continue as new after this many stages (operators, tests); otherwise when the server suggests it."""
    resume: ProcedureState | None = None


class Task(BaseModel):
    task_id: str
    kind: str
    stage: str
    roles: tuple[str, ...]
    outcomes: tuple[str, ...]
    title_zh: str
    title_en: str
    due_at: datetime | None = None
    due_fallback: tuple[int, ...] = ()
    """The years ``due_at`` was counted on weekends only (no State Council schedule loaded for them)."""
    subject: str | None = None
    needs_document: bool = False
    needs_note: tuple[str, ...] = ()
    status: Literal["open", "done", "expired"] = "open"
    overdue: bool = False
    outcome: str | None = None
    role: str | None = None
    actor: str | None = None
    note: str = ""
    document_no: str | None = None


class Objection(BaseModel):
    objection_id: str
    owner_id: str
    text: str
    filed_at: datetime
    status: Literal["mediation", "escalated", "resolved", "upheld"] = "mediation"
    task_id: str
    escalation_task: str | None = None
    filed_seq: int | None = None


class ProcedureState(BaseModel):
    """All of a procedure's state: what a continued-as-new run resumes from."""

    next: str = "start"
    stage: str = "initiated"
    deadline: datetime | None = None
    deadline_fallback: tuple[int, ...] = ()
    """The years ``deadline`` was counted on weekends only (no State Council schedule loaded for them)."""
    step: int = 0
    version: int = 0
    notices: int = 0
    tasks: dict[str, Task] = {}
    objections: dict[str, Objection] = {}
    round: int = 0
    results: dict[str, dict] = {}
    head: Checkpoint | None = None
    approved: bool | None = None
    extra: dict[str, str] = {}
    confirmed: dict[str, datetime] = {}
    feedback: dict[str, int] = {}
    outcome: str | None = None
    meetings: int = 0
    """Meetings a consultation has convened (workflows/consultation.py, patch ``consultation-meeting``)."""
    meeting_id: str | None = None
    meeting_decision: MeetingDecision | None = None
    """What the current meeting decided on the issue (told by the meeting, signal ``meeting_note``)."""
    agreed: tuple[str, ...] = ()
    """The options the meeting put to the vote (all of them when empty)."""
    agreed_milestones: tuple[str, ...] = ()
    """The milestones the meeting agreed on (the procedure's own when empty)."""
    rule_decides: bool = False
    """The last round was decided by the tally the rules name (the deemed one when deeming applied): set from the
    ``deemed-tally-decides`` patch when the round was counted, so that a later stage (a result notice after
    continue-as-new) words it as it was decided."""
    box_histories: tuple[KeptHistory, ...] = ()
    """The kept histories of the last round's ballot box (``keep-box-history`` patch): the result notice publishes
    their hashes."""


ProcedureInput.model_rebuild()


class TaskCompletion(BaseModel):
    task_id: str
    role: str
    outcome: str
    actor: str = ""
    note: str = ""
    document_no: str | None = None


class TaskReceipt(BaseModel):
    task_id: str
    seq: int
    hash: str


class ObjectionInput(BaseModel):
    owner_id: str
    text: str


class ObjectionReceipt(BaseModel):
    objection_id: str
    mediation_task: str
    due_at: datetime | None
    seq: int


class ProcedureResult(BaseModel):
    deliberation_id: str
    outcome: str
    head: Checkpoint | None = None


KEEP_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30),
                         maximum_attempts=20)
"""About nine minutes of tries to keep a closed box's histories before the vote goes on without (see _keep_box)."""


def reject(msgid: str, kind: str = "Rejected", /, **params: object) -> ApplicationError:
    """A refusal a person can act on: the English text as the message, the msgid and its fields in the details
    (the web and the CLI show it in the reader's language: ``yishi.i18n.errors.refusal``)."""
    text = Text(msgid, **params)
    return ApplicationError(str(text), text.wire(), type=kind, non_retryable=True)


class ProcedureWorkflow(EscalationTickets):
    """Base of the procedure workflows; subclasses define ``run`` and their ``_stage_*`` methods."""

    objection_stage: str | None = None

    def __init__(self, params: ProcedureInput) -> None:
        self._in = params
        self._s = params.resume or ProcedureState()
        self._lock = asyncio.Lock()  # orders handlers' and stages' appends with their state changes
        self._followers: list[asyncio.Task[None]] = []  # one per escalation child, until it ends
        self._cancelling = False
        # Tasks whose TaskOpened is being appended: the stream (and so the console) may show one a moment
        # before this state does; a completion arriving then waits for it instead of being refused.
        self._opening: dict[str, Task] = {}

    # ---- driving -----------------------------------------------------------------------------------

    async def _drive(self) -> ProcedureResult:
        if self._in.resume is None:
            await self._append("started", ProcedureStarted(
                at=workflow.now(), deliberation_id=self._in.deliberation_id, procedure=self._in.procedure,
                title=self._in.title, scope=self._in.scope, rule_id=self._in.rule_id,
                roll_digest=self._in.roll_digest, periods=self._in.periods, initiated_by=self._in.initiated_by,
                initiator_role=self._in.initiator_role, previous_id=self._in.previous_id,
                petition_signers=self._in.petition_signers))
        stages = 0
        while self._s.next != "done":
            try:
                await getattr(self, f"_stage_{self._s.next}")()
            except asyncio.CancelledError:
                await self._cancel_tickets()
                raise
            stages += 1
            limit = self._in.stages_per_run
            if self._s.next != "done" and (workflow.info().is_continue_as_new_suggested()
                                           or (limit is not None and stages >= limit)):
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._in.model_copy(update={"resume": self._s}))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return ProcedureResult(deliberation_id=self._in.deliberation_id, outcome=self._s.outcome or "",
                               head=self._s.head)

    def _period(self, name: str) -> Period:
        return parse_period(self._in.periods[name])

    async def _until(self, name: str) -> PeriodEnd:
        """When period ``name`` from now ends: a recorded fact since the ``deadlines-recorded`` patch."""
        return await period_end(workflow.now(), self._in.periods[name], self._in.holiday_file,
                                f"{self._in.deliberation_id}:{name}")

    def _stage_end(self) -> PeriodEnd | None:
        """The current stage's deadline (as ``_until`` gave it)."""
        s = self._s
        if s.deadline is None:
            return None
        return PeriodEnd(ends_at=s.deadline, calendar_fallback=bool(s.deadline_fallback),
                         fallback_years=s.deadline_fallback)

    async def _sleep_until(self, instant: datetime) -> None:
        if instant > workflow.now():
            await workflow.sleep(instant - workflow.now())

    async def _append(self, key: str, *events: StageEvent) -> Appended:
        return await workflow.execute_activity(
            "append_stage_events", StageAppend(deliberation_id=self._in.deliberation_id, key=key, events=events),
            result_type=Appended, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)

    async def _enter(self, stage: str, end: PeriodEnd | None = None) -> None:
        async with self._lock:
            self._s.step += 1
            self._s.stage, self._s.deadline = stage, end.ends_at if end else None
            self._s.deadline_fallback = end.fallback_years if end else ()
            self._s.version += 1
            await self._append(f"stage:{self._s.step}:{stage}", StageEntered(
                at=workflow.now(), stage=stage, deadline=self._s.deadline, fallback_years=self._s.deadline_fallback))

    async def _close(self, outcome: str, note: str = "") -> None:
        await self._enter("closed")
        self._s.outcome = outcome
        await self._append("closed", ProcedureClosed(at=workflow.now(), outcome=outcome, note=note))
        self._s.next = "done"
        workflow.logger.info("procedure.closed %s %s", self._in.deliberation_id, outcome)

    # ---- human tasks -------------------------------------------------------------------------------

    async def _open_task(self, kind: str, roles: tuple[str, ...], outcomes: tuple[str, ...], title_zh: str,
                         title_en: str, *, due: PeriodEnd | None = None, subject: str | None = None,
                         needs_document: bool = False, needs_note: tuple[str, ...] = ()) -> Task:
        task_id = f"{kind}-{self._s.step}" + (f"-{subject}" if subject else "")
        task = Task(task_id=task_id, kind=kind, stage=self._s.stage, roles=roles, outcomes=outcomes,
                    title_zh=title_zh, title_en=title_en, due_at=due.ends_at if due else None,
                    due_fallback=due.fallback_years if due else (), subject=subject,
                    needs_document=needs_document, needs_note=needs_note)
        self._opening[task_id] = task
        await self._append(f"task:{task_id}:opened", TaskOpened(
            at=workflow.now(), task_id=task_id, kind=kind, stage=task.stage, roles=roles, outcomes=outcomes,
            title_zh=title_zh, title_en=title_en, due_at=task.due_at, subject=subject,
            fallback_years=task.due_fallback))
        self._s.tasks[task_id] = task  # completed only once TaskOpened is in the stream (see _complete)
        del self._opening[task_id]
        self._s.version += 1
        return task

    async def _overdue(self, task: Task, consequence: str, *, expire: bool = False) -> None:
        task.overdue = True
        if expire:
            task.status = "expired"
        self._s.version += 1
        assert task.due_at is not None
        await self._append(f"task:{task.task_id}:overdue",
                           TaskOverdue(at=workflow.now(), task_id=task.task_id, due_at=task.due_at,
                                       consequence=consequence))

    async def _await_task(self, task: Task) -> Task:
        """Wait for the task; when its due time passes, record that once and keep waiting."""
        tid = task.task_id
        if task.due_at is not None and not task.overdue:
            try:
                await workflow.wait_condition(lambda: self._s.tasks[tid].status != "open",
                                              timeout=max(task.due_at - workflow.now(), timedelta(0)))
            except TimeoutError:
                await self._overdue(task, "waiting; shown as overdue on the console")
        await workflow.wait_condition(lambda: self._s.tasks[tid].status != "open")
        return self._s.tasks[tid]

    async def _task(self, kind: str, roles: tuple[str, ...], outcomes: tuple[str, ...], zh: str, en: str,
                    period: str, **extra: object) -> Task:
        """A stage that is one human task: enter stage ``kind`` until ``period`` ends, open the task, wait."""
        await self._enter(kind, await self._until(period))
        task = await self._open_task(kind, roles, outcomes, zh, en, due=self._stage_end(), **extra)  # type: ignore[arg-type]
        return await self._await_task(task)

    async def _gate(self, kind: str, roles: tuple[str, ...], outcomes: tuple[str, str], zh: str, en: str) -> None:
        """The first stage of a procedure: ``outcomes[0]`` goes on to the notice; ``outcomes[1]`` (a refusal, which
        needs a reason) closes the procedure with that outcome and the reason as its note."""
        refused = outcomes[1]
        task = await self._task(kind, roles, outcomes, zh, en, kind, needs_note=(refused,))
        if task.outcome == refused:
            await self._close(refused, task.note)
        else:
            self._s.next = "notice"

    def _check_task(self, c: TaskCompletion) -> Task:
        task = self._s.tasks.get(c.task_id) or self._opening.get(c.task_id)
        open_ids = ", ".join(t for t, v in self._s.tasks.items() if v.status == "open") or "—"
        if task is None or task.status != "open":
            raise reject(N_("no open task '%(task)s' (open: %(open)s)"), "TaskNotOpen", task=c.task_id, open=open_ids)
        procedure = self._in.procedure
        if task.stage != self._s.stage:
            raise reject(N_("task '%(task)s' belongs to stage '%(stage)s', not '%(current)s'"), "WrongStage",
                         task=task.task_id, stage=Label("stage", task.stage, procedure),
                         current=Label("stage", self._s.stage, procedure))
        if c.role not in task.roles:
            raise reject(N_("role '%(role)s' may not complete '%(task)s' (allowed: %(roles)s)"), "WrongRole",
                         role=Label("role", c.role), task=Bilingual(task.title_zh, task.title_en),
                         roles=Items(Label("role", r) for r in task.roles))
        if c.outcome not in task.outcomes:
            raise reject(N_("outcome '%(outcome)s' is not one of: %(outcomes)s"), "BadOutcome",
                         outcome=c.outcome, outcomes=Items(Label("outcome", o) for o in task.outcomes))
        if task.needs_document and not (c.document_no or "").strip():
            raise reject(N_("give the document number (e.g. the permit's)"), "NeedsDocument")
        if c.outcome in task.needs_note and not c.note.strip():
            raise reject(N_("give the reason in the note"), "NeedsNote")
        return task

    async def _facts(self, task: Task, c: TaskCompletion) -> list[StageEvent]:
        """Facts recorded with a completed task, beside ``TaskCompleted``; subclasses add their kinds."""
        now = workflow.now()
        if task.kind == "mediation" and task.subject:
            return [MediationRecorded(at=now, objection_id=task.subject, task_id=task.task_id,
                                      resolved=c.outcome == "resolved", note=c.note)]
        if task.kind == "escalation" and task.subject:
            return [EscalationResolved(at=now, task_id=task.task_id, subject=task.subject, outcome=c.outcome,
                                       note=c.note)]
        return []

    async def _complete(self, c: TaskCompletion) -> TaskReceipt:
        if c.task_id in self._opening:  # accepted while its TaskOpened was being appended
            await workflow.wait_condition(lambda: c.task_id not in self._opening)
        async with self._lock:
            task = self._check_task(c)  # again: the state may have moved since the validator ran
            ref = await self._append(f"task:{task.task_id}:done", TaskCompleted(
                at=workflow.now(), task_id=task.task_id, role=c.role, actor=c.actor or c.role, outcome=c.outcome,
                note=c.note, document_no=c.document_no), *(await self._facts(task, c)))
            task.status, task.outcome, task.role, task.actor = "done", c.outcome, c.role, c.actor or c.role
            task.note, task.document_no = c.note, c.document_no
            self._s.version += 1
        return TaskReceipt(task_id=task.task_id, seq=ref.seq, hash=ref.hash)

    def open_tasks(self) -> list[Task]:
        return [t for t in self._s.tasks.values() if t.status == "open"]

    # ---- notices -----------------------------------------------------------------------------------

    async def _notify(self, kind: str, title: tuple[str, str], body: tuple[str, str],
                      recipients: tuple[str, ...] | None = None, head: Checkpoint | None = None,
                      recipients_list: str | None = None, histories: tuple[KeptHistory, ...] = ()) -> None:
        self._s.notices += 1
        notice = NoticePublished(
            at=workflow.now(), notice_id=f"{kind}-{self._s.notices}", kind=kind, title_zh=title[0],
            title_en=title[1], body_zh=body[0], body_en=body[1], recipients=recipients,
            head_seq=head.seq if head else None, head_hash=head.hash if head else None,
            recipients_list=recipients_list, histories=histories)
        await self._append(f"notice:{notice.notice_id}", notice)
        channels = await workflow.execute_activity(
            "notice_channels", ChannelQuery(community=self._in.community), result_type=list[str],
            start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)
        await asyncio.gather(*(self._deliver(notice, channel) for channel in channels))

    async def _deliver(self, notice: NoticePublished, channel: str) -> None:
        retry = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=10),
                            maximum_attempts=self._in.notice_attempts)
        delivery = Delivery(deliberation_id=self._in.deliberation_id, community=self._in.community,
                            roll_digest=self._in.roll_digest, scope=self._in.scope, channel=channel, notice=notice)
        try:
            await workflow.execute_activity("deliver_notice", delivery, result_type=NoticeDelivered,
                                            start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=retry)
        except ActivityError as exc:
            # Retries are spent: report it on the console (the printed sheet is still posted).
            error = str(exc.cause or exc)[:500]
            workflow.logger.warning("notice.undelivered %s %s %s", notice.notice_id, channel, error)
            await self._append(f"notice:{notice.notice_id}:{channel}:final", NoticeDeliveryFailed(
                at=workflow.now(), notice_id=notice.notice_id, channel=channel,
                attempt=self._in.notice_attempts, error=error, final=True))

    async def _notice_stage(self, stage: str, kind: str, title: tuple[str, str], body: tuple[str, str],
                            then: str) -> None:
        """Post the notice of the meeting (or consultation) and wait out the ``notice`` period, then ``then``."""
        end = await self._until("notice")
        await self._enter(stage, end)
        await self._notify(kind, title, body)
        await self._sleep_until(end.ends_at)
        self._s.next = then

    # ---- objections --------------------------------------------------------------------------------

    def _may_object(self, owner_id: str) -> bool:
        return bool(owner_id.strip())

    def _check_objection(self, o: ObjectionInput) -> None:
        if self.objection_stage is None or self._s.stage != self.objection_stage:
            raise reject(N_("objections are taken during '%(stage)s', not '%(current)s'"), "WrongStage",
                         stage=Label("stage", self.objection_stage or "", self._in.procedure),
                         current=Label("stage", self._s.stage, self._in.procedure))
        if not self._may_object(o.owner_id):
            raise reject(N_("owner %(owner)s is not in this matter's scope"), "NotInScope", owner=o.owner_id)
        if not o.text.strip():
            raise reject(N_("write what you object to"), "EmptyObjection")

    async def _object(self, o: ObjectionInput) -> ObjectionReceipt:
        async with self._lock:
            self._check_objection(o)
            oid = f"objection-{len(self._s.objections) + 1}"
            ref = await self._append(f"objection:{oid}", ObjectionFiled(
                at=workflow.now(), objection_id=oid, owner_id=o.owner_id, text=o.text))
            task = await self._open_task(
                "mediation", ("committee",), ("resolved", "unresolved"),
                *bilingual(N_("Mediate objection %(objection)s (owner %(owner)s)"), objection=oid, owner=o.owner_id),
                due=await self._until("mediation"), subject=oid)
            self._s.objections[oid] = Objection(objection_id=oid, owner_id=o.owner_id, text=o.text,
                                                filed_at=workflow.now(), task_id=task.task_id, filed_seq=ref.seq)
        return ObjectionReceipt(objection_id=oid, mediation_task=task.task_id, due_at=task.due_at, seq=ref.seq)

    async def _objection_window(self, stage: str, period: str, notice: tuple[str, str, str, str, str]) -> bool:
        """Post ``notice`` (kind, title zh/en, body zh/en), take objections until the period ends, then
        settle them all; False when one is upheld."""
        until = await self._until(period)
        end = until.ends_at
        await self._enter(stage, until)
        await self._notify(notice[0], notice[1:3], notice[3:5])  # type: ignore[arg-type]
        while True:
            async with self._lock:
                await self._settle_objections()
            pending = [t for t in self.open_tasks() if t.kind in ("mediation", "escalation")]
            if workflow.now() >= end and not pending:
                break
            wake = [end] if workflow.now() < end else []
            wake += [t.due_at for t in pending if t.kind == "mediation" and t.due_at and not t.overdue]
            seen = self._s.version
            try:
                await workflow.wait_condition(lambda seen=seen: self._s.version != seen,
                                              timeout=(min(wake) - workflow.now()) if wake else None)
            except TimeoutError:
                pass
        return not any(o.status == "upheld" for o in self._s.objections.values())

    async def _settle_objections(self) -> None:
        for o in self._s.objections.values():
            task = self._s.tasks[o.task_id]
            if o.status == "mediation":
                overdue = task.status == "open" and task.due_at is not None and workflow.now() >= task.due_at
                if overdue:
                    await self._overdue(task, "mediation not finished in time: escalated", expire=True)
                if overdue or (task.status == "done" and task.outcome != "resolved"):
                    await self._escalate(o)
                elif task.status == "done":
                    o.status = "resolved"
            elif o.status == "escalated" and o.escalation_task:
                done = self._s.tasks[o.escalation_task]
                if done.status == "done":
                    o.status = "upheld" if done.outcome == "upheld" else "resolved"

    async def _escalate(self, o: Objection) -> None:
        if workflow.patched("escalation-child-v1"):
            # The ticket's subject and detail are written once, in Chinese, for the offices that handle it.
            detail = bilingual(N_("Objection of owner %(owner)s: %(text)s (community mediation unresolved or overdue)"),
                               owner=o.owner_id, text=o.text)[0]
            evidence = (EvidenceRef(kind="event", stream_id=self._in.deliberation_id, seq=o.filed_seq,
                                    note=f"ObjectionFiled {o.objection_id}"),) if o.filed_seq else ()
            task = await self._escalation_child(
                o.objection_id, bilingual(N_("Objection %(objection)s: %(title)s"), objection=o.objection_id,
                                          title=self._in.title)[0], detail, evidence,
                category="housing", outcomes=("resolved", "upheld"), reason="mediation unresolved or overdue")
            o.status, o.escalation_task = "escalated", task.task_id
            self._s.version += 1
            return
        # Histories recorded before the escalation workflow existed: the placeholder task.
        to = ("street_office",)
        task = await self._open_task(
            "escalation", to, ("resolved", "upheld"),
            *bilingual(N_("[Placeholder] Street office settles objection %(objection)s (escalation workflow: issue 6)"),
                       objection=o.objection_id),
            due=await self._until("escalation"), subject=o.objection_id)
        await self._append(f"escalation:{o.objection_id}", EscalationPlaceholderOpened(
            at=workflow.now(), task_id=task.task_id, subject=o.objection_id, to=to,
            reason="mediation unresolved or overdue"))
        o.status, o.escalation_task = "escalated", task.task_id
        self._s.version += 1

    # ---- the vote: a child ballot box with reminders before the close --------------------------------

    async def _vote(self, questions: tuple[Question, ...]) -> Decision:
        """Open a ballot box as a child workflow, remind non-voters before the close, return the result.

        Round 1 uses the deliberation's own stream; a re-vote has a stream of its own (``…~r2``), because
        a stream holds one box. Either way the main stream records the round and its final head. The box
        seals when paper entry ends (``paper_entry`` period, 24:00 of the closing day by default).
        """
        self._s.round += 1
        rnd, did = self._s.round, self._in.deliberation_id
        box = round_stream(did, rnd)
        end = await self._until("voting")
        closes = end.ends_at
        await self._enter("voting", end)
        paper_until = None
        if workflow.patched(PAPER_ENTRY_WINDOW):
            paper_until = paper_entry_until(closes, self._in.periods.get(PAPER_ENTRY))
        await self._append(f"round:{rnd}:opened", VoteRoundOpened(
            at=workflow.now(), round=rnd, box_stream=box, questions=tuple(q.id for q in questions), closes_at=closes,
            paper_entry_until=paper_until, fallback_years=end.fallback_years))
        params = BoxParams(open=OpenBoxInput(
            deliberation_id=box, roll_digest=self._in.roll_digest, scope=self._in.scope, rule_id=self._in.rule_id,
            questions=questions, opens_at=workflow.now(), closes_at=closes,
            ballots_changeable=self._in.ballots_changeable, proxy_limit=self._in.proxy_limit,
            deem_silent=self._in.deem_silent, deem_over_half=self._in.deem_over_half, paper_entry_until=paper_until,
            closes_fallback_years=end.fallback_years),
            checkpoint_every=self._period("checkpoint").span())
        child = await workflow.start_child_workflow(
            "BallotBox", params, id=f"{did}/box-{rnd}", result_type=BoxResult)
        await self._remind(box, workflow.now(), end)
        result: BoxResult = await child
        if workflow.patched(KEEP_BOX_HISTORY):
            self._s.box_histories = await self._keep_box(child)
        decision = Decision.of(result.outcome, rule_decides=workflow.patched(DEEMED_TALLY_DECIDES))
        outcome = decision.sealed
        self._s.results, self._s.head, self._s.approved = outcome.results, outcome.head, decision.approved
        self._s.rule_decides = decision.rule_decides
        await self._enter("tally")
        await self._append(f"round:{rnd}:counted", VoteCounted(
            at=workflow.now(), round=rnd, box_stream=box, head_seq=outcome.head.seq, head_hash=outcome.head.hash,
            outcomes={q: r["outcome"] for q, r in outcome.results.items()}, approved=decision.approved,
            **decision.counted()))
        return decision

    async def _keep_box(self, child: workflow.ChildWorkflowHandle) -> tuple[KeptHistory, ...]:
        """Keep the closed box's histories outside PostgreSQL before the result is posted (activities/keeper.py).
        Should that keep failing (the store unwritable for minutes), the vote goes on: the notice then carries no
        hash, and the worker's sweep keeps the box later (its HistoryKept event publishes the hash)."""
        try:
            kept = await workflow.execute_activity(
                "keep_histories", KeepInput(workflow_id=child.id, run_id=child.first_execution_run_id),
                result_type=list[KeptHistory], start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=KEEP_RETRY)
        except ActivityError as exc:
            if is_cancelled_exception(exc):
                raise
            workflow.logger.warning("history.not_kept %s %s", child.id, exc.cause or exc)
            return ()
        return tuple(kept)

    def _reminder_times(self, opens: datetime, closes: datetime) -> list[datetime]:
        before = self._period("remind_before").span()
        first = closes - before if before < closes - opens else opens + (closes - opens) / 2
        if not workflow.patched("reminder-twice"):
            return [first]  # histories recorded before the change sent a single reminder
        # Grid workers asked for a second round of door-knocking: again halfway from the first to the close.
        return [first, first + (closes - first) / 2]

    async def _remind(self, box: str, opens: datetime, end: PeriodEnd) -> None:
        closes = end.ends_at
        for index, at in enumerate(self._reminder_times(opens, closes), start=1):
            await self._sleep_until(at)
            knock = DoorKnockInput(deliberation_id=self._in.deliberation_id, box_stream=box,
                                   list_id=f"r{self._s.round}-{index}", at=workflow.now())
            body = bilingual(N_("Voting on '%(title)s' closes at %(when)s; you have not voted yet."),
                             title=self._in.title, when=beijing(closes))
            title = bilingual(N_("Voting reminder"))
            if workflow.patched(REMINDER_BY_LIST):
                # The list is as long as the non-voters (a million in a large estate): the workflow keeps its id.
                ref = await workflow.execute_activity(
                    "record_door_knock_list", knock, result_type=DoorKnockListRef,
                    start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)
                if ref.count:
                    await self._notify("reminder", title, with_fallback(body, end.fallback_years),
                                       recipients_list=ref.list_id)
                continue
            listed = await workflow.execute_activity(
                "issue_door_knock_list", knock,
                result_type=DoorKnockListIssued, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)
            if listed.owners:
                await self._notify("reminder", title, with_fallback(body, end.fallback_years),
                                   recipients=listed.owners)

    async def _result_notice(self, title: str, note: Text | None = None) -> None:
        """The result notice carries the stream's final head, so anyone can check the stream against it; since
        the deemed tally decides, it gives the ballots cast, the deemed tally and the outcome that decides."""
        head = self._s.head
        seq, hash_ = (head.seq, head.hash) if head else ("-", "-")
        heading = (bilingual(N_("Result: %(title)s (%(note)s)"), title=title, note=note) if note is not None
                   else bilingual(N_("Result: %(title)s"), title=title))
        if self._s.rule_decides:
            lines = result_lines(self._s.results)
            body = bilingual(N_("Result:\n%(lines)s\nStream head seq=%(seq)s hash=%(hash)s"),
                             lines=Bilingual(*lines), seq=seq, hash=hash_)
        else:  # rounds counted before the deemed tally decided: the notice as it was then
            outcomes = Items(Text(N_("%(question)s: %(outcome)s"), question=q, outcome=Label("outcome", r["outcome"]))
                             for q, r in self._s.results.items())
            body = bilingual(N_("Outcome: %(outcomes)s. Stream head seq=%(seq)s hash=%(hash)s"), outcomes=outcomes,
                             seq=seq, hash=hash_)
        kept = self._s.box_histories
        if kept:  # the box's histories, kept when it closed: the notice publishes their hashes
            lines = [bilingual(N_("Ballot box history kept: %(workflow)s sha256=%(sha256)s"), workflow=k.workflow_id,
                               sha256=k.sha256) for k in kept]
            body = (body[0] + "".join("\n" + zh for zh, _ in lines), body[1] + "".join("\n" + en for _, en in lines))
        await self._notify("result", heading, body, head=head, histories=kept)

    # ---- handlers shared by every procedure --------------------------------------------------------

    @workflow.update
    async def complete_task(self, completion: TaskCompletion) -> TaskReceipt:
        """A person with the right role completes an open task of the current stage."""
        return await self._complete(completion)

    @complete_task.validator
    def _validate_complete_task(self, completion: TaskCompletion) -> None:
        self._check_task(completion)

    @workflow.update
    async def file_objection(self, objection: ObjectionInput) -> ObjectionReceipt:
        """An owner objects during the objection period; a mediation task opens for the committee."""
        return await self._object(objection)

    @file_objection.validator
    def _validate_file_objection(self, objection: ObjectionInput) -> None:
        self._check_objection(objection)

    @workflow.query
    def status(self) -> ProcedureState:
        return self._s


def beijing(instant: datetime) -> str:
    """An instant as Beijing time for notices."""
    return instant.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") + " (UTC+8)"
