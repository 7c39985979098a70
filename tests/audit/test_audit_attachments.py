"""Files attached to an escalation ticket (issue 21, item 12: uploaded at the desk, kept by SHA-256 in
``attachment_blobs``, named by hash in ``EscalationOpened``) are part of the record an auditor checks: `yishi audit
verify` holds each stored file to its hash, the export carries it (attachments/<sha256>), and the offline verifier
checks it there; a byte changed in PostgreSQL fails both, naming the ticket and the file. A file the ticket names
by hash only (`yishi escalate open --attachment`, kept elsewhere) is counted, not checked."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from audit_helpers import query, run_standalone, run_vote, until
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import Worker

from activities.eventstore import EventStore
from activities.registry import build_activities
from domain.escalation import Ticket
from workflows.registry import WORKFLOWS
from yishi.services import attachments
from yishi.services.audit import export, read_rows, verify
from yishi.services.complaints import Complaint, file_complaint
from yishi.settings import Settings

PHOTO = b"\xff\xd8\xff\xe0" + b"stairwell-clutter-photo" * 64 + uuid.uuid4().hex.encode() + b"\xff\xd9"
ELSEWHERE = "ab" * 32  # a file kept outside Yishi, named by its hash only


async def _ticket_with_a_photo(client: Client, pool: Any, store: EventStore) -> tuple[str, str, str]:
    """A vote, and a resident's complaint about it filed at the desk with a photo uploaded (stored, then named by
    hash, as yishi/web/console_complaint.py does), its ticket then cancelled (a finished run)."""
    settings = Settings(task_queue=f"audit-att-{uuid.uuid4().hex[:8]}")
    async with Worker(client, task_queue=settings.task_queue, workflows=WORKFLOWS,
                      activities=build_activities(store, pool, settings)):
        vote = await run_vote(client, pool, store, settings.task_queue, deem_silent=False)
        blob = attachments.check("楼道堆物.jpg", PHOTO)
        await attachments.store(pool, blob)
        ticket_id = f"{vote.id}/esc-desk-1"
        complaint = Complaint(community="default", resident="3栋2单元501 王阿姨", category="urban_management",
                              subject="楼道堆物", detail="消防通道被占", deliberation_id=vote.id, start_level="street",
                              attachments=f"楼道堆物.jpg, {blob.sha256}\n纸质信件.pdf, {ELSEWHERE}",
                              filed_by="李干事", filed_by_role="street_office")
        await file_complaint(client, pool, complaint, task_queue=settings.task_queue, ticket_id=ticket_id)
        ticket = client.get_workflow_handle(ticket_id)

        async def assigned() -> bool:
            state = await query(ticket, "ticket", result_type=Ticket, rpc_timeout=timedelta(seconds=4))
            if state is None or state.current is None:
                return False
            raw = (await ticket.describe()).raw_description
            return not raw.pending_activities and not raw.HasField("pending_workflow_task")

        await until(assigned, "the ticket's first level, announced", every=0.1)
        await ticket.cancel()

        async def ended() -> bool:
            types = [r["type"] for r in await read_rows(pool, ticket_id)]
            return "Cancelled" in types and (await ticket.describe()).status == WorkflowExecutionStatus.CANCELED

        await until(ended, "the ticket to record its cancellation", every=0.1)
    return vote.id, ticket_id, blob.sha256


async def test_a_ticket_attachment_is_checked_by_both_verifiers(temporal_client: Client, pool: Any, store: EventStore,
                                                               tmp_path: Path) -> None:
    deliberation_id, ticket_id, sha256 = await _ticket_with_a_photo(temporal_client, pool, store)
    report = await verify(deliberation_id, pool=pool, client=temporal_client)
    assert report.ok, report.failures
    (check,) = [c for c in report.checks if c.name == "attachments"]
    assert check.detail == ("1 files attached to escalation tickets, each matching its hash; 1 named by hash only, "
                            "kept outside Yishi (not checked)"), check
    out = tmp_path / "export"
    await export(deliberation_id, out, pool=pool, client=temporal_client)
    assert (out / "attachments" / sha256).read_bytes() == PHOTO
    code, outside = await asyncio.to_thread(run_standalone, out)
    assert code == 0 and outside["ok"], outside
    assert [c["detail"] for c in outside["checks"] if c["name"] == "attachments"] == [check.detail]

    # One byte of the stored photo changed in PostgreSQL (same length: the table's own checks still hold).
    changed = PHOTO[:40] + bytes([PHOTO[40] ^ 1]) + PHOTO[41:]
    async with pool.acquire() as conn:
        await conn.execute("UPDATE attachment_blobs SET data = $2 WHERE sha256 = $1", sha256, changed)
    tampered = await verify(deliberation_id, pool=pool, client=temporal_client)
    (failed,) = tampered.failures
    assert (failed.name, failed.subject) == ("attachments", ticket_id), failed
    assert failed.detail == (f"the attachment 楼道堆物.jpg of ticket {ticket_id} does not hash to the recorded sha256")
    # ... and its export, which carries the changed bytes (its manifest agreeing with them): red offline too.
    again = tmp_path / "again"
    await export(deliberation_id, again, pool=pool, client=temporal_client)
    code, outside = await asyncio.to_thread(run_standalone, again)
    failures = [c for c in outside["checks"] if not c["ok"]]
    assert code == 1 and [(c["name"], c["subject"]) for c in failures] == [("attachments", ticket_id)], outside
    assert failures[0]["detail"] == failed.detail
