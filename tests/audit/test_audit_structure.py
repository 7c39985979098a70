"""`yishi audit verify` and the standalone verifier on a community's structure stream and on a joint ticket
(issue 19): both pass when clean; a forger who rewrites a structure event and re-hashes the chain is caught by the
structure check (a building placed in a grid that was never defined), by both verifiers alike; a ticket's parts are
checked, and a complainant's contact changed outside the stream no longer matches its digest."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from audit_helpers import run_standalone
from temporalio.worker import Worker
from test_audit_tamper import check, rehash_from, unguarded

from activities.registry import build_activities
from workflows.escalation_joint import PartAction, Whistle
from workflows.registry import WORKFLOWS
from yishi.services import structure
from yishi.services.audit import export, read_rows, verify
from yishi.services.escalations import TicketRequest, act, act_part, keep_complainant, open_ticket, whistle
from yishi.settings import Settings


async def both(stream: str, pool: Any, client: Any, tmp_path: Any) -> tuple[Any, dict[str, Any]]:
    report = await verify(stream, pool=pool, client=client)
    out = tmp_path / f"export-{uuid.uuid4().hex[:6]}"
    await export(stream, out, pool=pool, client=client)
    code, standalone = run_standalone(out)
    assert (code == 0) == standalone["ok"] == report.ok, (report.to_json(), standalone)
    return report, standalone


async def test_structure_stream_clean_then_rewritten(store, pool, temporal_client, tmp_path) -> None:
    community = f"au{uuid.uuid4().hex[:6]}"
    data = (f"社区,网格编号,楼栋,网格员,网格党支部,楼栋党小组\r\n{community},AU-01,1,甲,一支部,1号楼小组\r\n"
            f"{community},AU-02,2,乙,二支部,2号楼小组\r\n").encode()
    await structure.import_grids(store, pool, data, "g.csv", street="au", by="cli t",
                                 at=datetime.now(UTC) - timedelta(days=2))
    await structure.change(store, pool, community, structure.building("1", "", "AU-02", datetime.now(UTC), "cli t"))
    stream = f"structure-{community}"
    report, standalone = await both(stream, pool, temporal_client, tmp_path)
    assert report.ok, [c for c in report.checks if not c.ok]
    assert "2 live grids" in check(report, "structure")["detail"]
    assert check(standalone["checks"], "structure")["ok"] and check(standalone["checks"], "chain")["ok"]

    rows = await read_rows(pool, stream)
    seq = next(r["seq"] for r in rows if r["type"] == "BuildingAssigned" and r["payload"]["building"] == "2")
    rows[seq - 1]["payload"] = {**rows[seq - 1]["payload"], "grid": "AU-99"}
    await rehash_from(pool, stream, rows, seq)
    report, standalone = await both(stream, pool, temporal_client, tmp_path)
    assert check(report, "chain")["ok"], "the forger re-hashed the chain"
    mine, theirs = check(report, "structure"), check(standalone["checks"], "structure")
    assert not mine["ok"] and mine["seq"] == seq and "AU-99" in mine["detail"]
    assert (theirs["ok"], theirs["seq"]) == (False, seq)


async def test_joint_ticket_parts_and_complainant(store, pool, temporal_client, tmp_path) -> None:
    queue = f"audit-joint-{uuid.uuid4().hex[:6]}"
    settings = Settings(task_queue=queue)
    async with Worker(temporal_client, task_queue=queue, workflows=WORKFLOWS,
                      activities=build_activities(store, pool, settings)):
        tid = f"esc-audit-{uuid.uuid4().hex[:8]}"
        digest = await keep_complainant(pool, tid, {"name": "张女士", "phone": "13900000001", "room": "5-1-101"})
        request = TicketRequest(community="au-joint", category="market_regulation", subject="饭店漏水",
                                initiator="O-9", initiator_kind="owner", start_level="street",
                                complainant_digest=digest)
        _, handle = await open_ticket(temporal_client, request, task_queue=queue, ticket_id=tid)
        street = {"role": "street_office", "actor": "王", "org": "street"}
        for _ in range(100):
            try:
                await whistle(temporal_client, tid, Whistle(**street, departments=("dept:market", "dept:urban"),
                                                            text="综合执法"))
                break
            except Exception:  # noqa: BLE001 - not routed yet
                import asyncio

                await asyncio.sleep(0.1)
        await act_part(temporal_client, tid, "resolve_part", PartAction(role="department", actor="a",
                                                                        org="dept:market", part=1, text="已整改"))
        await act_part(temporal_client, tid, "release_part", PartAction(**street, part=2, text="不涉及"))
        from workflows.escalation import TicketAction

        await act(temporal_client, tid, "follow_up", TicketAction(role="owner", actor="O-9", outcome="satisfied"))
        await handle.result()
    report, standalone = await both(tid, pool, temporal_client, tmp_path)
    assert report.ok, [c for c in report.checks if not c.ok]
    assert "2 parts" in check(report, "joint_parts")["detail"] and check(standalone["checks"], "joint_parts")["ok"]
    assert check(report, "complainant")["ok"]
    async with unguarded(pool) as conn:
        await conn.execute("UPDATE ticket_complainants SET contact = $2 WHERE ticket_id = $1", tid,
                           {"name": "李先生", "phone": "13900000002", "room": "5-1-101"})
    report = await verify(tid, pool=pool, client=temporal_client)
    assert not check(report, "complainant")["ok"] and not report.ok
