"""A deadline in a year the installed ``chinese_calendar`` does not cover is counted on weekends only, and said so:
in the stream (StageEntered, TaskOpened), on ``yishi status`` (text and JSON), on the console's matter page, on the
owner's personal-link page and on the notice that states it (RULES.md). The deadline is computed by the
``compute_deadlines`` activity, so the history holds it: see test_replay_after_the_schedule_is_loaded for the replay.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from activities.eventstore import EventStore
from domain.legal_calendar import BEIJING, fallback_note
from domain.roll import Scope
from tests.web.conftest import BASE_URL, SECRET, app, give_links, settings, sign_in  # noqa: F401 - fixtures used here
from tests.workflows.conftest import (
    complete,
    estate_roll,
    running_worker,
    save_history,
    stage_is,
    wait_box_open,
    wait_for,
)
from tests.workflows.uncovered import server_day, uncovered_year
from yishi.cli.deliberation import _render
from yishi.i18n import bilingual_error
from yishi.services.audit import timeline
from yishi.services.procedures import StartRequest, procedure_status, start_procedure

COMMUNITY = "幸福社区"  # the community tests/web's sign_in gives its accounts


@pytest.fixture(autouse=True)
def no_operator_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about a year that nothing covers: the operator's holiday file that a run may load for every
    test (``--holiday-file``) is not loaded here."""
    monkeypatch.delenv("YISHI_HOLIDAY_FILE", raising=False)


def elevator(periods: dict[str, str]) -> StartRequest:
    return StartRequest(procedure="elevator", title="3栋2单元加装电梯", scope=Scope(building="3", entrance="2"),
                        periods=periods, initiator_role="owner", initiated_by="O361", community=COMMUNITY,
                        options={"cost_total": Decimal("600000.00")})


async def target_in_uncovered_year(env: Any) -> tuple[date, int]:
    """A last day in an uncovered year, and its distance in days from the server's today."""
    today = await server_day(env)
    target = date(await uncovered_year(env), 3, 10)
    if target <= today + timedelta(days=2):  # the server's year is itself uncovered and March is past
        target = today + timedelta(days=20)
    return target, (target - today).days


async def notice_of_kind(env: Any, store: EventStore, stream: str, kind: str, step: timedelta) -> dict[str, Any]:
    """Let virtual time pass in steps until a notice of ``kind`` is in the stream."""
    for _ in range(40):
        found = [e.payload for e in await store.read(stream)
                 if e.type == "NoticePublished" and e.payload["kind"] == kind]
        if found:
            return found[0]
        await asyncio.wait_for(env.sleep(step), timeout=15)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {kind} notice in {stream}")


async def test_a_deadline_in_an_uncovered_year_is_flagged_everywhere(ts_env, store: EventStore, pool, task_queue: str,
                                                                     app, sign_in) -> None:  # noqa: F811
    env = ts_env
    target, days = await target_in_uncovered_year(env)
    year = target.year
    zh, en = bilingual_error(fallback_note([year]))
    periods = {"feasibility": f"P{days}D", "voting": f"P{days}D", "remind_before": f"P{days - 1}D", "checkpoint": "P1D"}
    async with running_worker(env, store, pool, task_queue):
        did, handle = await start_procedure(env.client, pool, estate_roll(), elevator(periods), task_queue=task_queue)
        state = await wait_for(handle, stage_is("feasibility", "feasibility"), "the feasibility task")
        assert state.deadline_fallback == (year,)
        assert state.deadline is not None and state.deadline.astimezone(BEIJING).date() > target

        # The stream: what an auditor reads.
        stored = await store.read(did)
        entered = [e for e in stored if e.type == "StageEntered"][-1]
        opened = [e for e in stored if e.type == "TaskOpened"][-1]
        assert entered.payload["fallback_years"] == opened.payload["fallback_years"] == [year]

        # yishi status, JSON and text in both languages.
        status = await procedure_status(store, did)
        assert status["deadline_fallback_years"] == [year]
        assert status["open_tasks"][0]["due_fallback_years"] == [year]
        assert json.loads(json.dumps(status, ensure_ascii=False))["deadline_fallback_years"] == [year]
        assert zh in _render(status, "zh") and en in _render(status, "en")

        # The console's matter page and the owner's page behind the personal link.
        committee = await sign_in("committee", community=COMMUNITY)
        page = await committee.get(f"/console/d/{did}/matter")
        assert page.status_code == 200 and zh in page.text
        assert en in (await committee.get(f"/console/d/{did}/matter?lang=en")).text
        link = (await give_links(store, did, ["O361"], secret_key=SECRET))[0]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as owner:
            text = (await owner.get(f"/v/{link.token}")).text
        assert "可行性审查" in text and zh in text

        # The notice that states the deadline: the voting reminder.
        # The audit timeline says it beside the deadline.
        entries = [e for e in await timeline(pool, did) if e.type == "StageEntered"]
        assert f"weekends only in {year}" in entries[-1].summary

        # The ballot behind the same link, once the vote is open.
        await complete(handle, "feasibility", "street_office", "feasible", note="结构安全")
        await wait_for(handle, stage_is("voting"), "voting")
        await wait_box_open(store, did)
        now = await env.get_current_time()  # the page compares with the test server's clock (--clock moves it)
        app.state.clock = lambda: now
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as owner:
                ballot = (await owner.get(f"/v/{link.token}")).text
        finally:
            del app.state.clock
        assert "投票截止" in ballot and zh in ballot
        reminder = await notice_of_kind(env, store, did, "reminder", timedelta(hours=12))
        assert zh in reminder["body_zh"] and en in reminder["body_en"]
        voting = next(e for e in await store.read(did) if e.type == "VoteRoundOpened")
        assert voting.payload["fallback_years"] == [year]
        await save_history(handle, "elevator_deadlines_recorded")
        await handle.terminate("test done")
