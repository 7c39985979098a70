"""Escalation tickets in the audit: the ``Escalation`` child of a deliberation (id and stream
``<id>/esc-<subject>``) is listed and replayed, its stream is exported and chain-checked by both verifiers,
and a ticket event changed (or a ticket stream deleted) in the database is named by stream and seq."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from audit_helpers import query, run_standalone, until
from audit_workflows import TicketingProcedure
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import Worker
from test_audit_tamper import assert_agree, unguarded

from activities.eventstore import EventStore
from activities.registry import build_activities
from domain.escalation import Ticket
from workflows.escalation import EscalationInput
from workflows.registry import WORKFLOWS
from yishi.services.audit import AuditReport, export, read_rows, verify
from yishi.services.audit_temporal import runs_query
from yishi.settings import Settings

WORKFLOWS_HERE = [*WORKFLOWS, TicketingProcedure]


async def _ticketed(client: Client, pool: Any, store: EventStore) -> tuple[str, str]:
    """A deliberation whose workflow opened one escalation ticket, which is then cancelled (a finished run)."""
    deliberation_id = f"audit-tk-{uuid.uuid4().hex[:8]}"
    ticket_id = f"{deliberation_id}/esc-obj-1"
    settings = Settings(task_queue=f"audit-tk-{uuid.uuid4().hex[:8]}")
    worker = Worker(client, task_queue=settings.task_queue, workflows=WORKFLOWS_HERE,
                    activities=build_activities(store, pool, settings))
    async with worker:
        params = EscalationInput(ticket_id=ticket_id, parent_id=deliberation_id, community="audit",
                                 category="urban_management", subject="楼道油烟", detail="审计测试工单",
                                 initiator="O11", initiator_kind="owner", start_level="street")
        await client.execute_workflow("AuditTicketProcedure", params, id=deliberation_id,
                                      task_queue=settings.task_queue, result_type=str)
        ticket = client.get_workflow_handle(ticket_id)

        async def assigned() -> bool:  # the workflow itself has seen its first append (not only the store)
            state = await query(ticket, "ticket", result_type=Ticket, rpc_timeout=timedelta(seconds=4))
            if state is None or state.current is None:
                return False
            # ... and has announced it: no notice still being delivered (it would land after Cancelled).
            raw = (await ticket.describe()).raw_description
            return not raw.pending_activities and not raw.HasField("pending_workflow_task")

        await until(assigned, "the ticket's first level, announced", every=0.1)
        await ticket.cancel()

        async def ended() -> bool:
            types = [r["type"] for r in await read_rows(pool, ticket_id)]
            return "Cancelled" in types and (await ticket.describe()).status == WorkflowExecutionStatus.CANCELED

        await until(ended, "the ticket to record its cancellation", every=0.1)
    return deliberation_id, ticket_id


def named(report: AuditReport | dict[str, Any], name: str, subject: str) -> dict[str, Any]:
    checks = report.to_json()["checks"] if isinstance(report, AuditReport) else report["checks"]
    return next(c for c in checks if c["name"] == name and c["subject"] == subject)


async def test_ticket_child_is_listed_replayed_exported_and_tamper_is_named(
        temporal_client: Client, pool: Any, store: EventStore, tmp_path: Path) -> None:
    deliberation_id, ticket_id = await _ticketed(temporal_client, pool, store)
    listed = {e.id: e.workflow_type async for e in temporal_client.list_workflows(runs_query(deliberation_id))}
    assert listed == {deliberation_id: "AuditTicketProcedure", ticket_id: "Escalation"}, "runs_query finds the child"

    report = await verify(deliberation_id, pool=pool, client=temporal_client, workflows=WORKFLOWS_HERE)
    assert report.ok, report.failures
    assert {(r["workflow_id"], r["workflow_type"]) for r in report.runs} == {
        (deliberation_id, "AuditTicketProcedure"), (ticket_id, "Escalation")}
    replayed = [c for c in report.checks if c.name == "replay" and c.subject == ticket_id]
    assert len(replayed) == 1 and replayed[0].ok and "Escalation" in replayed[0].detail
    rows = await read_rows(pool, ticket_id)
    types = [r["type"] for r in rows]
    assert types[0] == "EscalationOpened" and types[-1] == "Cancelled", types
    assert named(report, "chain", ticket_id)["ok"] and named(report, "stream_head", ticket_id)["ok"]
    tickets = named(report, "tickets", deliberation_id)
    assert tickets["ok"] and ticket_id in tickets["detail"] and f"({len(rows)} events)" in tickets["detail"]

    clean = tmp_path / "clean"
    manifest = await export(deliberation_id, clean, pool=pool, client=temporal_client)
    assert ticket_id in manifest["streams"] and ticket_id in manifest["tickets"]
    exported = [json.loads(line) for line in (clean / "events.jsonl").read_text("utf-8").splitlines()]
    assert [r["seq"] for r in exported if r["stream_id"] == ticket_id] == list(range(1, len(rows) + 1))
    code, standalone = run_standalone(clean)
    assert code == 0, standalone
    assert named(standalone, "chain", ticket_id)["ok"] and named(standalone, "tickets", deliberation_id)["ok"]

    # A superuser rewrites one ticket event (who the ticket is assigned to): both verifiers name stream and seq.
    seq = next(r["seq"] for r in rows if r["type"] == "LevelAssigned")
    payload = dict(rows[seq - 1]["payload"], org="street:forged")
    async with unguarded(pool) as conn:
        await conn.execute("UPDATE events SET payload = $3 WHERE stream_id = $1 AND seq = $2", ticket_id, seq,
                           payload)
    tampered = await verify(deliberation_id, pool=pool, client=temporal_client, workflows=WORKFLOWS_HERE)
    assert not tampered.ok
    chain = named(tampered, "chain", ticket_id)
    assert not chain["ok"] and chain["seq"] == seq and f"seq {seq}: hash" in chain["detail"], chain
    assert [(c.name, c.subject, c.seq) for c in tampered.failures] == [("chain", ticket_id, seq)]
    out = tmp_path / "tampered"
    await export(deliberation_id, out, pool=pool, client=temporal_client)
    code, standalone = run_standalone(out)
    assert code == 1 and not named(standalone, "chain", ticket_id)["ok"]
    assert named(standalone, "chain", ticket_id)["seq"] == seq
    assert_agree(tampered, standalone)

    # The whole ticket stream deleted: the run and the projection still name the ticket.
    async with unguarded(pool) as conn:
        await conn.execute("DELETE FROM events WHERE stream_id = $1", ticket_id)
    gone = await verify(deliberation_id, pool=pool, client=temporal_client, workflows=WORKFLOWS_HERE)
    missing = named(gone, "tickets", ticket_id)
    assert not missing["ok"] and "Temporal run" in missing["detail"] and "escalations table" in missing["detail"]
    out = tmp_path / "deleted"
    await export(deliberation_id, out, pool=pool, client=temporal_client)
    code, standalone = run_standalone(out)
    assert code == 1 and not named(standalone, "tickets", ticket_id)["ok"]
    assert_agree(gone, standalone)
