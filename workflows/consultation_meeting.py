"""The consultation as the meeting loop (issue 16): what ``Consultation`` does since the ``consultation-meeting`` patch.

Instead of a notice and position tasks only a role could complete, the procedure convenes a meeting (a ``Meeting``
child, ``ABANDON``: its minutes are confirmed and published on their own time) with the issue as its one agenda item,
the consultation's options as the item's options and the parties invited. The position tasks stay (the console shows
who has spoken) and are completed by the meeting: each position a party states through its invitation link (or the
clerk records) is told to the procedure (signal ``meeting_note``). The meeting's decision on the issue drives the
procedure: consensus on an option → implementation (with the milestones agreed, else the procedure's own); a vote on
the options agreed → the procedure's own ballot box (round 1 in its own stream, as before); escalated → closed
(``escalated``, the ticket is the meeting's child); deferred, or the meeting cancelled → a next meeting is convened.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from domain.errors import N_
    from domain.legal_calendar import PeriodEnd
    from domain.meeting_events import DEFAULT_PARTY_NAMES, MeetingDecision, MeetingScheduled, PartySpec
    from domain.stage_events import MeetingConvened
    from domain.topic_events import Actor
    from yishi.i18n import bilingual

from workflows.common import TaskCompletion
from workflows.meeting import ItemSpec, MeetingInput, MeetingNote, MeetingResult

if TYPE_CHECKING:
    from workflows.consultation import ConsultationWorkflow

CONSULTATION_MEETING = "consultation-meeting"
"""Patch: a consultation convenes a meeting (this module) instead of posting a notice and waiting for position tasks
completed by role. Histories recorded before it (tests/histories/consultation.json, consultation_declined.json) take
the old path; tests/histories/consultation_meeting.json is recorded after it."""


def meeting_id_of(deliberation_id: str, n: int) -> str:
    """The id of the consultation's ``n``-th meeting (the same on every replay and retry)."""
    return "meeting-" + hashlib.sha256(f"{deliberation_id}\x00meeting\x00{n}".encode()).hexdigest()[:12]


class MeetingLoop:
    """The consultation's meeting stages; a base of ``ConsultationWorkflow`` (uses its state and task machinery)."""

    async def _convene(self: ConsultationWorkflow) -> None:  # type: ignore[misc]
        """Convene the meeting, open one position task per party, wait until each has spoken or the meeting starts."""
        s, p = self._s, self._in
        s.meetings += 1
        meeting_id = meeting_id_of(p.deliberation_id, s.meetings)
        notice_end = await self._until("notice")
        now = workflow.now()
        starts = p.meeting_at if p.meeting_at is not None and p.meeting_at > now else notice_end.ends_at
        until = notice_end if starts == notice_end.ends_at else PeriodEnd(ends_at=starts)
        await self._enter("positions", until)
        s.meeting_id, s.meeting_decision = meeting_id, None
        choices = (*(o.id for o in p.options), "no_position")
        tasks = [await self._open_task("position", (party,), choices,
                                       *bilingual(N_("Position of %(party)s (through its invitation link)"),
                                                  party=self._party_name(party)), due=until, subject=party)
                 for party in p.parties]
        await self._append(f"meeting:{s.meetings}", MeetingConvened(at=now, meeting_id=meeting_id, starts_at=starts,
                                                                     place=p.place))
        await self._start_meeting(meeting_id, starts)
        try:
            await workflow.wait_condition(lambda: all(self._s.tasks[t.task_id].status != "open" for t in tasks),
                                          timeout=max(starts - workflow.now(), timedelta(0)))
        except TimeoutError:
            for task in tasks:
                if self._s.tasks[task.task_id].status == "open":
                    await self._overdue(self._s.tasks[task.task_id], "no position recorded", expire=True)
        s.next = "meeting"

    def _party_name(self: ConsultationWorkflow, party: str) -> str:  # type: ignore[misc]
        return self._in.party_names.get(party) or DEFAULT_PARTY_NAMES.get(party, party)

    async def _start_meeting(self: ConsultationWorkflow, meeting_id: str, starts: datetime) -> None:  # type: ignore[misc]
        p = self._in
        scheduled = MeetingScheduled(
            at=workflow.now(), meeting_id=meeting_id, community=p.community, title=p.title, kind=p.meeting_kind,
            starts_at=starts, place=p.place, deliberation_id=p.deliberation_id,
            by=Actor(kind="system", name=f"{p.initiated_by}（{p.deliberation_id}）", community=p.community))
        item = ItemSpec(title=p.issue or p.title, options=p.options)
        parties = tuple(PartySpec(party_id=party, kind=party, name=self._party_name(party))  # type: ignore[arg-type]
                        for party in p.parties)
        params = MeetingInput(scheduled=scheduled, items=(item,), parties=parties,
                              remind_before=p.meeting_remind_before, confirm=p.meeting_confirm,
                              holiday_file=p.holiday_file, notice_attempts=p.notice_attempts)
        try:
            await workflow.start_child_workflow(
                "Meeting", params, id=meeting_id, result_type=MeetingResult,
                parent_close_policy=ParentClosePolicy.ABANDON, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
        except WorkflowAlreadyStartedError:  # after a reset: the meeting exists and tells this run as it goes
            workflow.logger.info("consultation.meeting_adopted", extra={"meeting_id": meeting_id})

    async def _stage_meeting(self: ConsultationWorkflow) -> None:  # type: ignore[misc]
        """Wait for the meeting's decision on the issue and go where it leads."""
        await self._enter("meeting")
        await workflow.wait_condition(lambda: self._s.meeting_decision is not None)
        d = self._s.meeting_decision
        assert d is not None
        if d.kind == "consensus":
            self._s.extra["decision"] = d.option or self._in.options[0].id
            self._s.agreed_milestones = tuple(m.name for m in d.milestones)
            self._s.next = "implementation"
        elif d.kind == "vote":
            self._s.agreed = d.options
            self._s.next = "voting"
        elif d.kind == "escalated":
            await self._close("escalated", f"{d.summary} ({d.ticket_id})")
        else:  # deferred: a next meeting, with the positions asked again
            self._s.meeting_decision = None
            self._s.next = "notice"

    async def _on_meeting_note(self: ConsultationWorkflow, note: MeetingNote) -> None:  # type: ignore[misc]
        if note.meeting_id != self._s.meeting_id:
            return  # an earlier (deferred) meeting: nothing waits for it any more
        if note.kind == "decision":
            self._s.meeting_decision = note.decision
            self._s.version += 1
            return
        if note.kind == "cancelled":  # called off (a typhoon): as if deferred, a next meeting is convened
            self._s.meeting_decision = MeetingDecision(kind="deferred", summary=bilingual(
                N_("Meeting cancelled: %(reason)s"), reason=note.text)[0])
            self._s.version += 1
            return
        task = next((t for t in self._s.tasks.values()
                     if t.kind == "position" and t.subject == note.party_kind and t.status == "open"), None)
        if task is None:
            return  # spoken already, or after the meeting started: the meeting's stream keeps it
        outcome = note.option if note.option in task.outcomes else "no_position"
        try:
            await self._complete(TaskCompletion(task_id=task.task_id, role=note.party_kind, outcome=outcome,
                                                actor=note.party_name, note=note.text))
        except ApplicationError as exc:  # the stage moved on meanwhile
            workflow.logger.info("consultation.position_not_recorded", extra={"task_id": task.task_id,
                                                                               "error": str(exc)[:200]})

