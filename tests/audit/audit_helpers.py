"""Helpers of the audit tests: real votes with online, paper and proxy ballots, and the standalone verifier run
in an isolated interpreter.

A vote's deadline is far away (``VOTE_WINDOW``) and the test seals it with the committee's ``withdraw`` signal
once its ballots are in (as ``yishi bench scale`` does): on a loaded machine no ballot can arrive after the close,
and on a quiet one no test waits out a deadline. Every wait polls until a deadline (``until``)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.box import load_box
from activities.eventstore import EventStore, NewEvent
from domain.commands import AuthoriseProxy, CastBallot, Command
from domain.decider import decide
from domain.events import Question
from domain.roll import Roll, Room, Scope
from workflows.ballot_box import BoxResult
from yishi.services.deliberations import DeliberationSpec, box_params, start_vote, store_roll

ROOT = Path(__file__).resolve().parents[2]
VERIFIER = ROOT / "tools" / "verify_export.py"
VOTE_WINDOW = timedelta(minutes=30)
"""Far beyond any test run, however slow the machine: the test withdraws the box when its ballots are in."""
WAIT = 120.0
"""Seconds a wait may take before the test fails (each returns as soon as its condition holds)."""
WITHDRAWN = "audit test: all ballots in"
TAMPER_CASES = ("clean", "payload", "deleted", "swapped", "truncated", "recomputed", "forged", "replay", "late", "cli")


def audit_roll() -> Roll:
    """Building 3, entrance 2: twelve owners, one room each; one owner (O99) outside the scope."""
    rooms = [Room(room_id=f"3-2-{f}0{u}", building="3", entrance="2", floor=str(f),
                  area_m2=Decimal("88.50") + f, owner_id=f"O{f}{u}", owner_name=f"业主{f}{u}",
                  phone=f"1390000{f}{u}")
             for f in range(1, 7) for u in (1, 2)]
    rooms.append(Room(room_id="5-1-101", building="5", entrance="1", floor="1", area_m2=Decimal("70.25"),
                      owner_id="O99", owner_name="外单元业主"))
    return Roll(rooms=tuple(rooms), source="audit-test")


@dataclass
class Vote:
    id: str
    result: BoxResult


async def apply(store: EventStore, deliberation_id: str, command: Command) -> None:
    """Decide with the domain and append, as the web tier does (ballots never pass through the workflow)."""
    state, seq = await load_box(store, deliberation_id)
    events = decide(state, command)
    at = getattr(command, "cast_at", None) or command.at  # type: ignore[attr-defined]
    if events:
        await store.append(deliberation_id, [NewEvent(type=e.type, payload=e.model_dump(mode="json"),
                                                      occurred_at=at) for e in events])


async def until(predicate: Callable[[], Awaitable[Any]], what: str, seconds: float = WAIT,
                every: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something true (returned), failing after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        if found := await predicate():
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")
        await asyncio.sleep(every)


async def query(handle: Any, name: str, **kwargs: Any) -> Any:
    """A workflow query, or None when it timed out (a busy worker answers late: ask again)."""
    try:
        return await handle.query(name, **kwargs)
    except RPCError as exc:
        if exc.status == RPCStatusCode.DEADLINE_EXCEEDED:
            return None
        raise


async def _wait_open(store: EventStore, deliberation_id: str) -> None:
    async def opened() -> bool:
        state, _ = await load_box(store, deliberation_id)
        return state.status == "open"

    await until(opened, f"{deliberation_id} to open")


async def _wait_checkpoint(handle: Any, store: EventStore, deliberation_id: str) -> None:
    """Until the workflow has witnessed the current head (so later ballots come after a checkpoint)."""
    head, _ = await store.head(deliberation_id)

    async def witnessed() -> bool:
        return any(c["seq"] >= head for c in await query(handle, "checkpoints") or ())

    await until(witnessed, f"a checkpoint of {deliberation_id} at seq {head} or later", every=0.1)


def now() -> datetime:
    return datetime.now(UTC)


def spec(deem_silent: bool = False) -> DeliberationSpec:
    start = now()
    return DeliberationSpec(
        procedure="elevator", title="3栋2单元加装电梯（审计测试）", rule_id="cc278-special",
        scope=Scope(building="3", entrance="2"), deem_silent=deem_silent,
        question=Question(text_zh="是否同意加装电梯？", text_en="Install an elevator?"),
        opens_at=start, closes_at=start + VOTE_WINDOW,
    )


async def cast_ballots(store: EventStore, stream: str, box: Any) -> None:
    """Online, paper and proxy ballots; a checkpoint witnessed; then a paper ballot overridden online and
    a changed ballot."""
    await _wait_open(store, stream)
    for owner, choice in (("O11", "for"), ("O12", "for"), ("O21", "for"), ("O22", "against")):
        await apply(store, stream, CastBallot(owner_id=owner, choice=choice, cast_at=now()))
    await apply(store, stream, AuthoriseProxy(owner_id="O31", proxy_owner_id="O32", at=now()))
    await apply(store, stream, CastBallot(owner_id="O31", choice="for", cast_at=now(), cast_by="O32"))
    await apply(store, stream, CastBallot(owner_id="O41", choice="for", cast_at=now(), channel="paper",
                                          paper_ref="P-041"))
    await _wait_checkpoint(box, store, stream)
    await apply(store, stream, CastBallot(owner_id="O42", choice="against", cast_at=now(), channel="paper",
                                          paper_ref="P-042"))
    for owner, choice in (("O42", "for"), ("O51", "for"), ("O52", "for"), ("O61", "abstain"), ("O22", "for")):
        await apply(store, stream, CastBallot(owner_id=owner, choice=choice, cast_at=now()))


async def run_vote(client: Client, pool: Any, store: EventStore, task_queue: str, deem_silent: bool) -> Vote:
    """A vote (checkpoint every second) started as the console does, withdrawn once the ballots are in; its id is
    the stream's."""
    deliberation_id, handle = await start_vote(client, pool, audit_roll(), spec(deem_silent), task_queue=task_queue,
                                               checkpoint_every=timedelta(seconds=1))
    await cast_ballots(store, deliberation_id, handle)
    await handle.signal("withdraw", WITHDRAWN)
    return Vote(deliberation_id, await handle.result())


async def run_escalated_vote(client: Client, pool: Any, store: EventStore, task_queue: str) -> Vote:
    """A parent workflow (id = the deliberation) whose ballot box is the child ``<id>/vote-1`` on its own stream."""
    parent_id = f"procedure-{uuid.uuid4().hex[:12]}"
    digest = await store_roll(pool, audit_roll())
    params = box_params(f"{parent_id}/vote-1", spec(), digest, checkpoint_every=timedelta(seconds=1))
    handle = await client.start_workflow("AuditTestProcedure", params, id=parent_id, task_queue=task_queue,
                                         result_type=BoxResult)
    box = client.get_workflow_handle(f"{parent_id}/vote-1")
    await cast_ballots(store, f"{parent_id}/vote-1", box)
    await box.signal("withdraw", WITHDRAWN)
    return Vote(parent_id, await handle.result())


def run_standalone(directory: Path) -> tuple[int, dict[str, Any]]:
    """tools/verify_export.py in an isolated interpreter without site-packages: the standard library only."""
    proc = subprocess.run([sys.executable, "-I", "-S", str(VERIFIER), str(directory), "--json"],
                          capture_output=True, text=True, timeout=WAIT)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


async def delete_from_server(client: Client, workflow_id: str, run_id: str) -> None:
    """What Temporal does at the end of the namespace's retention: delete the run (the RPC `temporal workflow
    delete` sends); then wait until the server neither describes it nor serves its history."""
    await client.workflow_service.delete_workflow_execution(DeleteWorkflowExecutionRequest(
        namespace=client.namespace, workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id)))
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)

    async def gone() -> bool:
        for ask in (handle.describe, handle.fetch_history):
            try:
                await ask()
                return False
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise
        return True

    await until(gone, f"{workflow_id} run {run_id} to be gone from the server", every=0.2)
