"""The phases of the ``Meeting`` workflow (workflows/meeting.py): the notice, the wait for the session with the
reminder before it, and the minutes-confirmation window with its reminder, ending in the publication."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.errors import N_, Bilingual, Items, Label, Text
    from domain.meeting_commands import Publish, when
    from domain.procedures import parse_period
    from yishi.i18n import bilingual

from workflows.deadlines import with_fallback
from workflows.meeting_inputs import MeetingInput
from workflows.meeting_parts import MeetingParts, agenda_lines


class MeetingPhases(MeetingParts):
    _in: MeetingInput
    _window_start: datetime | None

    async def _announce(self) -> None:
        m = self._m
        zh, en = agenda_lines(m)
        agenda = Bilingual(zh, en) if m.items else Text(N_("(to be set)"))
        names = Items(p.name for p in m.parties.values()) if m.parties else "—"
        await self._notify("meeting", bilingual(N_("%(kind)s notice: %(title)s"), kind=Label("meeting_kind", m.kind),
                                                title=m.title),
                           bilingual(N_("When: %(when)s\nWhere: %(place)s\nAgenda:\n%(agenda)s\nInvited: %(names)s"),
                                     when=when(m.starts_at), place=m.place, agenda=agenda, names=names))

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
                await self._notify("reminder", bilingual(N_("Meeting reminder: %(title)s"), title=m.title),
                                   bilingual(N_("The meeting starts %(when)s at %(place)s. State your position on "
                                                "each item through your invitation link."),
                                             when=when(m.starts_at), place=m.place), recipients=tuple(m.parties))

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
        body = with_fallback(bilingual(
            N_("Read and confirm version %(version)s of the minutes through your invitation link by %(until)s."),
            version=m.minutes_version, until=when(m.confirm_until)), m.confirm_fallback)
        kind, title = ("reminder", bilingual(N_("Minutes confirmation reminder: %(title)s"), title=m.title)) \
            if reminder else ("minutes", bilingual(N_("Confirm the minutes: %(title)s"), title=m.title))
        await self._notify(kind, title, body, recipients=m.unconfirmed())

    async def _announce_minutes(self) -> None:
        m = self._m
        lines = [bilingual(N_("%(n)s. %(title)s: %(decision)s. %(summary)s"), n=i, title=it.title,
                           decision=Label("decision", it.decision.kind), summary=it.decision.summary)
                 for i, it in m.items.items() if it.decision]
        missing = Items(m.parties[p].name for p in m.unconfirmed_at_publication)
        tail = bilingual(N_("Parties that did not confirm: %(parties)s"), parties=missing) if missing \
            else bilingual(N_("Every party confirmed the minutes"))
        head = self._published or await self._read()
        await self._notify("minutes_published", bilingual(N_("Minutes published: %(title)s"), title=m.title),
                           tuple("\n".join([*(line[lang] for line in lines), tail[lang]])  # type: ignore[misc]
                                 for lang in (0, 1)), head=head)
