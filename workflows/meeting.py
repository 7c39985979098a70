"""议事会 / 周末议事厅 / 民声七点办: one meeting as a durable process (issue 16).

The workflow posts the meeting's notice through the notice channels when it is scheduled, a reminder before it
starts (``remind_before``, exact duration), takes the clerk's and the parties' acts as updates (validated on its
state, decided again on the stream by the ``apply_meeting_command`` activity under a key per step), and, once the
clerk has closed the session, holds the minutes-confirmation window (``confirm``, a setting: ``P3D`` by default,
computed by ``compute_deadlines`` and recorded on ``MeetingHeld``) with a reminder halfway to the parties that have
not confirmed. It publishes the minutes when every party has confirmed the current version, or at the window's end
with the others listed as unconfirmed. A decision put to a vote opens the existing ballot box as a child and the
count is recorded on the item (``ItemVoteCounted``); an escalated one opens a ticket as a child (吹哨).

A meeting that serves a consultation procedure (``MeetingScheduled.deliberation_id``) tells it each position stated
and each decision (signal ``meeting_note``): the procedure's position tasks are completed from the parties' links,
and its vote is the procedure's own (workflows/consultation.py, docs/procedures.md).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.errors import N_
    from domain.meeting_commands import (
        AddItem,
        Cancel,
        Confirm,
        Decide,
        Hold,
        Invite,
        MeetingCommand,
        MeetingError,
        Publish,
        RecordMinutes,
        Schedule,
        SignAttendance,
        StatePosition,
        when,
    )
    from domain.meeting_state import Meeting
    from domain.meetings import decide as decide_meeting
    from yishi.i18n import bilingual

from workflows.deadlines import period_end
from workflows.escalation import reject
from workflows.meeting_inputs import (
    CONFIRM,
    REMIND_BEFORE,
    ActorInput,
    AttendanceInput,
    ConfirmInput,
    DecideInput,
    InviteInput,
    ItemInput,
    ItemSpec,
    MeetingInput,
    MeetingNote,
    MeetingReceipt,
    MeetingResult,
    MinutesInput,
    PositionInput,
)
from workflows.meeting_parts import MeetingApplied, TicketSpec, VoteBox
from workflows.meeting_phases import MeetingPhases

__all__ = ["ACTIONS", "CONFIRM", "REMIND_BEFORE", "ActorInput", "AttendanceInput", "ConfirmInput", "DecideInput",
           "InviteInput", "ItemInput", "ItemSpec", "MeetingInput", "MeetingNote", "MeetingReceipt", "MeetingResult",
           "MeetingWorkflow", "MinutesInput", "PositionInput", "TicketSpec", "VoteBox"]


@workflow.defn(name="Meeting")
class MeetingWorkflow(MeetingPhases):
    @workflow.init
    def __init__(self, params: MeetingInput) -> None:
        self._in = params
        self._m = Meeting()
        self._step = 0
        self._version = 0
        self._lock = asyncio.Lock()  # orders the appends with the state they were decided on
        self._followers: dict[str, asyncio.Task[None]] = {}
        self._holiday = params.holiday_file
        self._attempts = params.notice_attempts
        self._window_start: datetime | None = None
        self._published: MeetingApplied | None = None

    def _id(self) -> str:
        return self._in.scheduled.meeting_id

    @workflow.run
    async def run(self, params: MeetingInput) -> MeetingResult:
        s = params.scheduled
        async with self._lock:
            await self._apply("scheduled", Schedule(at=s.at, event=s), key="1:scheduled")
            for p in params.parties:
                invite = Invite(at=s.at, by=s.by, party=p, link_subject=s.series_id or s.meeting_id)
                await self._apply("invited", invite, key=f"invite:{p.party_id}")
            for n, item in enumerate(params.items, start=1):
                await self._apply("item", AddItem(at=s.at, by=s.by, title=item.title, topic_id=item.topic_id,
                                                  options=item.options), key=f"item:{n}")
        await self._announce()
        await self._until_held()
        if self._m.status == "cancelled":
            await self._notify("meeting_cancelled", bilingual(N_("Meeting cancelled: %(title)s"), title=s.title),
                               bilingual(N_("The meeting of %(when)s is cancelled. Reason: %(reason)s"),
                                         when=when(s.starts_at), reason=self._m.cancelled_reason))
        else:
            await self._confirmation()
            await asyncio.gather(*self._followers.values())
        await workflow.wait_condition(workflow.all_handlers_finished)
        m = self._m
        return MeetingResult(meeting_id=m.meeting_id, status=m.status, minutes_version=m.published_version,
                             unconfirmed=m.unconfirmed_at_publication)

    # ---- acts -----------------------------------------------------------------------------------------

    def _validate(self, command: MeetingCommand) -> None:
        if not self._m.meeting_id:
            return  # the schedule is being recorded: the handler waits for it, then validates (``_ready``)
        try:
            decide_meeting(self._m, command)
        except MeetingError as exc:
            raise reject(exc.text, "MeetingError") from None

    def _receipt(self, applied, item_id: str | None = None) -> MeetingReceipt:  # type: ignore[no-untyped-def]
        return MeetingReceipt(meeting_id=self._id(), seq=applied.seq, hash=applied.hash, status=self._m.status,
                              item_id=item_id, minutes_version=self._m.minutes_version)

    async def _act(self, label: str, command: MeetingCommand) -> MeetingReceipt:
        async with self._lock:
            applied = await self._apply(label, command)
        return self._receipt(applied)

    async def _tell_procedure(self, note: MeetingNote) -> None:
        """Tell the consultation this meeting serves (if any); a procedure that has ended is not told."""
        if not self._m.deliberation_id:
            return
        try:
            await workflow.get_external_workflow_handle(self._m.deliberation_id).signal("meeting_note", note)
        except Exception as exc:  # noqa: BLE001 - the procedure has ended: nothing waits for it any more
            workflow.logger.info("meeting.procedure_not_told", extra={"deliberation_id": self._m.deliberation_id,
                                                                       "error": str(exc)[:200]})

    def _item_command(self, a: ItemInput) -> AddItem:
        return AddItem(at=workflow.now(), by=a.by, title=a.title, topic_id=a.topic_id, options=a.options)

    @workflow.update
    async def add_item(self, a: ItemInput) -> MeetingReceipt:
        await self._ready(lambda: self._v_add_item(a))
        async with self._lock:
            applied = await self._apply("item", self._item_command(a))
        found = next((i for i, it in self._m.items.items() if a.topic_id and it.topic_id == a.topic_id),
                     list(self._m.items)[-1])
        return self._receipt(applied, found)

    @add_item.validator
    def _v_add_item(self, a: ItemInput) -> None:
        self._validate(self._item_command(a))

    def _invite_command(self, a: InviteInput) -> Invite:
        return Invite(at=workflow.now(), by=a.by, party=a.party,
                      link_subject=a.link_subject or self._m.series_id or self._id())

    @workflow.update
    async def invite(self, a: InviteInput) -> MeetingReceipt:
        await self._ready(lambda: self._v_invite(a))
        return await self._act("invited", self._invite_command(a))

    @invite.validator
    def _v_invite(self, a: InviteInput) -> None:
        self._validate(self._invite_command(a))

    def _position_command(self, a: PositionInput) -> StatePosition:
        return StatePosition(at=workflow.now(), by=a.by, party_id=a.party_id, item_id=a.item_id, option=a.option,
                             text=a.text, via=a.via, link_sha256=a.link_sha256)

    @workflow.update
    async def state_position(self, a: PositionInput) -> MeetingReceipt:
        await self._ready(lambda: self._v_state_position(a))
        receipt = await self._act("position", self._position_command(a))
        party = self._m.parties[a.party_id]
        await self._tell_procedure(MeetingNote(meeting_id=self._id(), kind="position", item_id=a.item_id,
                                               party_kind=party.kind, party_name=party.name, option=a.option,
                                               text=a.text))
        return receipt

    @state_position.validator
    def _v_state_position(self, a: PositionInput) -> None:
        self._validate(self._position_command(a))

    def _attendance_command(self, a: AttendanceInput) -> SignAttendance:
        return SignAttendance(at=workflow.now(), by=a.by, party_id=a.party_id, name=a.name, via=a.via,
                              link_sha256=a.link_sha256)

    @workflow.update
    async def sign_attendance(self, a: AttendanceInput) -> MeetingReceipt:
        await self._ready(lambda: self._v_sign_attendance(a))
        return await self._act("attendance", self._attendance_command(a))

    @sign_attendance.validator
    def _v_sign_attendance(self, a: AttendanceInput) -> None:
        self._validate(self._attendance_command(a))

    @workflow.update
    async def record_minutes(self, a: MinutesInput) -> MeetingReceipt:
        await self._ready(lambda: self._v_record_minutes(a))
        async with self._lock:
            now, until, years = workflow.now(), None, ()
            if self._m.status == "held":  # a correction: the new version needs confirming, with a new window
                end = await period_end(now, self._in.confirm, self._holiday, f"{self._id()}:confirm")
                until, years, self._window_start = end.ends_at, end.fallback_years, now
            applied = await self._apply("minutes", RecordMinutes(at=now, by=a.by, item_id=a.item_id, text=a.text,
                                                                 confirm_until=until, fallback_years=years))
        return self._receipt(applied)

    @record_minutes.validator
    def _v_record_minutes(self, a: MinutesInput) -> None:
        now = workflow.now()
        self._validate(RecordMinutes(at=now, by=a.by, item_id=a.item_id, text=a.text,
                                     confirm_until=now + timedelta(days=1) if self._m.status == "held" else None))

    def _decide_command(self, a: DecideInput) -> Decide:
        return Decide(at=workflow.now(), by=a.by, item_id=a.item_id, decision=a.decision)

    @workflow.update
    async def decide(self, a: DecideInput) -> MeetingReceipt:
        await self._ready(lambda: self._v_decide(a))
        async with self._lock:
            known = self._m.items[a.item_id].decision
            applied = await self._apply("decided", self._decide_command(a))
            if known is None and a.decision.kind == "vote" and a.vote is not None:
                await self._open_vote(a.item_id, a.decision, a.vote)
            elif known is None and a.decision.kind == "escalated" and a.ticket is not None:
                await self._open_ticket(a.item_id, a.decision, a.ticket, a.by.name)
        if known is None:
            await self._tell_procedure(MeetingNote(meeting_id=self._id(), kind="decision", item_id=a.item_id,
                                                   decision=a.decision))
        return self._receipt(applied)

    @decide.validator
    def _v_decide(self, a: DecideInput) -> None:
        if not self._m.meeting_id:
            return  # validated by the handler once the schedule is recorded (``_ready``)
        self._validate(self._decide_command(a))
        d, serving = a.decision, bool(self._m.deliberation_id)
        if d.kind == "vote" and not serving and a.vote is None:
            raise reject(N_("a vote needs the owners roll, its scope and the rule"), "MeetingError")
        if d.kind == "vote" and serving and a.vote is not None:
            raise reject(N_("this meeting serves a consultation: the procedure holds the vote"), "MeetingError")
        if d.kind == "escalated" and a.ticket is None:
            raise reject(N_("an escalation needs the category of the matter"), "MeetingError")

    @workflow.update
    async def hold(self, a: ActorInput) -> MeetingReceipt:
        await self._ready(lambda: self._v_hold(a))
        async with self._lock:
            now = workflow.now()
            self._validate(Hold(at=now, by=a.by, confirm_until=now + timedelta(days=1)))
            end = await period_end(now, self._in.confirm, self._holiday, f"{self._id()}:confirm")
            self._window_start = now
            applied = await self._apply("held", Hold(at=now, by=a.by, confirm_until=end.ends_at,
                                                     fallback_years=end.fallback_years))
        return self._receipt(applied)

    @hold.validator
    def _v_hold(self, a: ActorInput) -> None:
        now = workflow.now()
        self._validate(Hold(at=now, by=a.by, confirm_until=now + timedelta(days=1)))

    def _confirm_command(self, a: ConfirmInput) -> Confirm:
        return Confirm(at=workflow.now(), by=a.by, party_id=a.party_id, minutes_version=a.minutes_version, via=a.via,
                       link_sha256=a.link_sha256)

    @workflow.update
    async def confirm(self, a: ConfirmInput) -> MeetingReceipt:
        await self._ready(lambda: self._v_confirm(a))
        return await self._act("confirmed", self._confirm_command(a))

    @confirm.validator
    def _v_confirm(self, a: ConfirmInput) -> None:
        self._validate(self._confirm_command(a))

    @workflow.update
    async def publish(self, a: ActorInput) -> MeetingReceipt:
        """Publish now: only when every party has confirmed, or the window has ended (the workflow would anyway)."""
        await self._ready(lambda: self._v_publish(a))
        return await self._act("published", Publish(at=workflow.now()))

    @publish.validator
    def _v_publish(self, a: ActorInput) -> None:
        self._validate(Publish(at=workflow.now()))

    @workflow.update
    async def cancel(self, a: ActorInput) -> MeetingReceipt:
        await self._ready(lambda: self._v_cancel(a))
        receipt = await self._act("cancelled", Cancel(at=workflow.now(), by=a.by, reason=a.reason))
        await self._tell_procedure(MeetingNote(meeting_id=self._id(), kind="cancelled", item_id="", text=a.reason))
        return receipt

    @cancel.validator
    def _v_cancel(self, a: ActorInput) -> None:
        self._validate(Cancel(at=workflow.now(), by=a.by, reason=a.reason))

    @workflow.query
    def meeting(self) -> Meeting:
        return self._m


ACTIONS = ("add_item", "invite", "state_position", "sign_attendance", "record_minutes", "decide", "hold", "confirm",
           "publish", "cancel")
