"""更换物业 (property-company replacement) for the estate, as a durable process (issue 5, B).

community review (human task) → meeting notice ≥15 days before voting → one box, two matters: dismiss the
current company (``dismiss``) and choose a candidate (``candidate:<id>``, each for/against/abstain) → a
candidate needs the double majority and the most approvals; a tie or none → re-vote (a new notice and a
box of its own) → result posted within 3 days → objection period → dismissal notice (60 days) →
hand-over checklist confirmed item by item; a missed hand-over deadline escalates (an Escalation child: street
office, then the district housing department) and the interim emergency service is recorded → closed when every
item is confirmed and the ticket is closed.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.errors import N_, Items, Label, Text
    from domain.events import Question
    from domain.procedures import select_candidate
    from domain.stage_events import (
        CandidateSelected,
        EscalationPlaceholderOpened,
        HandoverItemConfirmed,
        InterimServiceRecorded,
        ReVoteCalled,
        StageEvent,
    )
    from domain.tally_result import TallyResult
    from yishi.i18n import bilingual

from workflows.common import ProcedureInput, ProcedureResult, ProcedureWorkflow, Task, TaskCompletion, beijing
from workflows.deadlines import period_end, with_fallback


def _texts(msgid: str, **params: object) -> dict[str, str]:
    """A question's ``text_zh`` and ``text_en`` from the catalogs."""
    zh, en = bilingual(msgid, **params)
    return {"text_zh": zh, "text_en": en}


HANDOVER_ITEMS = ("service_rooms", "facilities_equipment", "records_files", "funds")
"""What a dismissed company hands over, each confirmed by the committee (labels: yishi/i18n/labels.py)."""


class Candidate(BaseModel):
    id: str
    name: str


class PropertyInput(ProcedureInput):
    candidates: tuple[Candidate, ...] = ()
    current_company: str = ""
    max_rounds: int = 3
    handover_items: tuple[str, ...] = tuple(HANDOVER_ITEMS)


@workflow.defn(name="PropertyReplacement")
class PropertyWorkflow(ProcedureWorkflow):
    objection_stage = "objection"

    @workflow.init
    def __init__(self, params: PropertyInput) -> None:
        super().__init__(params)
        self._in: PropertyInput = params

    @workflow.run
    async def run(self, params: PropertyInput) -> ProcedureResult:
        return await self._drive()

    def _company(self, which: str = "current") -> str | Text:
        """The company being dismissed, by its name when the committee gave one."""
        if self._in.current_company:
            return self._in.current_company
        if which == "former":
            return Text(N_("the former property company"))
        return Text(N_("the current property company"))

    def _name(self, candidate_id: str) -> str:
        return next((c.name for c in self._in.candidates if c.id == candidate_id), candidate_id)

    def _running(self) -> list[str]:
        revote = self._s.extra.get("revote")
        return revote.split(",") if revote else [c.id for c in self._in.candidates]

    async def _stage_start(self) -> None:
        await self._gate("review", ("committee",), ("accepted", "declined"),
                         *bilingual(N_("Community review of the request")))

    async def _stage_notice(self) -> None:
        names = Items(self._name(c) for c in self._running())
        title = (bilingual(N_("Owners' meeting notice (new vote)")) if self._s.round
                 else bilingual(N_("Owners' meeting notice")))
        await self._notice_stage("meeting_notice", "meeting", title, bilingual(
            N_("Matters: dismiss %(company)s; choose among: %(names)s."), company=self._company(), names=names),
            "voting")

    async def _stage_voting(self) -> None:
        questions = [Question(id=f"candidate:{c}", **_texts(N_("Appoint %(company)s?"), company=self._name(c)))
                     for c in self._running()]
        if self._s.round == 0:
            questions.insert(0, Question(id="dismiss", **_texts(N_("Dismiss %(company)s?"), company=self._company())))
        outcome = await self._vote(tuple(questions))
        if "dismiss" in outcome.results and outcome.results["dismiss"]["outcome"] != "approved":
            await self._result_notice(self._in.title)
            await self._close("company_retained" if outcome.results["dismiss"]["outcome"] == "rejected"
                              else "no_quorum")
            return
        results = {q: TallyResult.model_validate(r) for q, r in outcome.results.items()}
        selection = select_candidate(results)
        rnd = self._s.round
        if selection.winner is not None:
            self._s.extra["winner"] = selection.winner
            await self._append(f"round:{rnd}:selected", CandidateSelected(
                at=workflow.now(), round=rnd, candidate=selection.winner, qualified=selection.qualified))
            self._s.next = "result"
            return
        await self._append(f"round:{rnd}:revote", ReVoteCalled(at=workflow.now(), round=rnd,
                                                                 reason=selection.reason, tied=selection.tied))
        await self._result_notice(self._in.title)
        if rnd >= self._in.max_rounds:
            await self._close("no_candidate", f"no candidate chosen in {rnd} rounds")
            return
        self._s.extra["revote"] = ",".join(selection.tied or [c.id for c in self._in.candidates])
        self._s.next = "notice"

    async def _stage_result(self) -> None:
        await self._enter("result_posting", await self._until("result_posting"))
        await self._result_notice(self._in.title, Text(N_("chosen: %(company)s"),
                                                       company=self._name(self._s.extra["winner"])))
        self._s.next = "objection"

    async def _stage_objection(self) -> None:
        if await self._objection_window("objection", "objection", (
                "objection", *bilingual(N_("Objection period")),
                *bilingual(N_("Owners who object to the result may do so through their link.")))):
            self._s.next = "dismissal"
        else:
            await self._close("objection_upheld")

    async def _stage_dismissal(self) -> None:
        until = await self._until("dismissal_notice")
        end = until.ends_at
        await self._enter("dismissal_notice", until)
        await self._notify("dismissal", bilingual(N_("Notice of dismissal")), with_fallback(bilingual(
            N_("%(company)s: the owners' assembly dismissed you; prepare the hand-over by %(when)s (CC art. 946)."),
            company=self._company(), when=beijing(end)), until.fallback_years))
        await self._sleep_until(end)
        self._s.next = "handover"

    async def _stage_handover(self) -> None:
        until = await self._until("handover")
        end = until.ends_at
        await self._enter("handover", until)
        items = [await self._open_task("handover", ("committee",), ("confirmed",),
                                       *bilingual(N_("Hand-over: %(item)s"), item=Label("handover_item", i)),
                                       due=until, subject=i)
                 for i in self._in.handover_items if i in HANDOVER_ITEMS]
        ids = [t.task_id for t in items]
        done = lambda: all(self._s.tasks[t].status == "done" for t in ids)  # noqa: E731
        try:
            await workflow.wait_condition(done, timeout=max(end - workflow.now(), timedelta(0)))
        except TimeoutError:
            # The ticket (a child since escalation-child-v1) is waited for too; the placeholder was not.
            waited = ("interim_service", "escalation") if await self._handover_missed(items) else ("interim_service",)
            await workflow.wait_condition(lambda: done() and not any(
                t.kind in waited and t.status == "open" for t in self._s.tasks.values()))
        await self._close("replaced", f"new company: {self._name(self._s.extra.get('winner', ''))}")

    async def _handover_missed(self, items: list[Task]) -> bool:
        """Record the missed items and escalate; True when the escalation is a child ticket."""
        missing = [t.subject or "" for t in items if self._s.tasks[t.task_id].status == "open"]
        for task in items:
            if self._s.tasks[task.task_id].status == "open":
                await self._overdue(self._s.tasks[task.task_id], "hand-over missed: escalated")
        if workflow.patched("escalation-child-v1"):
            names = Items(Label("handover_item", m) for m in missing if m in HANDOVER_ITEMS)
            # The ticket's subject and detail are written once, in Chinese, for the offices that handle it.
            await self._escalation_child(
                "handover", bilingual(N_("%(company)s refuses the hand-over"), company=self._company("former"))[0],
                bilingual(N_("The hand-over deadline has passed; not handed over: %(items)s (Beijing property "
                             "management regulations, art. 76)"), items=names)[0], (),
                category="housing", outcomes=("resolved",),
                reason=f"hand-over deadline missed: {', '.join(missing)}")
            await self._interim_task()
            return True
        # Histories recorded before the escalation workflow existed: the placeholder task.
        to = ("street_office", "district_housing")
        placeholder = await self._open_task(
            "escalation", to, ("acknowledged",),
            *bilingual(N_("[Placeholder] Hand-over refused: street office and district housing department "
                          "(escalation: issue 6)")),
            subject="handover")
        await self._append("escalation:handover", EscalationPlaceholderOpened(
            at=workflow.now(), task_id=placeholder.task_id, subject="handover", to=to,
            reason=f"hand-over deadline missed: {', '.join(missing)}"))
        await self._interim_task()
        return False

    async def _interim_task(self) -> None:
        await self._open_task("interim_service", ("street_office",), ("arranged",),
                              *bilingual(N_("Record the interim emergency service (at most 6 months)")),
                              needs_note=("arranged",))

    async def _facts(self, task: Task, c: TaskCompletion) -> list[StageEvent]:
        now = workflow.now()
        if task.kind == "handover" and task.subject:
            return [HandoverItemConfirmed(at=now, item=task.subject, by=c.actor or c.role, note=c.note)]
        if task.kind == "interim_service":
            until = await period_end(now, self._in.periods["interim_service"], self._in.holiday_file,
                                     f"{self._in.deliberation_id}:interim_service")
            return [InterimServiceRecorded(at=now, provider=c.note, until=until.ends_at,
                                           fallback_years=until.fallback_years)]
        return await super()._facts(task, c)
