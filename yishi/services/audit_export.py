"""The audit export (docs/audit.md): what an outside auditor needs to check a deliberation without Yishi
(tools/verify_export.py): the events as canonical JSON lines, the frozen rolls, the rules, the published results and
figures, the Temporal histories in their kept form, the files the streams name by hash (yishi/services/audit_blobs.py)
and a manifest of every file's sha256."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from temporalio.client import Client

from activities.history_store import HistoryStore, history_bytes
from domain.chain import canonical_json, format_instant
from domain.errors import DomainError
from domain.rules import get_rule
from yishi.services.audit_blobs import SOURCES, export_files
from yishi.services.audit_checks import Witness
from yishi.services.audit_read import frozen_rolls, gather, roll_digests
from yishi.services.audit_temporal import AuditInputError, Run

EXPORT_FORMAT = "yishi-audit-export/1"


def history_filename(run: Run) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", run.workflow_id.replace("/", "__"))
    return f"histories/{safe}--{run.run_id}.json"


def events_jsonl(rows_by_stream: dict[str, list[dict[str, Any]]]) -> bytes:
    """One canonical JSON line per event (the envelope plus ``hash``): the exact source of the hashed bytes."""
    return b"".join(canonical_json(row) + b"\n" for rows in rows_by_stream.values() for row in rows)


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def roll_document(rows_by_stream: dict[str, list[dict[str, Any]]],
                  frozen: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Each roll used by a ballot box: its digest and its entries (counting fields; no names or phones)."""
    rolls: dict[str, list[dict[str, Any]]] = {}
    for rows in rows_by_stream.values():
        for row in rows:
            if row["type"] == "BoxOpened":
                digest = row["payload"].get("roll_digest")
                rolls.setdefault(digest, frozen.get(digest) or list(row["payload"].get("roll", [])))
    return {"format": "yishi-roll/1", "rolls": [{"digest": d, "entries": e} for d, e in rolls.items()]}


def rule_document(rows_by_stream: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Each rule a ballot box states (domain.rules as data: conditions with exact thresholds)."""
    rules: dict[str, dict[str, Any]] = {}
    for rows in rows_by_stream.values():
        for row in rows:
            rule_id = row["payload"].get("rule_id") if row["type"] == "BoxOpened" else None
            if rule_id and rule_id not in rules:
                try:
                    rules[rule_id] = get_rule(rule_id).model_dump(mode="json")
                except DomainError:
                    continue  # an unknown rule stays out; the verifier names it
    return {"format": "yishi-rules/1", "rules": list(rules.values())}


def result_document(deliberation_id: str, witnesses: Sequence[Witness]) -> dict[str, Any]:
    """The published result of each sealed box: the final head and tallies ``seal_box`` returned."""
    boxes: dict[str, dict[str, Any]] = {}
    for w in witnesses:
        if w.activity == "seal_box":
            boxes[w.stream_id] = {"stream_id": w.stream_id, "head": {"seq": w.seq, "hash": w.hash},
                                  "results": w.results, "outcome": w.outcome, "approved": w.approved,
                                  "source": w.where}
    return {"deliberation_id": deliberation_id, "boxes": list(boxes.values())}



def summary_document(deliberation_id: str, rows_by_stream: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The published figures (公示) of each sealed box, as the public page and the printed sheet show them
    (yishi/services/results.py): an auditor holds them against the recount."""
    from yishi.services.results import summaries_of_rows

    boxes = [{"stream_id": stream, "summaries": [s.to_json() for s in summaries_of_rows(rows)]}
             for stream, rows in rows_by_stream.items() if any(r["type"] == "ResultRecorded" for r in rows)]
    return {"deliberation_id": deliberation_id, "boxes": boxes}


def _prepare(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise AuditInputError(f"{out} exists and is not an empty directory; choose a new one")
    (out / "histories").mkdir(parents=True, exist_ok=True)
    for source in SOURCES:  # photos/, documents/, attachments/
        (out / source.directory).mkdir(exist_ok=True)


async def export(deliberation_id: str, out: Path, *, pool: asyncpg.Pool, client: Client,
                 histories: HistoryStore | None = None) -> dict[str, Any]:
    """Write the export to ``out`` (a new or empty directory); return the manifest. Each history is written in
    its kept form: a run read from its kept copy as those very bytes, so the file's sha256 is the hash the streams
    publish."""
    data = await gather(deliberation_id, pool, client, histories)
    _prepare(out)
    frozen = await frozen_rolls(pool, [d for rows in data.rows.values() for d in roll_digests(rows)])
    files: dict[str, bytes] = {
        "events.jsonl": events_jsonl(data.rows),
        "roll.json": _json_bytes(roll_document(data.rows, frozen)),
        "rule.json": _json_bytes(rule_document(data.rows)),
        "result.json": _json_bytes(result_document(deliberation_id, data.witnesses)),
        "summary.json": _json_bytes(summary_document(deliberation_id, data.rows)),
        **await export_files(pool, data.rows),
    }
    runs = []
    for run in data.runs:
        name = history_filename(run)
        files[name] = run.kept.path.read_bytes() if run.source == "kept" and run.kept else history_bytes(run.history)
        runs.append({"workflow_id": run.workflow_id, "run_id": run.run_id, "workflow_type": run.workflow_type,
                     "status": run.status, "source": run.source, "file": name})
    for name, content in files.items():
        (out / name).write_bytes(content)
    manifest = {"format": EXPORT_FORMAT, "deliberation_id": deliberation_id,
                "exported_at": format_instant(datetime.now(UTC)), "streams": list(data.rows), "runs": runs,
                "tickets": {ticket: sources for ticket, sources in sorted(data.tickets.items())},
                "files": [{"path": n, "sha256": hashlib.sha256(c).hexdigest(), "bytes": len(c)}
                          for n, c in sorted(files.items())]}
    (out / "manifest.json").write_bytes(_json_bytes(manifest))
    return manifest
