"""Scenario 10: the witnesses outlive Temporal's retention (issue 17, item 12), against the running stack.

Temporal deletes a closed history after the namespace's retention; an operator with the Temporal server can delete
one sooner. With it would go the checkpoints that make a rewritten stream detectable without trusting the
database. The stack's worker keeps every closed run's history outside PostgreSQL (its sweep, every
``YISHI_HISTORY_SWEEP_SECONDS``: 2 s here). A vote is run and kept, then its Temporal history deleted; three
attacks follow, each counted in the summary line (``attacks``):

1. the server's copy is gone: ``yishi audit verify`` still passes, from the kept copy;
2. the kept copy is changed: ``kept_histories`` fails, naming the run and the file;
3. a ballot after a checkpoint is rewritten and the chain re-hashed: the kept copy's checkpoints catch it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.service import RPCError, RPCStatusCode

from activities.eventstore import NewEvent
from activities.history_store import HistoryStore
from domain.chain import ENVELOPE_KEYS, canonical_json, chain_hash
from domain.commands import CastBallot
from domain.decider import decide
from domain.events import Question
from domain.roll import Scope
from yishi.check.context import Run, estate, poll
from yishi.services.audit import AuditReport, read_rows, verify
from yishi.services.deliberations import DeliberationSpec, start_vote

SCENARIO = "scenario 10"


async def retention_outlived(run: Run) -> None:
    """10. Temporal's copy of a vote deleted; the kept copy still witnesses the stream, and is itself checked."""
    histories = HistoryStore(run.stack.data_dir / "histories")
    did, run_id = await _kept_vote(run, histories)
    await _delete(run, did, run_id)
    found: dict[str, Any] = {"deliberation": did}

    run.report.attacks += 1
    report = await verify(did, pool=run.pool, client=run.client, histories=histories)
    found["verified_from_kept_copy"] = report.ok and [r["source"] for r in report.runs] == ["kept"]
    run.report.check(found["verified_from_kept_copy"], f"{SCENARIO}: the kept copy does not stand in for the "
                     f"deleted history: {[c for c in report.checks if not c.ok]} {report.runs}")

    run.report.attacks += 1
    [kept] = histories.files(did, run_id)
    original = kept.read()
    kept.path.write_bytes(original.replace(b'"identity":"', b'"identity":"forged-', 1))
    report = await verify(did, pool=run.pool, client=run.client, histories=histories)
    kept.path.write_bytes(original)
    failed = _failed(report, "kept_histories")
    found["changed_copy_named"] = failed is not None and failed.subject == did and str(kept.path) in failed.detail
    run.report.check(found["changed_copy_named"], f"{SCENARIO}: a changed kept copy is not named: {failed}")

    run.report.attacks += 1
    await _rewrite_last_ballot(run, did)
    report = await verify(did, pool=run.pool, client=run.client, histories=histories)
    failed = _failed(report, "checkpoints")
    found["rewrite_caught_by_kept_copy"] = failed is not None and "(kept copy)" in failed.detail
    run.report.check(found["rewrite_caught_by_kept_copy"],
                     f"{SCENARIO}: a re-hashed stream is not caught by the kept checkpoints: {report.failures}")
    run.report.scenarios["retention"] = found


def _failed(report: AuditReport, name: str) -> Any:
    return next((c for c in report.checks if c.name == name and not c.ok), None)


async def _kept_vote(run: Run, histories: HistoryStore) -> tuple[str, str]:
    """A vote with a checkpoint between its ballots, withdrawn, and kept by the worker's sweep."""
    roll = estate(4, building="9", prefix="K")
    now = run.now()
    spec = DeliberationSpec(procedure="consultation", title="故障演练：保留期之后", community=run.community,
                            rule_id="headcount-majority", scope=Scope(), opens_at=now,
                            closes_at=now + timedelta(hours=1), question=Question(text_zh="同意吗？", text_en="Agree?"))
    did, handle = await start_vote(run.client, run.pool, roll, spec, task_queue=run.stack.task_queue,
                                   checkpoint_every=timedelta(seconds=1))
    owners = sorted({r.owner_id for r in roll.rooms})
    await poll(lambda: _state_is(run, did, "open"), f"{SCENARIO}'s ballot box to open", 60)
    await _cast(run, did, owners[0], "for")
    head, _ = await run.store.head(did)
    await poll(lambda: _witnessed(handle, head), f"{SCENARIO}: a checkpoint at seq {head}", 60)
    for owner in owners[1:]:
        await _cast(run, did, owner, "for")
    await handle.signal("withdraw", "fault suite: all ballots in")
    await handle.result()
    run_id = (await handle.describe()).run_id
    await poll(lambda: _kept(histories, did, run_id), f"{SCENARIO}: the worker's sweep to keep {did}", 60)
    return did, run_id


async def _state_is(run: Run, did: str, status: str) -> bool:
    from activities.box import load_box

    state, _ = await load_box(run.store, did)
    return state.status == status


async def _witnessed(handle: Any, head: int) -> bool:
    return any(c["seq"] >= head for c in await handle.query("checkpoints"))


async def _kept(histories: HistoryStore, did: str, run_id: str) -> bool:
    return bool(histories.files(did, run_id))


async def _cast(run: Run, did: str, owner: str, choice: str) -> None:
    from activities.box import load_box

    state, _ = await load_box(run.store, did)
    at = run.now()
    events = decide(state, CastBallot(owner_id=owner, choice=choice, cast_at=at))
    await run.store.append(did, [NewEvent(type=e.type, payload=e.model_dump(mode="json"), occurred_at=at)
                                 for e in events])


async def _delete(run: Run, workflow_id: str, run_id: str) -> None:
    """What retention does (the RPC of `temporal workflow delete`); then until the server has none of it."""
    await run.client.workflow_service.delete_workflow_execution(DeleteWorkflowExecutionRequest(
        namespace=run.client.namespace, workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id)))
    handle = run.client.get_workflow_handle(workflow_id, run_id=run_id)

    async def gone() -> bool:
        for ask in (handle.describe, handle.fetch_history):
            try:
                await ask()
                return False
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise
        return True

    await poll(gone, f"{SCENARIO}: {workflow_id} to be gone from Temporal", 60)


async def _rewrite_last_ballot(run: Run, did: str) -> None:
    """The database superuser's forgery: the last ballot turned to 'against', every later hash recomputed."""
    rows = await read_rows(run.pool, did)
    seq = max(r["seq"] for r in rows if r["type"] == "BallotCast")
    rows[seq - 1]["payload"] = dict(rows[seq - 1]["payload"], choice="against")
    prev = rows[seq - 2]["hash"]
    for row in rows[seq - 1:]:
        row["prev_hash"] = prev
        row["hash"] = prev = chain_hash(prev, canonical_json({k: row[k] for k in ENVELOPE_KEYS}))
    async with run.pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_no_update_delete")
        for row in rows[seq - 1:]:
            await conn.execute("UPDATE events SET payload = $3, prev_hash = $4, hash = $5 WHERE stream_id = $1"
                               " AND seq = $2", did, row["seq"], row["payload"], row["prev_hash"], row["hash"])
        await conn.execute("UPDATE streams SET head_hash = $2 WHERE stream_id = $1", did, rows[-1]["hash"])
        await conn.execute("ALTER TABLE events ENABLE TRIGGER events_no_update_delete")
