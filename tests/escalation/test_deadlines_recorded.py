"""A ticket's deadlines are recorded facts: computed by the ``compute_deadlines`` activity (with the years counted on
weekends only shown on the notice, on the ticket page and in the stream), so a history recorded while a year was not
covered replays after the holiday table covers it. Histories recorded before the ``deadlines-recorded`` patch computed
them in workflow code: the same change of the table breaks their replay (the control below)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from temporalio import workflow
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.eventstore import EventStore, StoredEvent
from domain.escalation import Ticket
from domain.legal_calendar import BEIJING, fallback_note
from domain.procedures import parse_period
from tests.escalation.conftest import ticket, ticket_until
from tests.web.conftest import BASE_URL, SECRET
from tests.workflows.conftest import running_worker, save_history
from tests.workflows.test_replay import payloads
from tests.workflows.uncovered import schedule_loaded, server_day, uncovered_year
from workflows.deadlines import DEADLINES_RECORDED
from workflows.escalation import TicketAction
from workflows.registry import WORKFLOWS
from yishi.i18n import bilingual_error
from yishi.services.escalations import TicketRequest, act, open_ticket
from yishi.services.follow_up import follow_up_link
from yishi.temporal_client import DATA_CONVERTER

COMMUNITY = "幸福社区"  # the community tests/web's sign_in gives its accounts


@pytest.fixture(autouse=True)
def no_operator_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about a year that nothing covers: the operator's holiday file that a run may load for every
    test (``--holiday-file``) is not loaded here."""
    monkeypatch.delenv("YISHI_HOLIDAY_FILE", raising=False)


async def to_year_end(env: WorkflowEnvironment) -> int:
    """Move the server's clock to 30 December before the first uncovered year (unless it is there already): five
    working days from then end in that year. Returns the year."""
    year = await uncovered_year(env)
    start = datetime(year - 1, 12, 30, 10, 0, tzinfo=BEIJING)
    now = await env.get_current_time()
    if (await server_day(env)).year < year and start > now:
        await env.sleep(start - now)
    return year


async def open_top_level_ticket(env: WorkflowEnvironment, task_queue: str) -> tuple[str, WorkflowHandle, Ticket]:
    tid, handle = await open_ticket(env.client, TicketRequest(
        community=COMMUNITY, category="housing", subject="旧物业拒不撤场", initiator="committee",
        start_level="department"), task_queue=task_queue)
    return tid, handle, await ticket_until(handle, lambda t: t.current is not None, "assigned")


async def both_deadlines_missed(env: WorkflowEnvironment, handle: WorkflowHandle) -> Ticket:
    """Let virtual days pass until the top level has missed the acknowledgement and the resolution."""
    for _ in range(30):
        state = await ticket_until(handle, lambda t: t.current is not None, "the ticket")
        if set(state.current.missed) == {"acknowledge", "resolve"}:  # type: ignore[union-attr]
            return state
        await asyncio.wait_for(env.sleep(timedelta(days=1)), timeout=15)
        await asyncio.sleep(0.1)
    raise AssertionError("the deadlines were not missed")


async def first_in_stream(store: EventStore, stream: str, kind: str, patience: float = 20) -> StoredEvent:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while loop.time() < deadline:
        found = [e for e in await store.read(stream) if e.type == kind]
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {kind} in {stream}")


async def replay(history: WorkflowHistory) -> Exception | None:
    result = await Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER).replay_workflow(
        history, raise_on_replay_failure=False)
    return result.replay_failure


def loaded_schedule(year: int, ticket: Ticket):  # noqa: ANN201 - a context manager
    """The State Council schedule for ``year`` as a later package would have it: the resolve deadline's last day,
    counted as a working day on weekends only, turns out to be a holiday."""
    last_day = (ticket.current.resolve_due.astimezone(BEIJING) - timedelta(days=1)).date()  # type: ignore[union-attr]
    assert last_day.year == year
    return schedule_loaded(year, {last_day})


async def test_ticket_deadlines_with_the_fallback_replay_after_the_schedule_is_loaded(
        ts_env, store: EventStore, pool, task_queue: str, app, sign_in) -> None:
    env = ts_env
    year = await to_year_end(env)
    zh, en = bilingual_error(fallback_note([year]))
    async with running_worker(env, store, pool, task_queue):
        tid, handle, ticket = await open_top_level_ticket(env, task_queue)
        assert ticket.current.fallback_years == (year,)  # type: ignore[union-attr]
        stored = await store.read(tid)
        assigned = next(e for e in stored if e.type == "LevelAssigned")
        assert assigned.payload["fallback_years"] == [year], "auditors see it in the stream"
        notice = await first_in_stream(store, tid, "NoticePublished")
        assert zh in notice.payload["body_zh"] and en in notice.payload["body_en"], "the notice states the deadlines"
        committee = await sign_in("committee", community=COMMUNITY)
        assert zh in (await committee.get(f"/console/escalations/t/{tid}")).text
        assert en in (await committee.get(f"/console/escalations/t/{tid}?lang=en")).text
        missed = await both_deadlines_missed(env, handle)
        history = await handle.fetch_history()
        await save_history(handle, "escalation_deadlines_recorded")
    opened_at = missed.current.assigned_at  # type: ignore[union-attr]
    with loaded_schedule(year, missed):
        recomputed = parse_period(missed.levels[-1].resolve).deadline(opened_at)
        assert recomputed.ends_at > missed.current.resolve_due and not recomputed.calendar_fallback  # type: ignore[union-attr]
        assert await replay(history) is None, "the recorded deadlines are read back, not recomputed"


async def test_before_the_patch_the_same_change_breaks_the_replay(ts_env, store: EventStore, pool, task_queue: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: a ticket run as before the patch (deadlines computed in workflow code) no longer replays once
    the holiday table covers the year differently: the reason for recording them."""
    env = ts_env
    year = await to_year_end(env)
    patched = workflow.patched
    monkeypatch.setattr(workflow, "patched", lambda name: name != DEADLINES_RECORDED and patched(name))
    async with running_worker(env, store, pool, task_queue):
        _, handle, ticket = await open_top_level_ticket(env, task_queue)
        assert ticket.current.fallback_years == (), "no fallback recorded before the patch"  # type: ignore[union-attr]
        missed = await both_deadlines_missed(env, handle)
        history = await handle.fetch_history()
    monkeypatch.undo()
    assert DEADLINES_RECORDED not in payloads(history.to_json()) and "compute_deadlines" not in history.to_json()
    assert await replay(history) is None, "with the calendar it was recorded with, it replays"
    with loaded_schedule(year, missed):
        failure = await replay(history)
    assert failure is not None and "ondeterminism" in f"{type(failure).__name__} {failure}", failure


async def test_the_follow_up_deadline_and_a_reopening_carry_the_fallback(ts_env, store: EventStore, pool,
                                                                          task_queue: str, app, sign_in) -> None:
    """Resolved at the end of a covered year: the owner's follow-up period ends in the uncovered one (recorded on
    ``Resolved``, shown on the resolution notice, the ticket page and the owner's follow-up page); "not satisfied"
    reopens the ticket with fresh deadlines, computed by the activity too."""
    env = ts_env
    app.state.temporal = env.client
    year = await to_year_end(env)
    zh, en = bilingual_error(fallback_note([year]))
    street = {"role": "street_office", "actor": "王科长", "org": "street"}
    async with running_worker(env, store, pool, task_queue):
        tid, handle = await open_ticket(env.client, TicketRequest(
            community=COMMUNITY, category="housing", subject="旧物业拒不撤场", initiator="O311",
            initiator_kind="owner", start_level="street"), task_queue=task_queue)
        await ticket_until(handle, lambda t: t.current is not None, "assigned")
        await act(env.client, tid, "resolve", TicketAction(**street, outcome="resolved", text="限期撤场"))
        resolved = next(e for e in await store.read(tid) if e.type == "Resolved")
        assert resolved.payload["follow_up_fallback_years"] == [year] and resolved.payload["follow_up_due"]
        notice = [e for e in await store.read(tid) if e.type == "NoticePublished"][-1]
        assert notice.payload["kind"] == "escalation_resolved" and zh in notice.payload["body_zh"]
        committee = await sign_in("committee", community=COMMUNITY)
        page = (await committee.get(f"/console/escalations/t/{tid}")).text
        assert "评价期限" in page and zh in page
        # The owner's follow-up link, as the resolution notice carries it to the owner (no staff page shows it).
        issued = await follow_up_link(pool, await ticket(handle), secret_key=SECRET, now=datetime.now(UTC))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as owner:
            owner_page = (await owner.get(f"/f/{issued.token}?lang=en")).text
        assert "Rate it by" in owner_page and en in owner_page
        await act(env.client, tid, "follow_up", TicketAction(role="owner", actor="O311", outcome="not_satisfied"))
        state = await ticket_until(handle, lambda t: t.status == "assigned" and t.reopens == 1, "reopened")
        assert state.current.reason == "reopened" and state.current.fallback_years == (year,)  # type: ignore[union-attr]
        await save_history(handle, "escalation_follow_up_deadlines_recorded")
        await handle.terminate("test done")
