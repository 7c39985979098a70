"""Adversarial audit tests: each tampering is detected and named by `yishi audit verify` (the service) and by
the standalone tools/verify_export.py on an export, and both agree. Each case has its own deliberation."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from audit_helpers import Vote, run_standalone
from audit_workflows import ChangedBallotBox, EscalatingProcedure

from activities.eventstore import NewEvent
from domain.chain import ENVELOPE_KEYS, GENESIS_HASH, canonical_json, chain_hash
from domain.events import BallotCast
from workflows.registry import WORKFLOWS
from yishi.services.audit import AuditReport, export, read_rows, verify
from yishi.services.audit_checks import recount

SHARED = {"chain", "checkpoints", "sealed_head", "after_seal", "roll", "recount", "tickets", "kept_histories"}


@asynccontextmanager
async def unguarded(pool: Any) -> AsyncIterator[Any]:
    """What a database superuser can do: switch the append-only trigger off, then on again."""
    async with pool.acquire() as conn:
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_no_update_delete")
        try:
            yield conn
        finally:
            await conn.execute("ALTER TABLE events ENABLE TRIGGER events_no_update_delete")


async def audit_both(vote: Vote, pool: Any, client: Any, tmp_path: Path) -> tuple[AuditReport, dict[str, Any]]:
    report = await verify(vote.id, pool=pool, client=client)
    out = tmp_path / "export"
    await export(vote.id, out, pool=pool, client=client)
    code, standalone = run_standalone(out)
    assert (code == 0) == standalone["ok"]
    assert_agree(report, standalone)
    return report, standalone


def failing(checks: list[dict[str, Any]]) -> set[tuple[str, str, int | None]]:
    return {(c["name"], c["subject"], c["seq"]) for c in checks if not c["ok"] and c["name"] in SHARED}


def assert_agree(report: AuditReport, standalone: dict[str, Any]) -> None:
    mine = report.to_json()["checks"]
    assert report.ok == standalone["ok"], (mine, standalone["checks"])
    assert failing(mine) == failing(standalone["checks"]), (mine, standalone["checks"])


def check(checks: list[dict[str, Any]] | AuditReport, name: str) -> dict[str, Any]:
    items = checks.to_json()["checks"] if isinstance(checks, AuditReport) else checks
    return next(c for c in items if c["name"] == name)


def ballot_seq(rows: list[dict[str, Any]], owner: str, choice: str | None = None) -> int:
    return next(r["seq"] for r in rows if r["type"] == "BallotCast" and r["payload"]["owner_id"] == owner
                and (choice is None or r["payload"]["choice"] == choice))


async def rehash_from(pool: Any, stream_id: str, rows: list[dict[str, Any]], seq: int) -> None:
    """The forger's move: re-hash the rows from ``seq`` on (as changed in ``rows``) and write them and the new head
    to the database, so that the chain is valid again."""
    prev = rows[seq - 2]["hash"] if seq > 1 else GENESIS_HASH
    for row in rows[seq - 1:]:
        row["prev_hash"] = prev
        row["hash"] = prev = chain_hash(prev, canonical_json({k: row[k] for k in ENVELOPE_KEYS}))
    async with unguarded(pool) as conn:
        for row in rows[seq - 1:]:
            await conn.execute("UPDATE events SET payload = $3, prev_hash = $4, hash = $5"
                               " WHERE stream_id = $1 AND seq = $2",
                               stream_id, row["seq"], row["payload"], row["prev_hash"], row["hash"])
        await conn.execute("UPDATE streams SET head_hash = $2 WHERE stream_id = $1", stream_id, rows[-1]["hash"])


def checkpoint_seqs(vote: Vote) -> list[int]:
    return [c.seq for c in vote.result.checkpoints]


async def test_clean_deliberation_passes_both_verifiers(votes, pool, temporal_client, tmp_path) -> None:
    vote = votes["clean"]
    report, standalone = await audit_both(vote, pool, temporal_client, tmp_path)
    assert report.ok, [c for c in report.checks if not c.ok]
    assert standalone["ok"] and standalone["deliberation_id"] == vote.id
    names = {c.name for c in report.checks}
    assert {"temporal_runs", "replay", "chain", "checkpoints", "sealed_head", "after_seal", "roll",
            "recount", "stream_head"} <= names
    assert "approved" in check(report, "recount")["detail"]
    assert vote.result.outcome.results["main"]["deeming"]["applied"] is True  # the standalone recounted deeming
    assert check(standalone["checks"], "manifest")["ok"]


async def test_ballot_payload_changed_in_the_database(votes, pool, temporal_client, tmp_path) -> None:
    vote = votes["payload"]
    rows = await read_rows(pool, vote.id)
    seq = ballot_seq(rows, "O11")
    payload = dict(rows[seq - 1]["payload"], choice="against")
    async with unguarded(pool) as conn:
        await conn.execute("UPDATE events SET payload = $3 WHERE stream_id = $1 AND seq = $2", vote.id, seq, payload)
    report, standalone = await audit_both(vote, pool, temporal_client, tmp_path)
    assert not report.ok and not standalone["ok"]
    chain = check(report, "chain")
    assert not chain["ok"] and chain["seq"] == seq and f"seq {seq}: hash" in chain["detail"]
    assert not check(report, "recount")["ok"]  # the recount no longer gives the recorded result
    assert check(report, "checkpoints")["ok"]  # the stored hashes were left alone: the chain names the event


async def test_row_deleted(votes, pool, temporal_client, tmp_path) -> None:
    vote = votes["deleted"]
    rows = await read_rows(pool, vote.id)
    seq = ballot_seq(rows, "O52")
    async with unguarded(pool) as conn:
        await conn.execute("DELETE FROM events WHERE stream_id = $1 AND seq = $2", vote.id, seq)
    report, _ = await audit_both(vote, pool, temporal_client, tmp_path)
    chain = check(report, "chain")
    assert not chain["ok"] and chain["seq"] == seq + 1 and f"expected seq {seq}" in chain["detail"]
    assert "participating" in check(report, "recount")["detail"]


async def test_two_rows_swapped(votes, pool, temporal_client, tmp_path) -> None:
    vote = votes["swapped"]
    rows = await read_rows(pool, vote.id)
    first, second = ballot_seq(rows, "O12"), ballot_seq(rows, "O22", "against")
    async with unguarded(pool) as conn:
        await conn.execute(
            "UPDATE events e SET payload = o.payload FROM events o WHERE e.stream_id = $1 AND o.stream_id = $1"
            " AND ((e.seq = $2 AND o.seq = $3) OR (e.seq = $3 AND o.seq = $2))", vote.id, first, second)
    swapped = await read_rows(pool, vote.id)
    assert swapped[first - 1]["payload"]["owner_id"] == "O22"
    report, _ = await audit_both(vote, pool, temporal_client, tmp_path)
    chain = check(report, "chain")
    assert not chain["ok"] and chain["seq"] == first


async def test_stream_truncated_after_a_checkpoint(votes, pool, temporal_client, tmp_path) -> None:
    vote = votes["truncated"]
    rows = await read_rows(pool, vote.id)
    head = rows[-1]["seq"]
    keep = max(s for s in checkpoint_seqs(vote) if 1 < s < head - 2)
    async with unguarded(pool) as conn:
        await conn.execute("DELETE FROM events WHERE stream_id = $1 AND seq > $2", vote.id, keep)
        await conn.execute("UPDATE streams SET head_seq = $2, head_hash = $3 WHERE stream_id = $1",
                           vote.id, keep, rows[keep - 1]["hash"])  # a careful forger fixes the head row too
    report, standalone = await audit_both(vote, pool, temporal_client, tmp_path)
    assert check(report, "chain")["ok"], "what is left is a valid chain"
    witnessed = check(report, "checkpoints")
    later = min(s for s in checkpoint_seqs(vote) if s > keep)
    assert not witnessed["ok"] and witnessed["seq"] == later
    assert f"ends at seq {keep}" in witnessed["detail"]
    sealed = check(report, "sealed_head")
    assert not sealed["ok"] and sealed["seq"] == head
    assert not check(standalone["checks"], "checkpoints")["ok"]


async def test_recomputed_chain_is_caught_by_checkpoints_and_published_head(
    votes, pool, temporal_client, tmp_path
) -> None:
    """The forger flips a ballot, rewrites every later hash and the recorded result: only the witnesses
    outside the database can tell."""
    vote = votes["recomputed"]
    rows = await read_rows(pool, vote.id)
    seq = ballot_seq(rows, "O11")
    rows[seq - 1]["payload"] = dict(rows[seq - 1]["payload"], choice="against")
    results = recount(rows).results
    rows[-1]["payload"] = dict(rows[-1]["payload"], results=results)
    await rehash_from(pool, vote.id, rows, seq)
    report, standalone = await audit_both(vote, pool, temporal_client, tmp_path)
    assert check(report, "chain")["ok"] and check(report, "stream_head")["ok"]
    witnessed = check(report, "checkpoints")
    assert not witnessed["ok"] and witnessed["seq"] == min(s for s in checkpoint_seqs(vote) if s >= seq)
    sealed = check(report, "sealed_head")
    assert not sealed["ok"] and sealed["seq"] == rows[-1]["seq"]
    assert not check(report, "recount")["ok"], "the published result (seal_box) still disagrees"
    assert not standalone["ok"]


def _forge_checkpoint(history: dict[str, Any]) -> int:
    """Change the hash in the last record_checkpoint result of a history; return the seq it names."""
    scheduled = {e["eventId"]: e for e in history["events"] if "activityTaskScheduledEventAttributes" in e}
    completed = [e for e in history["events"] if "activityTaskCompletedEventAttributes" in e
                 and scheduled[e["activityTaskCompletedEventAttributes"]["scheduledEventId"]]
                 ["activityTaskScheduledEventAttributes"]["activityType"]["name"] == "record_checkpoint"]
    payload = completed[-1]["activityTaskCompletedEventAttributes"]["result"]["payloads"][0]
    value = json.loads(base64.b64decode(payload["data"]))
    value["hash"] = hashlib.sha256(b"a forged stream").hexdigest()
    payload["data"] = base64.b64encode(json.dumps(value).encode()).decode()
    return value["seq"]


async def test_forged_checkpoint_in_an_export(votes, pool, temporal_client, tmp_path) -> None:
    vote = votes["forged"]
    report = await verify(vote.id, pool=pool, client=temporal_client)
    assert report.ok, "the database and Temporal are intact; only the export is forged"
    out = tmp_path / "export"
    manifest = await export(vote.id, out, pool=pool, client=temporal_client)
    path = out / manifest["runs"][0]["file"]
    history = json.loads(path.read_text())
    seq = _forge_checkpoint(history)
    path.write_text(json.dumps(history))
    code, result = run_standalone(out)
    assert code == 1 and not check(result["checks"], "manifest")["ok"]
    for entry in manifest["files"]:  # the forger also rewrites the manifest
        entry["sha256"] = hashlib.sha256((out / entry["path"]).read_bytes()).hexdigest()
    (out / "manifest.json").write_text(json.dumps(manifest))
    code, result = run_standalone(out)
    assert code == 1 and check(result["checks"], "manifest")["ok"]
    forged = check(result["checks"], "checkpoints")
    # "hash 15" must not be said of the seq (a forged hash may well begin with "15…": whole words only)
    assert not forged["ok"] and forged["seq"] == seq and not re.search(rf"\bhash {seq}\b", forged["detail"])
    assert "record_checkpoint" in forged["detail"]


async def test_workflow_change_that_is_not_replay_compatible(votes, pool, temporal_client) -> None:
    vote = votes["replay"]
    assert (await verify(vote.id, pool=pool, client=temporal_client)).ok
    report = await verify(vote.id, pool=pool, client=temporal_client, workflows=[ChangedBallotBox])
    assert not report.ok
    replay = check(report, "replay")
    assert not replay["ok"] and vote.id in replay["detail"] and "does not replay" in replay["detail"]
    assert "nondetermin" in replay["detail"].lower()
    assert [c.name for c in report.failures] == ["replay"], "the stream itself is intact"


async def test_ballot_appended_after_the_seal(votes, pool, store, temporal_client, tmp_path) -> None:
    """INSERT is not blocked by the trigger: a late ballot chained properly onto the sealed head."""
    vote = votes["late"]
    late = BallotCast(owner_id="O62", choice="against", cast_at=datetime.now(UTC))
    stored = await store.append(vote.id, [NewEvent(type=late.type, payload=late.model_dump(mode="json"),
                                                   occurred_at=datetime.now(UTC))])
    report, standalone = await audit_both(vote, pool, temporal_client, tmp_path)
    assert check(report, "chain")["ok"] and check(report, "checkpoints")["ok"] and check(report, "sealed_head")["ok"]
    after = check(report, "after_seal")
    assert not after["ok"] and after["seq"] == stored[0].seq and "BallotCast" in after["detail"]
    assert check(report, "recount")["ok"], "the count stops at the recorded result"
    assert not standalone["ok"]


async def test_escalation_child_runs_and_streams_are_found_and_checked(votes, pool, temporal_client, tmp_path) -> None:
    """The deliberation's own workflow is a parent; its vote is the child ``<id>/vote-1`` on its own stream."""
    vote = votes["escalated"]
    workflows = [*WORKFLOWS, EscalatingProcedure]
    report = await verify(vote.id, pool=pool, client=temporal_client, workflows=workflows)
    assert report.ok, [c for c in report.failures]
    assert {r["workflow_id"] for r in report.runs} == {vote.id, f"{vote.id}/vote-1"}
    assert set(report.streams) == {f"{vote.id}/vote-1"}
    assert sum(c.name == "replay" and c.ok for c in report.checks) == 2
    out = tmp_path / "export"
    await export(vote.id, out, pool=pool, client=temporal_client)
    code, standalone = run_standalone(out)
    assert code == 0, standalone
    assert_agree(report, standalone)
    without_parent = await verify(vote.id, pool=pool, client=temporal_client)  # a workflow type the code lost
    failed = [c for c in without_parent.failures]
    assert [c.name for c in failed] == ["replay"] and "AuditTestProcedure" in failed[0].detail
