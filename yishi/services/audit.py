"""Auditor replay and verification of a deliberation (ARCHITECTURE.md, "Auditor replay"); its export
(yishi/services/audit_export.py) and the timeline an auditor's page renders (audit_timeline.py) are kept beside it
and importable from here.

``verify`` trusts neither the database nor the operator: it replays every Temporal run against the current
workflow code, recomputes the hash chain of every stream from its columns, holds the stream against every
head the workflows witnessed in their histories and against the published final head, recounts the
result with the domain code, and holds every file the streams name by hash to it (audit_blobs.py). ``export``
writes what an outside auditor needs to do the same without Yishi (``tools/verify_export.py``, docs/audit.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from temporalio.client import Client

from activities.box import gc_paused
from activities.history_store import HistoryStore
from domain.kept import published_hashes
from workflows.registry import WORKFLOWS
from yishi.services.audit_blobs import blob_checks
from yishi.services.audit_checks import Check, Row, check_stream_row, check_tickets, stream_checks
from yishi.services.audit_export import (
    EXPORT_FORMAT,
    events_jsonl,
    export,
    history_filename,
    result_document,
    roll_document,
    rule_document,
    summary_document,
)
from yishi.services.audit_kept import audited_hash, check_kept
from yishi.services.audit_ledgers import check_ledger, runs_not_expected
from yishi.services.audit_links import link_audit
from yishi.services.audit_meetings import check_meeting
from yishi.services.audit_read import (
    READ_BATCH,
    expected_tickets,
    frozen_rolls,
    gather,
    read_rows,
    related_streams,
    rolls_to_check,
    stream_head,
)
from yishi.services.audit_structure import check_parts, check_structure
from yishi.services.audit_temporal import AuditInputError, replay_checks, runs_check
from yishi.services.audit_timeline import TimelineEntry, timeline, timeline_of
from yishi.services.audit_topics import check_topic

__all__ = ["EXPORT_FORMAT", "READ_BATCH", "AuditInputError", "AuditReport", "TimelineEntry", "events_jsonl",
           "expected_tickets", "export", "frozen_rolls", "history_filename", "read_rows", "related_streams",
           "result_document", "roll_document", "rolls_to_check", "rule_document", "summary_document", "timeline",
           "timeline_of", "verify"]


@dataclass
class AuditReport:
    deliberation_id: str
    checks: list[Check]
    streams: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: list[dict[str, str]] = field(default_factory=list)
    links: dict[str, Any] = field(default_factory=dict)
    """What staff did to the personal links (yishi/services/audit_links.py)."""

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "deliberation_id": self.deliberation_id,
                "checks": [check.to_json() for check in self.checks], "streams": self.streams, "runs": self.runs,
                "links": self.links}


def _stream_summary(rows: Sequence[Row]) -> dict[str, Any]:
    last = rows[-1] if rows else None
    return {"events": len(rows), "head": {"seq": last["seq"], "hash": last["hash"]} if last else None}


async def verify(
    deliberation_id: str, *, pool: asyncpg.Pool, client: Client, workflows: Sequence[type] | None = None,
    histories: HistoryStore | None = None,
) -> AuditReport:
    """Every check of the deliberation; ``report.ok`` only when all hold. ``histories``: the kept histories
    (activities/history_store.py), read for the runs the server no longer has and checked against the hashes
    the streams publish."""
    workflows = WORKFLOWS if workflows is None else workflows
    data = await gather(deliberation_id, pool, client, histories)
    ledger_runs = None if data.runs else runs_not_expected(deliberation_id, data.rows.get(deliberation_id, []))
    if runless(deliberation_id):
        checks = [Check("temporal_runs", True, "a structure stream: no workflow writes it", deliberation_id)]
    else:
        checks = [ledger_runs or runs_check(deliberation_id, data.runs), *await replay_checks(data.runs, workflows)]
        checks.append(check_kept(deliberation_id, data.runs, published_hashes(data.rows)))
    checks.append(check_tickets(deliberation_id, data.tickets, data.rows))
    rolls = await rolls_to_check(pool, data.rows)
    for stream_id, rows in data.rows.items():
        with gc_paused():  # the recount folds every ballot (activities.box.gc_paused)
            checks.extend(stream_checks(stream_id, rows, data.witnesses, rolls))
        checks += [c for c in (check_structure(stream_id, rows), check_parts(stream_id, rows)) if c is not None]
        if (topic := check_topic(stream_id, rows)) is not None:
            checks.append(topic)
        if (meeting := check_meeting(stream_id, rows, data.rows)) is not None:
            checks.append(meeting)
        if (ledger := check_ledger(stream_id, rows, data.rows, data.witnesses)) is not None:
            checks.append(ledger)
        checks.append(check_stream_row(stream_id, rows, await stream_head(pool, stream_id)))
    checks += await complainant_checks(pool, data.rows)
    links_check, links = link_audit(deliberation_id, data.rows)
    checks.append(links_check)
    checks += await blob_checks(pool, deliberation_id, data.rows)  # notices' photos, documents, ticket attachments
    runs = [{"workflow_id": r.workflow_id, "run_id": r.run_id, "workflow_type": r.workflow_type,
             "status": r.status, "source": r.source, "sha256": audited_hash(r),
             "kept": str(r.kept.path) if r.kept else None} for r in data.runs]
    streams = {s: _stream_summary(rows) for s, rows in data.rows.items()}
    return AuditReport(deliberation_id, checks, streams, runs, links)


def runless(stream_id: str) -> bool:
    """A community's structure or a street's list: streams the services write, no workflow (issue 19)."""
    return stream_id.startswith(("structure-", "street-"))


async def complainant_checks(pool: asyncpg.Pool, rows_by_stream: dict[str, list[dict[str, Any]]]) -> list[Check]:
    """A ticket that names a complainant's digest: the contact kept outside the stream still hashes to it (the
    contact itself is not shown: an auditor needs no one's phone number to see it was not changed)."""
    from yishi.services.escalations import contact_digest

    checks = []
    for stream_id, rows in rows_by_stream.items():
        digest = rows[0]["payload"].get("complainant_digest") if rows and rows[0]["type"] == "EscalationOpened" \
            else None
        if not digest:
            continue
        async with pool.acquire() as conn:
            contact = await conn.fetchval("SELECT contact FROM ticket_complainants WHERE ticket_id = $1", stream_id)
        ok = contact is not None and contact_digest(contact) == digest
        checks.append(Check("complainant", ok, "the complainant's contact kept outside the stream matches its digest"
                            if ok else "the complainant's contact is missing or does not match the digest in "
                            "EscalationOpened", stream_id, rows[0]["seq"]))
    return checks
