"""A box sealed with no checkpoint before the seal (patch ``box-seal-without-final-checkpoint``) and none while
open: its only witnesses are ``open_box`` and ``seal_box``. Both verifiers pass it, and a re-hashed rewrite of a
ballot is still caught, by the seal's witness alone."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from audit_helpers import WITHDRAWN, Vote, _wait_open, apply, audit_roll, now, spec
from temporalio.worker import Worker
from test_audit_tamper import audit_both, ballot_seq, check, rehash_from

from activities.registry import build_activities
from domain.commands import CastBallot
from workflows.registry import WORKFLOWS
from yishi.services.audit import read_rows
from yishi.services.audit_temporal import list_runs, witnesses_of
from yishi.services.deliberations import start_vote
from yishi.settings import Settings


async def seal_only_vote(client: Any, pool: Any, store: Any) -> Vote:
    """Hourly checkpoints, withdrawn once six ballots are in: the box never reaches a periodic checkpoint."""
    settings = Settings(task_queue=f"audit-seal-{uuid.uuid4().hex[:8]}")
    async with Worker(client, task_queue=settings.task_queue, workflows=WORKFLOWS,
                      activities=build_activities(store, pool, settings)):
        did, handle = await start_vote(client, pool, audit_roll(), spec(), task_queue=settings.task_queue,
                                       checkpoint_every=timedelta(hours=1))
        await _wait_open(store, did)
        for owner, choice in (("O11", "for"), ("O12", "for"), ("O21", "against"), ("O22", "for"), ("O31", "for"),
                              ("O32", "abstain")):
            await apply(store, did, CastBallot(owner_id=owner, choice=choice, cast_at=now()))
        await handle.signal("withdraw", WITHDRAWN)
        return Vote(did, await handle.result())


async def test_seal_is_the_only_witness_after_open(temporal_client, pool, store, tmp_path) -> None:
    vote = await seal_only_vote(temporal_client, pool, store)
    runs = await list_runs(temporal_client, [vote.id])
    witnesses = [w for run in runs for w in witnesses_of(run)]
    rows = await read_rows(pool, vote.id)
    assert [(w.activity, w.seq) for w in witnesses] == [("open_box", 1), ("seal_box", rows[-1]["seq"])]
    for name in ("clean", "forged"):
        (tmp_path / name).mkdir()
    report, standalone = await audit_both(vote, pool, temporal_client, tmp_path / "clean")
    assert report.ok and standalone["ok"], report.failures
    assert "2 checkpoints match" in check(report, "checkpoints")["detail"]

    # The forger flips a ballot and re-hashes everything after it (the recorded result too, recounted).
    seq = ballot_seq(rows, "O21")
    rows[seq - 1]["payload"] = dict(rows[seq - 1]["payload"], choice="for")
    await rehash_from(pool, vote.id, rows, seq)
    report, standalone = await audit_both(vote, pool, temporal_client, tmp_path / "forged")
    assert check(report, "chain")["ok"] and check(report, "stream_head")["ok"], "a valid chain, re-hashed"
    witnessed, sealed = check(report, "checkpoints"), check(report, "sealed_head")
    assert not witnessed["ok"] and witnessed["seq"] == rows[-1]["seq"] and "(seal_box," in witnessed["detail"]
    assert "1 of 2 checkpoints fail" in witnessed["detail"], "open_box (seq 1) still holds"
    assert not sealed["ok"] and sealed["seq"] == rows[-1]["seq"]
    assert not standalone["ok"]
