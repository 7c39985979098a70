"""Auditor replay and verification of a deliberation (ARCHITECTURE.md, "Auditor replay"), its export,
and the timeline an auditor's page renders.

``verify`` trusts neither the database nor the operator: it replays every Temporal run against the current
workflow code, recomputes the hash chain of every stream from its columns, holds the stream against every
head the workflows witnessed in their histories and against the published final head, and recounts the
result with the domain code. ``export`` writes what an outside auditor needs to do the same without Yishi
(``tools/verify_export.py``, docs/audit.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from temporalio.client import Client

from activities.box import gc_paused
from activities.history_store import HistoryStore, history_bytes
from domain.chain import canonical_json, format_instant, parse_json
from domain.errors import DomainError
from domain.kept import published_hashes
from domain.link_events import LINK_EVENT_TYPES
from domain.rules import get_rule
from workflows.registry import WORKFLOWS
from yishi.services.audit_checks import (
    Check,
    Row,
    Witness,
    check_stream_row,
    check_tickets,
    stream_checks,
    tickets_named,
)
from yishi.services.audit_documents import DIRECTORY as DOCUMENTS
from yishi.services.audit_documents import document_bytes, documents_check
from yishi.services.audit_kept import audited_hash, check_kept
from yishi.services.audit_ledgers import check_ledger, named_streams, runs_not_expected
from yishi.services.audit_links import link_audit
from yishi.services.audit_meetings import check_meeting, meeting_streams_named, meeting_tickets_named
from yishi.services.audit_structure import check_parts, check_structure
from yishi.services.audit_temporal import (
    AuditInputError,
    Run,
    list_runs,
    replay_checks,
    runs_check,
    runs_query,
    witnesses_of,
)
from yishi.services.audit_topics import check_topic, topic_tickets_named

EXPORT_FORMAT = "yishi-audit-export/1"
_EVENT_COLUMNS = "stream_id, seq, type, payload, occurred_at, recorded_at, prev_hash, hash"

__all__ = ["AuditInputError", "AuditReport", "TimelineEntry", "export", "timeline", "verify"]


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


# ---- reading the database ------------------------------------------------------------------------------


READ_BATCH = 10_000

# The database writes the canonical text of each instant (domain.chain.format_instant: UTC, six fractional
# digits, ``Z``) in its own process, for the years whose text both agree on; the rest come as timestamps and
# are formatted here. The payload comes as its JSON text, parsed with ``domain.chain.parse_json``.
_CANONICAL = "to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
_IN_RANGE = "{0} >= '1000-01-01 00:00:00+00' AND {0} < '10000-01-01 00:00:00+00'"
_READ_COLUMNS = ", ".join([
    "stream_id", "seq", "type", "payload::text",
    *(f"CASE WHEN {_IN_RANGE.format(c)} THEN {_CANONICAL.format(c)} END" for c in ("occurred_at", "recorded_at")),
    *(f"CASE WHEN {_IN_RANGE.format(c)} THEN NULL ELSE {c} END" for c in ("occurred_at", "recorded_at")),
    "prev_hash", "hash",
])


def _instant(text: str | None, value: datetime | None) -> str:
    return text if text is not None else format_instant(value)  # type: ignore[arg-type]


async def read_rows(pool: asyncpg.Pool, stream_id: str) -> list[dict[str, Any]]:
    """The stream as stored, each row as envelope fields (canonical timestamps) plus ``hash``.

    Read in keyset-paginated batches so that only one batch of database records is held beside the rows.
    """
    sql = f"SELECT {_READ_COLUMNS} FROM events WHERE stream_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"

    async def fetch(after: int) -> list[asyncpg.Record]:
        async with pool.acquire() as conn:
            return await conn.fetch(sql, stream_id, after, READ_BATCH)

    rows: list[dict[str, Any]] = []
    following = asyncio.ensure_future(fetch(0))
    try:
        with gc_paused():  # 10,000 new dicts at a time, none cyclic
            while True:
                records = await following
                if len(records) == READ_BATCH:  # the database reads the next batch while this one is converted
                    following = asyncio.ensure_future(fetch(records[-1][1]))
                for stream, seq, kind, payload, occurred, recorded, occurred_at, recorded_at, prev, digest in records:
                    occurred, recorded = _instant(occurred, occurred_at), _instant(recorded, recorded_at)
                    rows.append({"stream_id": stream, "seq": seq, "type": kind, "payload": parse_json(payload),
                                 "occurred_at": occurred, "recorded_at": recorded, "prev_hash": prev, "hash": digest})
                if len(records) < READ_BATCH:
                    return rows
    finally:
        following.cancel()  # only still running when the conversion failed


async def related_streams(pool: asyncpg.Pool, deliberation_id: str, witnesses: Sequence[Witness]) -> list[str]:
    """The deliberation's stream, its ``<id>/…`` streams (escalation tickets ``<id>/esc-…``, child boxes),
    the ticket streams the ``escalations`` projection files under it, and every stream a history witnessed;
    main first."""
    async with pool.acquire() as conn:
        stored = await conn.fetch(
            "SELECT stream_id FROM streams WHERE stream_id = $1 OR left(stream_id, length($1) + 1) = $1 || '/'",
            deliberation_id)
    names = {r["stream_id"] for r in stored} | {w.stream_id for w in witnesses}
    names |= set(await projected_tickets(pool, deliberation_id))
    return sorted(names, key=lambda name: (name != deliberation_id, name))


async def projected_tickets(pool: asyncpg.Pool, deliberation_id: str) -> list[str]:
    """Ticket ids the ``escalations`` projection files under the deliberation (``parent_id``)."""
    async with pool.acquire() as conn:
        try:
            found = await conn.fetch("SELECT ticket_id FROM escalations WHERE parent_id = $1 ORDER BY ticket_id",
                                     deliberation_id)
        except asyncpg.UndefinedTableError:  # a database from before the escalations migration
            return []
    return [r["ticket_id"] for r in found]


async def stream_head(pool: asyncpg.Pool, stream_id: str) -> tuple[int, str] | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT head_seq, head_hash FROM streams WHERE stream_id = $1", stream_id)
    return (row["head_seq"], row["head_hash"]) if row else None


def roll_digests(rows: Sequence[Row]) -> list[str]:
    return [row["payload"].get("roll_digest") for row in rows if row["type"] == "BoxOpened"]


async def frozen_rolls(pool: asyncpg.Pool, digests: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The frozen rolls by digest, from the ``rolls`` table (counting fields only, no contacts)."""
    async with pool.acquire() as conn:
        found = await conn.fetch("SELECT digest, entries FROM rolls WHERE digest = ANY($1::text[])",
                                 [d for d in digests if isinstance(d, str)])
    return {r["digest"]: (json.loads(r["entries"]) if isinstance(r["entries"], str) else r["entries"])
            for r in found}


async def rolls_to_check(pool: asyncpg.Pool, rows_by_stream: dict[str, list[dict[str, Any]]]
                         ) -> dict[str, list[dict[str, Any]]]:
    """The frozen rolls :func:`yishi.services.audit_checks.check_roll` compares with each ``BoxOpened``.

    A frozen roll the database finds equal (``jsonb =``) to the roll recorded in that very event is given
    as the recorded rows themselves, instead of 100,000 entries read and decoded again; any other roll
    (different, or named by an event it was not compared with) is read from the ``rolls`` table as before.
    """
    same: dict[str, list[dict[str, Any]]] = {}
    unconfirmed: set[str] = set()
    sql = ("SELECT r.entries = e.payload -> 'roll' FROM rolls r JOIN events e ON e.stream_id = $2 AND e.seq = $3 "
           "WHERE r.digest = $1")
    async with pool.acquire() as conn:
        for stream_id, rows in rows_by_stream.items():
            for row in rows:
                digest = row["payload"].get("roll_digest") if row["type"] == "BoxOpened" else None
                if not isinstance(digest, str):
                    continue
                recorded = row["payload"].get("roll")
                if type(recorded) is list and await conn.fetchval(sql, digest, stream_id, row["seq"]) is True:
                    same.setdefault(digest, recorded)
                else:  # different, absent from the rolls table, or not a list: read it
                    unconfirmed.add(digest)
    return {**same, **await frozen_rolls(pool, sorted(unconfirmed))}


# ---- verify --------------------------------------------------------------------------------------------


@dataclass
class _Gathered:
    runs: list[Run]
    witnesses: list[Witness]
    rows: dict[str, list[dict[str, Any]]]
    tickets: dict[str, list[str]] = field(default_factory=dict)
    """Escalation tickets of the deliberation: ticket id -> where each was found named."""


async def registered_workflow(pool: asyncpg.Pool, deliberation_id: str) -> str | None:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT workflow_id FROM deliberations WHERE id = $1", deliberation_id)


def box_streams_named(rows: Sequence[Row]) -> set[str]:
    """Streams a procedure's stage events name as its ballot boxes (``box_stream``)."""
    return {row["payload"]["box_stream"] for row in rows if isinstance(row["payload"].get("box_stream"), str)}


ESCALATION_WORKFLOW = "Escalation"


def expected_tickets(rows: dict[str, list[dict[str, Any]]], runs: Sequence[Run],
                     projected: Sequence[str]) -> dict[str, list[str]]:
    """Every escalation ticket of the deliberation and where it is named: an ``EscalationStarted`` event of
    one of its streams, an ``Escalation`` run among its Temporal runs, the ``escalations`` projection."""
    found = tickets_named(rows)
    for ticket, sources in topic_tickets_named(rows).items():
        found.setdefault(ticket, []).extend(sources)
    for ticket, sources in meeting_tickets_named(rows).items():
        found.setdefault(ticket, []).extend(sources)
    for run in runs:
        if run.workflow_type == ESCALATION_WORKFLOW:
            found.setdefault(run.workflow_id, []).append(f"Temporal run {run.workflow_id}")
    for ticket in projected:
        found.setdefault(ticket, []).append("escalations table")
    return found


async def _gather(deliberation_id: str, pool: asyncpg.Pool, client: Client,
                  kept: HistoryStore | None = None) -> _Gathered:
    runs_query(deliberation_id)  # refuses an id that cannot be put in a visibility query
    # The main stream (the largest: every ballot) is read while the histories are fetched from Temporal.
    main = asyncio.ensure_future(read_rows(pool, deliberation_id))
    try:
        registered = await registered_workflow(pool, deliberation_id)
        workflow_ids = [deliberation_id] + ([registered] if registered and registered != deliberation_id else [])
        runs = await list_runs(client, workflow_ids, kept)
        witnesses = [w for run in runs for w in witnesses_of(run)]
        streams = await related_streams(pool, deliberation_id, witnesses)
        main_rows = await main
    finally:
        main.cancel()
    if not runs and not streams:
        raise AuditInputError(f"no deliberation {deliberation_id}: no event stream and no Temporal workflow")
    rows = {s: main_rows if s == deliberation_id else await read_rows(pool, s) for s in streams}
    for named in sorted(box_streams_named(rows.get(deliberation_id, [])) - set(rows)):
        if found := await read_rows(pool, named):  # a round announced but not opened yet has no stream
            rows[named] = found
    for named in sorted(set(meeting_streams_named(rows)) - set(rows)):
        if found := await read_rows(pool, named):  # a meeting's series, a consultation's meeting, a meeting's vote
            rows[named] = found
    for named in named_streams(rows.get(deliberation_id, [])):  # a register's appraisals and attributed tickets
        if named not in rows and (found := await read_rows(pool, named)):
            rows[named] = found
    tickets = expected_tickets(rows, runs, await projected_tickets(pool, deliberation_id))
    for ticket in sorted(set(tickets) - set(rows)):
        if found := await read_rows(pool, ticket):  # a ticket whose id does not start with "<id>/"
            rows[ticket] = found
    return _Gathered(runs, witnesses, rows, tickets)


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
    data = await _gather(deliberation_id, pool, client, histories)
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
    checks.append(postings_check(deliberation_id, data.rows, await posting_photos(pool, data.rows)))
    checks.append(documents_check(deliberation_id, data.rows, await document_bytes(pool, data.rows)))
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


# ---- export --------------------------------------------------------------------------------------------


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


def postings(rows_by_stream: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Every ``NoticePosted`` of the streams (a printed notice posted at an entrance, with its photo's hash)."""
    return [{"stream_id": stream, "seq": row["seq"], **row["payload"]}
            for stream, rows in rows_by_stream.items() for row in rows if row["type"] == "NoticePosted"]


async def posting_photos(pool: asyncpg.Pool, rows_by_stream: dict[str, list[dict[str, Any]]]) -> dict[str, bytes]:
    """The photos the postings name, from the blob store, by the hash the events carry."""
    wanted = sorted({p["photo_sha256"] for p in postings(rows_by_stream)})
    if not wanted:
        return {}
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT sha256, content FROM posting_photos WHERE sha256 = ANY($1::text[])", wanted)
    return {r["sha256"]: bytes(r["content"]) for r in rows}


def postings_check(deliberation_id: str, rows_by_stream: dict[str, list[dict[str, Any]]],
                   photos: dict[str, bytes]) -> Check:
    """Each posting's photo is there and hashes to what the chain recorded (tools/verify_export.py: the same)."""
    found = postings(rows_by_stream)
    for posting in found:
        photo = photos.get(posting["photo_sha256"])
        if photo is None or hashlib.sha256(photo).hexdigest() != posting["photo_sha256"]:
            why = "is missing" if photo is None else "does not hash to the recorded sha256"
            return Check("postings", False, f"the photo of notice {posting['notice_id']} posted at "
                         f"{posting['group']} by {posting['by']} {why}", posting["stream_id"], posting["seq"])
    return Check("postings", True, f"{len(found)} printed notices recorded as posted, each photo matching its hash",
                 deliberation_id)


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
    (out / "photos").mkdir(exist_ok=True)
    (out / DOCUMENTS).mkdir(exist_ok=True)


async def export(deliberation_id: str, out: Path, *, pool: asyncpg.Pool, client: Client,
                 histories: HistoryStore | None = None) -> dict[str, Any]:
    """Write the export to ``out`` (a new or empty directory); return the manifest. Each history is written in
    its kept form: a run read from its kept copy as those very bytes, so the file's sha256 is the hash the streams
    publish."""
    data = await _gather(deliberation_id, pool, client, histories)
    _prepare(out)
    frozen = await frozen_rolls(pool, [d for rows in data.rows.values() for d in roll_digests(rows)])
    files: dict[str, bytes] = {
        "events.jsonl": events_jsonl(data.rows),
        "roll.json": _json_bytes(roll_document(data.rows, frozen)),
        "rule.json": _json_bytes(rule_document(data.rows)),
        "result.json": _json_bytes(result_document(deliberation_id, data.witnesses)),
        "summary.json": _json_bytes(summary_document(deliberation_id, data.rows)),
        **{f"photos/{digest}": photo for digest, photo in (await posting_photos(pool, data.rows)).items()},
        **{f"{DOCUMENTS}/{digest}": content for digest, content in (await document_bytes(pool, data.rows)).items()},
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


# ---- timeline (for the read-only auditor pages) --------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One event as an auditor's page shows it: when, which stage, who acted, what happened (no choices)."""

    stream_id: str
    seq: int
    type: str
    occurred_at: str
    recorded_at: str
    stage: str
    actor: str
    role: str
    summary: str
    deadline: str | None
    hash: str


def _actor(kind: str, p: dict[str, Any]) -> tuple[str, str]:
    """Who acted and in what capacity; the ballot's choice is never shown (see services/receipts.py)."""
    if kind == "BallotCast":
        if p.get("channel") == "paper":
            if p.get("entered_by") is not None:  # the committee clerk's console account (accounts.id)
                return f"account:{p['entered_by']}", f"committee clerk entering the paper ballot of {p.get('owner_id')}"
            return p.get("owner_id", ""), "paper ballot entered by the committee"
        by = p.get("cast_by")
        return (by, f"proxy for {p.get('owner_id')}") if by and by != p.get("owner_id") else (p.get("owner_id", ""),
                                                                                              "owner")
    if kind in ("ProxyAuthorised", "ProxyRevoked"):
        return p.get("owner_id", ""), "owner"
    if kind in LINK_EVENT_TYPES:  # a committee member (console), whoever ran `yishi links` (cli), or the system
        return p.get("by", ""), p.get("via", "")
    if kind == "TaskCompleted":
        return p.get("actor", ""), p.get("role", "")
    if kind == "ProcedureStarted":
        return p.get("initiated_by", ""), p.get("initiator_role", "")
    if kind in ("ObjectionFiled", "FeedbackRecorded", "ShareConfirmed"):
        return p.get("owner_id", ""), "owner"
    if kind in ("HandoverItemConfirmed", "MilestoneRecorded"):
        return p.get("by", ""), ""
    return "system", "workflow"


_SUMMARY = {
    "BoxOpened": lambda p: f"ballot box opened, rule {p.get('rule_id')}, closes {p.get('closes_at')}",
    "BallotCast": lambda p: f"{p.get('channel', 'online')} ballot for owner {p.get('owner_id')} "
                            f"on question {p.get('question_id', 'main')}"
                            + (f", through a reissued link (generation {p['link_generation']})"
                               if (p.get("link_generation") or 0) > 1 else ""),
    "LinksIssued": lambda p: f"{len(p.get('links') or ())} personal links issued"
                             + (f" (part {p.get('part')} of {p.get('parts')})" if p.get("parts", 1) > 1 else ""),
    "LinkReissued": lambda p: f"link of owner {p.get('owner_id')} reissued as generation {p.get('generation')}"
                              f" ({p.get('reason')})",
    "LinkRevoked": lambda p: f"link of owner {p.get('owner_id')} revoked ({p.get('reason')})",
    "LiveLinksDisclosed": lambda p: f"live links shown ({p.get('format')}): {len(p.get('owners') or ())} households"
                                    + (f" (part {p.get('part')} of {p.get('parts')})" if p.get("parts", 1) > 1
                                       else ""),
    "ProxyAuthorised": lambda p: f"owner {p.get('owner_id')} authorised {p.get('proxy_owner_id')}",
    "ProxyRevoked": lambda p: f"owner {p.get('owner_id')} ended the authorisation of {p.get('proxy_owner_id')}",
    "BoxSealed": lambda p: f"ballot box sealed ({p.get('reason')})",
    "ResultRecorded": lambda p: "result recorded: " + ", ".join(
        f"{q}: {r.get('outcome')}" for q, r in (p.get("results") or {}).items()),
    "StageEntered": lambda p: f"stage {p.get('stage')} entered",
    "TaskOpened": lambda p: f"task {p.get('task_id')}: {p.get('title_en') or p.get('kind')}",
    "TaskCompleted": lambda p: f"task {p.get('task_id')} completed: {p.get('outcome')}",
    "NoticePublished": lambda p: f"notice published: {p.get('title_en') or p.get('kind')}",
    "ProcedureClosed": lambda p: f"procedure closed: {p.get('outcome')}",
    "HistoryKept": lambda p: f"Temporal history kept: {p.get('workflow_type')} {p.get('workflow_id')} run "
                             f"{p.get('run_id')} ({p.get('status')}), sha256 {p.get('sha256')}",
}
_DEADLINES = {"BoxOpened": "closes_at", "StageEntered": "deadline", "TaskOpened": "due_at", "TaskOverdue": "due_at"}


def timeline_of(rows: Sequence[Row]) -> list[TimelineEntry]:
    """The timeline of one stream, with the stage each event happened in."""
    stage, entries = "", []
    for row in rows:
        kind, payload = row["type"], row["payload"]
        if kind == "StageEntered":
            stage = payload.get("stage", stage)
        elif kind == "BoxOpened" and not stage:
            stage = "vote"
        actor, role = _actor(kind, payload)
        summary = _SUMMARY.get(kind, lambda p, k=kind: k)(payload)
        fallback = payload.get("fallback_years") or payload.get("closes_fallback_years")
        if fallback:
            summary += (f" (deadline counted on weekends only in {', '.join(map(str, fallback))}: "
                        "no State Council schedule loaded)")
        entries.append(TimelineEntry(row["stream_id"], row["seq"], kind, row["occurred_at"], row["recorded_at"],
                                     stage, actor, role, summary, payload.get(_DEADLINES.get(kind, "")), row["hash"]))
    return entries


async def timeline(pool: asyncpg.Pool, deliberation_id: str) -> list[TimelineEntry]:
    """Every event of the deliberation and its ``<id>/…`` streams, in stored order per stream."""
    entries: list[TimelineEntry] = []
    for stream_id in await related_streams(pool, deliberation_id, ()):
        entries.extend(timeline_of(await read_rows(pool, stream_id)))
    return entries
