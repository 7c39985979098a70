"""The timeline an auditor's page renders: every event of a deliberation with its stage, who acted and in what
capacity (never a ballot's choice), a summary in words and the deadline it set."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from domain.link_events import LINK_EVENT_TYPES
from yishi.services.audit_checks import Row
from yishi.services.audit_read import read_rows, related_streams


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
