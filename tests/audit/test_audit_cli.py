"""`yishi audit verify|export` as a person runs them: settings from the environment, readable output, exit codes,
and clear errors (never a traceback) when a server is unreachable or the input is wrong."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from audit_helpers import run_standalone, run_vote
from click.testing import CliRunner, Result
from temporalio.worker import Worker

from activities.registry import build_activities
from workflows.registry import WORKFLOWS
from yishi.cli.audit import audit
from yishi.embedded import free_port
from yishi.services.audit import read_rows
from yishi.settings import Settings, get_settings


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, temporal_server: Any) -> dict[str, str]:
    values = {"YISHI_DATABASE_URL": database_url, "YISHI_TEMPORAL_ADDRESS": temporal_server.address}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield values
    get_settings.cache_clear()


async def run(*args: str) -> Result:
    """The CLI in a thread: it runs its own event loop, as it does from a shell."""
    return await asyncio.to_thread(CliRunner().invoke, audit, list(args))


async def test_verify_json_on_a_clean_deliberation(votes, env) -> None:
    result = await run("verify", votes["clean"].id, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True and report["deliberation_id"] == votes["clean"].id
    assert all({"name", "ok", "detail"} <= set(c) for c in report["checks"])


async def test_export_then_standalone_verifier(votes, env, tmp_path: Path) -> None:
    out = tmp_path / "audit-export"
    result = await run("export", votes["clean"].id, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert {"events.jsonl", "roll.json", "rule.json", "result.json", "manifest.json"} <= {p.name for p in out.iterdir()}
    assert "owner_name" not in (out / "roll.json").read_text() and "phone" not in (out / "roll.json").read_text()
    code, report = await asyncio.to_thread(run_standalone, out)
    assert code == 0 and report["ok"], report
    again = await run("export", votes["clean"].id, "--out", str(out))
    assert again.exit_code == 2 and "not an empty directory" in again.output


async def test_verify_text_report_names_the_first_bad_seq(votes, env, pool) -> None:
    vote = votes["cli"]
    rows = await read_rows(pool, vote.id)
    seq = next(r["seq"] for r in rows if r["type"] == "BallotCast")
    async with pool.acquire() as conn:
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_no_update_delete")
        await conn.execute("UPDATE events SET payload = $3 WHERE stream_id = $1 AND seq = $2", vote.id, seq,
                           dict(rows[seq - 1]["payload"], owner_id="O62"))
        await conn.execute("ALTER TABLE events ENABLE TRIGGER events_no_update_delete")
    result = await run("verify", vote.id)
    assert result.exit_code == 1
    assert f"FAIL hash chain 哈希链 [{vote.id}]: seq {seq}: hash" in result.output
    assert f"first: chain at seq {seq}" in result.output


async def test_unknown_deliberation_exits_2(env) -> None:
    result = await run("verify", "elevator-000000000000")
    assert result.exit_code == 2 and "no deliberation elevator-000000000000" in result.output
    bad = await run("verify", 'x" OR WorkflowId != "')
    assert bad.exit_code == 2 and "is not a deliberation id" in bad.output


async def test_unreachable_servers_are_named_without_traceback(env, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("YISHI_TEMPORAL_ADDRESS", f"127.0.0.1:{port}")
    get_settings.cache_clear()
    result = await run("verify", "elevator-1")
    assert result.exit_code == 1 and f"cannot reach Temporal at 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output
    monkeypatch.setenv("YISHI_TEMPORAL_ADDRESS", env["YISHI_TEMPORAL_ADDRESS"])
    monkeypatch.setenv("YISHI_DATABASE_URL", f"postgresql://yishi:not-this-password@127.0.0.1:{port}/yishi")
    get_settings.cache_clear()
    result = await run("verify", "elevator-1")
    assert result.exit_code == 1 and f"cannot reach PostgreSQL at 127.0.0.1:{port}/yishi" in result.output
    assert "not-this-password" not in result.output and "Traceback" not in result.output


async def test_keep_keeps_closed_runs_once_and_verify_reads_the_store(env, temporal_client, pool, store,
                                                                      tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """`yishi audit keep`: one sweep of the task queue's closed runs into YISHI_HISTORIES_DIR; a second keeps none.
    (A vote of its own, on a task queue of its own: keeping writes HistoryKept events that other tests would see.)"""
    queue = f"audit-keep-{uuid.uuid4().hex[:8]}"
    async with Worker(temporal_client, task_queue=queue, workflows=WORKFLOWS,
                      activities=build_activities(store, pool, Settings(task_queue=queue))):
        vote = await run_vote(temporal_client, pool, store, queue, deem_silent=False)
    monkeypatch.setenv("YISHI_TASK_QUEUE", queue)
    monkeypatch.setenv("YISHI_HISTORIES_DIR", str(tmp_path / "kept"))
    get_settings.cache_clear()
    first = await run("keep")
    assert first.exit_code == 0, first.output
    assert f" {vote.id} " in first.output and first.output.strip().endswith("kept 已保存 1 histories 份历史")
    again = await run("keep")
    assert again.exit_code == 0 and again.output.strip().endswith("kept 已保存 0 histories 份历史"), again.output
    report = json.loads((await run("verify", vote.id, "--json")).output)
    [run_] = report["runs"]
    assert run_["source"] == "temporal" and str(tmp_path / "kept") in run_["kept"]
    kept = next(c for c in report["checks"] if c["name"] == "kept_histories")
    assert kept["ok"] and "1 of 1 closed runs kept, 1 published hashes match" in kept["detail"], kept
    assert f"{vote.id}/histories" in report["streams"]
