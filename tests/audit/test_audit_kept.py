"""The witnesses outlive Temporal's retention (issue 17, item 12).

Real deliberations on the embedded dev server: the keeper keeps each run's history when it closes (the ballot box's
before the result notice, which publishes its hash; the rest by the worker's sweep, each published by a HistoryKept
event in ``<id>/histories``). Then Temporal deletes its copies, as retention would, and `yishi audit verify` and the
standalone verifier still check the deliberation from the kept copies: a kept copy changed afterwards, or a stream
rewritten after a checkpoint, fails and is named.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from audit_helpers import WITHDRAWN, audit_roll, cast_ballots, delete_from_server, run_standalone, spec, until
from temporalio.worker import Worker
from test_audit_tamper import assert_agree, ballot_seq, check, rehash_from

from activities.history_store import HistoryStore, history_bytes, parse_history
from activities.keeper import HistoryKeeper
from activities.registry import build_activities
from domain.roll import Scope
from tests.workflows.conftest import complete, save_history
from workflows.registry import WORKFLOWS
from yishi.services.audit import AuditReport, export, read_rows, timeline, verify
from yishi.services.deliberations import start_vote
from yishi.services.procedures import StartRequest, start_procedure
from yishi.settings import Settings

# No ballots (nothing races the close): feasibility, a one-second notice, a four-second vote with its two reminders.
PERIODS = {"feasibility": "PT1H", "notice": "PT1S", "voting": "PT4S", "remind_before": "PT3S", "checkpoint": "PT1S",
           "paper_entry": "PT0S"}


def kept_settings(tmp_path: Path, name: str) -> Settings:
    return Settings(task_queue=f"{name}-{uuid.uuid4().hex[:8]}", histories_dir=tmp_path / "kept")


async def audit(did: str, pool: Any, client: Any, histories: HistoryStore, out: Path
                ) -> tuple[AuditReport, dict[str, Any]]:
    """Both verifiers, from the live systems and from an export; they must agree."""
    report = await verify(did, pool=pool, client=client, histories=histories)
    await export(did, out, pool=pool, client=client, histories=histories)
    code, standalone = await asyncio.to_thread(run_standalone, out)
    assert (code == 0) == standalone["ok"]
    assert_agree(report, standalone)
    return report, standalone


async def test_an_elevator_vote_is_verified_from_its_kept_histories(temporal_client, pool, store, tmp_path) -> None:
    settings = kept_settings(tmp_path, "kept-elevator")
    histories = HistoryStore(settings.histories_path)
    request = StartRequest(procedure="elevator", title="3栋2单元加装电梯（存档测试）",
                           scope=Scope(building="3", entrance="2"), periods=PERIODS)
    async with Worker(temporal_client, task_queue=settings.task_queue, workflows=WORKFLOWS,
                      activities=build_activities(store, pool, settings)):
        did, handle = await start_procedure(temporal_client, pool, audit_roll(), request,
                                            task_queue=settings.task_queue)
        await complete(handle, "feasibility", "committee", "feasible", within=60)
        result = await asyncio.wait_for(handle.result(), timeout=120)
        await save_history(handle, "elevator_kept_history")
    assert result.outcome != "" and result.head is not None
    box_id = f"{did}/box-1"
    procedure_run = (await handle.describe()).run_id
    box_run = (await temporal_client.get_workflow_handle(box_id).describe()).run_id

    # The box was kept when it closed, and the result notice publishes its hash.
    [notice] = [e for e in await store.read(did) if e.type == "NoticePublished" and e.payload["kind"] == "result"]
    [published] = notice.payload["histories"]
    assert (published["workflow_id"], published["run_id"]) == (box_id, box_run)
    [box_file] = histories.files(box_id, box_run)
    assert box_file.sha256 == published["sha256"] == hashlib.sha256(box_file.read()).hexdigest()
    assert f"sha256={published['sha256']}" in notice.payload["body_zh"]
    kept_box = parse_history(box_id, box_file.read())
    assert history_bytes(kept_box) == history_bytes(await temporal_client.get_workflow_handle(
        box_id, run_id=box_run).fetch_history()), "the kept copy is the server's history"

    # The procedure's own history is kept by the sweep once it has closed (its hash cannot be in its notice).
    assert not histories.files(did, procedure_run)
    swept = await HistoryKeeper(store, histories).sweep(temporal_client, settings.task_queue)
    assert [(k.workflow_id, k.run_id) for k in swept] == [(did, procedure_run)]
    assert await HistoryKeeper(store, histories).sweep(temporal_client, settings.task_queue) == [], "idempotent"
    kept_events = await store.read(f"{did}/histories")
    assert sorted((e.payload["workflow_id"], e.payload["sha256"]) for e in kept_events) == sorted(
        [(box_id, published["sha256"]), (did, histories.files(did, procedure_run)[0].sha256)])

    kept_lines = [e.summary for e in await timeline(pool, did) if e.type == "HistoryKept"]
    assert len(kept_lines) == 2 and all("Temporal history kept" in line for line in kept_lines), kept_lines
    report, standalone = await audit(did, pool, temporal_client, histories, tmp_path / "before")
    assert report.ok and standalone["ok"], report.failures
    assert "2 of 2 closed runs kept" in check(report, "kept_histories")["detail"]

    # Retention: Temporal deletes both runs. The audit reads the kept copies, replays them and checks the witnesses.
    for workflow_id, run_id in ((did, procedure_run), (box_id, box_run)):
        await delete_from_server(temporal_client, workflow_id, run_id)
    report, standalone = await audit(did, pool, temporal_client, histories, tmp_path / "after")
    assert report.ok and standalone["ok"], report.failures
    assert {(r["workflow_id"], r["source"]) for r in report.runs} == {(did, "kept"), (box_id, "kept")}
    assert all("(kept copy)" in c.detail for c in report.checks if c.name == "replay")
    assert "2 runs read from their kept copy" in check(report, "kept_histories")["detail"]
    manifest = json.loads((tmp_path / "after" / "manifest.json").read_text())
    by_path = {f["path"]: f["sha256"] for f in manifest["files"]}
    box_export = next(r for r in manifest["runs"] if r["workflow_id"] == box_id)
    assert by_path[box_export["file"]] == published["sha256"], "the export holds the kept bytes"


@pytest.fixture
async def kept_vote(temporal_client, pool, store, tmp_path) -> tuple[str, HistoryStore]:
    """A vote with ballots (withdrawn once they are in), kept by the worker's sweep, then deleted from Temporal."""
    settings = kept_settings(tmp_path, "kept-vote")
    histories = HistoryStore(settings.histories_path)
    async with Worker(temporal_client, task_queue=settings.task_queue, workflows=WORKFLOWS,
                      activities=build_activities(store, pool, settings)):
        did, handle = await start_vote(temporal_client, pool, audit_roll(), spec(), task_queue=settings.task_queue,
                                       checkpoint_every=timedelta(seconds=1))
        await cast_ballots(store, did, handle)
        await handle.signal("withdraw", WITHDRAWN)
        await asyncio.wait_for(handle.result(), timeout=120)
    keeper = HistoryKeeper(store, histories)
    await until(lambda: keeper.sweep(temporal_client, settings.task_queue), "the sweep to keep the box", every=0.5)
    run_id = (await handle.describe()).run_id
    await delete_from_server(temporal_client, did, run_id)
    return did, histories


def out(tmp_path: Path, name: str) -> Path:
    (tmp_path / name).mkdir()
    return tmp_path / name


async def test_a_changed_kept_copy_fails_naming_the_run(kept_vote, pool, temporal_client, tmp_path) -> None:
    did, histories = kept_vote
    report, _ = await audit(did, pool, temporal_client, histories, out(tmp_path, "clean"))
    assert report.ok and [r["source"] for r in report.runs] == ["kept"], report.failures
    [run] = report.runs
    [kept] = histories.files(did, run["run_id"])
    original = kept.read()

    # Changed in place (an identity rewritten, still a valid history): its bytes no longer hash to its name.
    changed = original.replace(b'"identity":"', b'"identity":"x', 1)
    assert changed != original
    kept.path.write_bytes(changed)
    report, standalone = await audit(did, pool, temporal_client, histories, out(tmp_path, "changed"))
    failed = check(report, "kept_histories")
    assert not failed["ok"] and failed["subject"] == did, failed
    assert str(kept.path) in failed["detail"] and "changed after it was kept" in failed["detail"]
    assert not check(standalone["checks"], "kept_histories")["ok"]

    # Changed and renamed to its new hash: the HistoryKept event still publishes the old one.
    renamed = kept.path.with_name(f"{hashlib.sha256(changed).hexdigest()}.json")
    kept.path.rename(renamed)
    report, _ = await audit(did, pool, temporal_client, histories, out(tmp_path, "renamed"))
    failed = check(report, "kept_histories")
    assert not failed["ok"] and f"HistoryKept {did}/histories seq 1 publishes sha256 {kept.sha256[:12]}" in \
        failed["detail"], failed

    # Gone from the store as well as from the server: the published hash names a run nobody has.
    renamed.unlink()
    report = await verify(did, pool=pool, client=temporal_client, histories=histories)
    failed = check(report, "kept_histories")
    assert not failed["ok"] and "neither on the Temporal server nor kept" in failed["detail"]
    assert not check(report, "temporal_runs")["ok"] and not check(report, "checkpoints")["ok"]
    kept.path.write_bytes(original)


async def test_a_stream_rewritten_after_a_checkpoint_is_caught_by_the_kept_copy(kept_vote, pool, temporal_client,
                                                                                  tmp_path) -> None:
    did, histories = kept_vote
    rows = await read_rows(pool, did)
    seq = ballot_seq(rows, "O22", "for")  # the changed ballot, cast after a checkpoint
    rows[seq - 1]["payload"] = dict(rows[seq - 1]["payload"], choice="against")
    await rehash_from(pool, did, rows, seq)
    report, standalone = await audit(did, pool, temporal_client, histories, out(tmp_path, "forged"))
    assert check(report, "chain")["ok"] and check(report, "kept_histories")["ok"], "a valid chain, an intact copy"
    witnessed = check(report, "checkpoints")
    assert not witnessed["ok"] and "(kept copy)" in witnessed["detail"], witnessed
    assert not check(report, "sealed_head")["ok"] and not standalone["ok"]

