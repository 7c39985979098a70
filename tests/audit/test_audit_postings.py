"""The photo of a posted notice is part of the record an auditor checks (issue 18): `yishi audit verify` finds it
in the blob store, the export carries it (photos/<sha256>), and both verifiers hold it to the hash in the chain."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

from audit_helpers import run_standalone, run_vote
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

from activities.notices import Delivery, NoticeActivities
from activities.registry import build_activities
from activities.stages import to_new
from domain.roll import Scope
from domain.stage_events import NoticePublished
from workflows.registry import WORKFLOWS
from yishi.services.audit import export, verify
from yishi.services.channels import record_posting, to_post
from yishi.settings import Settings

PHOTO = b"\xff\xd8\xff\xe0" + b"posted-sheet-photo" * 64 + b"\xff\xd9"


async def test_a_posting_photo_is_checked_by_both_verifiers(temporal_client, pool, store, tmp_path: Path) -> None:
    settings = Settings(task_queue=f"audit-post-{uuid.uuid4().hex[:8]}")
    async with Worker(temporal_client, task_queue=settings.task_queue, workflows=WORKFLOWS,
                      activities=build_activities(store, pool, settings)):
        vote = await run_vote(temporal_client, pool, store, settings.task_queue, deem_silent=False)
    digest = await pool.fetchval("SELECT roll_digest FROM deliberations WHERE id = $1", vote.id)
    notice = NoticePublished(at=datetime.now(UTC), notice_id="result-1", kind="result", title_zh="表决结果公示",
                             title_en="Result", body_zh="结果", body_en="Result")
    await store.append(vote.id, to_new([notice]))
    await ActivityEnvironment().run(NoticeActivities(store, pool).deliver_notice, Delivery(
        deliberation_id=vote.id, community="default", roll_digest=digest, scope=Scope(), channel="print",
        notice=notice))
    entrance = (await to_post(pool, vote.id))[0].group
    await record_posting(store, pool, vote.id, "result-1", entrance, by="网格员李", posted_at=datetime.now(UTC),
                         photo=PHOTO, media_type="image/jpeg", now=datetime.now(UTC))
    sha = hashlib.sha256(PHOTO).hexdigest()

    report = await verify(vote.id, pool=pool, client=temporal_client)
    assert report.ok, [c for c in report.checks if not c.ok]
    (check,) = [c for c in report.checks if c.name == "postings"]
    assert check.detail.startswith("1 printed notices recorded as posted")
    out = tmp_path / "export"
    await export(vote.id, out, pool=pool, client=temporal_client)
    assert (out / "photos" / sha).read_bytes() == PHOTO
    code, outside = await asyncio.to_thread(run_standalone, out)
    assert code == 0 and outside["ok"], outside

    # A photo swapped for another, the manifest made to match: the chain's hash still names the original.
    (out / "photos" / sha).write_bytes(b"another photo")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        if entry["path"] == f"photos/{sha}":
            entry["sha256"], entry["bytes"] = hashlib.sha256(b"another photo").hexdigest(), len(b"another photo")
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    code, outside = await asyncio.to_thread(run_standalone, out)
    assert code == 1 and [c["name"] for c in outside["checks"] if not c["ok"]] == ["postings"]
    async with pool.acquire() as conn:
        await conn.execute("UPDATE posting_photos SET content = $2 WHERE sha256 = $1", sha, b"another photo")
    tampered = await verify(vote.id, pool=pool, client=temporal_client)
    assert [c.name for c in tampered.checks if not c.ok] == ["postings"]
