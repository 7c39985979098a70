"""The phases of the ``Meeting`` workflow (workflows/meeting.py): the notice, the wait for the session with the
reminder before it, and the minutes-confirmation window with its reminder, ending in the publication."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.meeting_commands import Publish
    from domain.meeting_events import DECISION_ZH, KIND_ZH
    from domain.procedures import parse_period
    from domain.topic_commands import when

from workflows.deadlines import with_fallback
from workflows.meeting_inputs import MeetingInput
from workflows.meeting_parts import MeetingParts, agenda_lines


class MeetingPhases(MeetingParts):
    _in: MeetingInput
    _window_start: datetime | None

    async def _announce(self) -> None:
        m = self._m
        zh, en = agenda_lines(m)
        names = "、".join(p.name for p in m.parties.values()) or "—"
        await self._notify("meeting", (f"{KIND_ZH[m.kind]}通知：{m.title}", f"Meeting notice: {m.title}"), (
            f"时间：{when(m.starts_at)}\n地点：{m.place}\n议程：\n{zh or '（待定）'}\n邀请：{names}",
            f"When: {when(m.starts_at)}\nWhere: {m.place}\nAgenda:\n{en or '(to be set)'}\nInvited: {names}"))

    async def _until_held(self) -> None:
        """Wait for the clerk to close the session (or cancel it); remind the parties once before it starts."""
        assert self._m.starts_at is not None
        remind_at = self._m.starts_at - parse_period(self._in.remind_before).span()
        reminded = workflow.now() >= remind_at
        while self._m.status == "scheduled":
            seen = self._version
            try:
                await workflow.wait_condition(lambda seen=seen: self._version != seen,  # type: ignore[misc]
                                              timeout=None if reminded else max(remind_at - workflow.now(),
                                                                                 timedelta(0)))
            except TimeoutError:
                reminded = True
                m = self._m
                await self._notify("reminder", (f"议事会提醒：{m.title}", f"Meeting reminder: {m.title}"), (
                    f"议事会将于 {when(m.starts_at)} 在{m.place}召开。请通过邀请链接就各议项陈述意见。",
                    f"The meeting starts {when(m.starts_at)} at {m.place}. State your position on each item through "
                    "your invitation link."), recipients=tuple(m.parties))

    async def _confirmation(self) -> None:
        """The minutes go to the parties; published when all confirmed the current version or at the window's end."""
        notified: int | None = None
        reminded: int | None = None
        while self._m.status == "held":
            m, now = self._m, workflow.now()
            end = m.confirm_until
            assert end is not None
            if not m.unconfirmed() or now >= end:
                async with self._lock:
                    if self._m.status == "held":
                        await self._apply("published", Publish(at=now), key=f"published:{self._m.minutes_version}")
                break
            if notified != m.minutes_version:
                notified = m.minutes_version
                await self._ask_confirmation()
                continue
            start = self._window_start or now
            remind_at = start + (end - start) / 2
            wake = [end] + ([remind_at] if reminded != m.minutes_version and remind_at > now else [])
            seen = self._version
            try:
                await workflow.wait_condition(lambda seen=seen: self._version != seen,  # type: ignore[misc]
                                              timeout=max(min(wake) - now, timedelta(0)))
            except TimeoutError:
                if reminded != self._m.minutes_version and workflow.now() >= remind_at and self._m.unconfirmed():
                    reminded = self._m.minutes_version
                    await self._ask_confirmation(reminder=True)
        if self._m.status == "published":
            await self._announce_minutes()

    async def _ask_confirmation(self, reminder: bool = False) -> None:
        m = self._m
        assert m.confirm_until is not None
        body = with_fallback((
            f"请通过邀请链接阅读并确认第 {m.minutes_version} 版议事会纪要，截止 {when(m.confirm_until)}。",
            f"Read and confirm version {m.minutes_version} of the minutes through your invitation link by "
            f"{when(m.confirm_until)}."), m.confirm_fallback)
        kind, title = ("reminder", ("纪要确认提醒", "Minutes confirmation reminder")) if reminder else (
            "minutes", (f"请确认纪要：{m.title}", f"Confirm the minutes: {m.title}"))
        await self._notify(kind, title, body, recipients=m.unconfirmed())

    async def _announce_minutes(self) -> None:
        m = self._m
        zh = "\n".join(f"{i}. {it.title}：{DECISION_ZH[it.decision.kind]}。{it.decision.summary}"
                       for i, it in m.items.items() if it.decision)
        en = "\n".join(f"{i}. {it.title}: {it.decision.kind}. {it.decision.summary}"
                       for i, it in m.items.items() if it.decision)
        missing = "、".join(m.parties[p].name for p in m.unconfirmed_at_publication)
        head = self._published or await self._read()
        await self._notify("minutes_published", (f"议事会纪要公布：{m.title}", f"Minutes published: {m.title}"), (
            f"{zh}\n" + (f"未确认纪要的参会方：{missing}" if missing else "各参会方均已确认纪要"),
            f"{en}\n" + (f"Parties that did not confirm: {missing}" if missing else "Every party confirmed")),
            head=head)
