"""The documents owners were shown (the plan, the cost table: issue 21, item 1) are part of the record an auditor
checks: `yishi audit verify` finds each in the attachment store, the export carries it (documents/<sha256>), and both
verifiers hold it to the hash its DocumentAttached event put in the chain; one byte changed fails."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

from audit_helpers import run_standalone, run_vote
from temporalio.worker import Worker

from activities.registry import build_activities
from activities.stages import to_new
from domain.stage_events import DocumentAttached
from workflows.registry import WORKFLOWS
from yishi.services import attachments
from yishi.services.audit import export, verify
from yishi.settings import Settings

PLAN = b"%PDF-1.4\n% the elevator plan of building 7\n" + uuid.uuid4().hex.encode() + b"\n%%EOF\n"


def one_byte_changed(data: bytes) -> bytes:
    return data[:20] + bytes([data[20] ^ 1]) + data[21:]


async def test_an_attached_document_is_checked_by_both_verifiers(temporal_client, pool, store, tmp_path: Path) -> None:
    settings = Settings(task_queue=f"audit-docs-{uuid.uuid4().hex[:8]}")
    async with Worker(temporal_client, task_queue=settings.task_queue, workflows=WORKFLOWS,
                      activities=build_activities(store, pool, settings)):
        vote = await run_vote(temporal_client, pool, store, settings.task_queue, deem_silent=False)
    blob = attachments.check("7栋电梯方案.pdf", PLAN)
    await attachments.store(pool, blob)
    await store.append(vote.id, to_new([DocumentAttached(
        at=datetime.now(UTC), kind="plan", name="7栋电梯方案.pdf", sha256=blob.sha256, bytes=len(PLAN),  # type: ignore[arg-type]
        media_type=blob.media_type, by="张主任")]))

    report = await verify(vote.id, pool=pool, client=temporal_client)
    assert report.ok, [c for c in report.checks if not c.ok]
    (check,) = [c for c in report.checks if c.name == "documents"]
    assert check.detail.startswith("1 documents attached")
    out = tmp_path / "export"
    await export(vote.id, out, pool=pool, client=temporal_client)
    assert (out / "documents" / blob.sha256).read_bytes() == PLAN
    code, outside = await asyncio.to_thread(run_standalone, out)
    assert code == 0 and outside["ok"], outside
    assert [c["detail"] for c in outside["checks"] if c["name"] == "documents"] == [check.detail]

    # One byte of the exported plan changed, the manifest made to match: the chain's hash still names the original.
    changed = one_byte_changed(PLAN)
    (out / "documents" / blob.sha256).write_bytes(changed)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        if entry["path"] == f"documents/{blob.sha256}":
            entry["sha256"], entry["bytes"] = hashlib.sha256(changed).hexdigest(), len(changed)
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    code, outside = await asyncio.to_thread(run_standalone, out)
    assert code == 1 and [c["name"] for c in outside["checks"] if not c["ok"]] == ["documents"], outside
    # ... and one byte of the stored blob: `yishi audit verify` names the document and where it was attached.
    async with pool.acquire() as conn:
        await conn.execute("UPDATE attachment_blobs SET data = $2 WHERE sha256 = $1", blob.sha256, changed)
    tampered = await verify(vote.id, pool=pool, client=temporal_client)
    (failed,) = [c for c in tampered.checks if not c.ok]
    assert failed.name == "documents" and "7栋电梯方案.pdf" in failed.detail and failed.subject == vote.id, failed
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM attachment_blobs WHERE sha256 = $1", blob.sha256)
    lost = await verify(vote.id, pool=pool, client=temporal_client)
    assert [c.detail for c in lost.checks if not c.ok] == [
        "the document 7栋电梯方案.pdf (plan) attached by 张主任 is missing"]
