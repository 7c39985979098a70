"""The read side of the ticket streams: the ``escalations`` row of each ticket (the inbox, the lists), its joint
parts (``escalation_parts``) and every turn (``escalation_turns``: what the appraisal counts). Rewritten from the
ticket's stream after each append, in one transaction, only forward (``last_seq``), so it can always be rebuilt
from scratch (yishi/services/escalations.py ``rebuild_projection``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from domain.escalation import Assignment, Ticket
from domain.joint import Part


def next_due(a: Assignment | None, owned: bool) -> datetime | None:
    """The owner's next deadline: acknowledge while not acknowledged, then resolve."""
    if a is None or not owned:
        return None
    return a.ack_due if a.acknowledged_at is None else a.resolve_due


def part_due(p: Part) -> datetime | None:
    found = p.next_deadline()
    return found[1] if found else (None if p.status != "open" else p.current.resolve_due)


def turn_rows(t: Ticket) -> list[tuple[Any, ...]]:
    """One row per turn, in the columns of ``escalation_turns``."""
    rows = []
    for a in t.assignments:
        rows.append((t.ticket_id, f"a{a.n}", "level", t.community, t.grid, t.channel, t.category, a.level_key, a.org,
                     a.assigned_at, a.ack_due, a.resolve_due, a.acknowledged_at, a.resolved_at, a.ended_at,
                     a.follow_up, a.reopened))
    for p in t.joint.parts:
        for i, turn in enumerate(p.turns, start=1):
            rows.append((t.ticket_id, f"p{p.part}.{i}", "part", t.community, t.grid, t.channel, t.category, "part",
                         turn.org, turn.assigned_at, turn.report_due, turn.resolve_due, turn.reported_at,
                         turn.resolved_at, turn.ended_at, None, False))
    return rows


TURN_COLUMNS = ("ticket_id", "unit", "kind", "community", "grid", "channel", "category", "level_key", "org",
                "assigned_at", "ack_due", "resolve_due", "acknowledged_at", "resolved_at", "ended_at", "follow_up",
                "reopened")
PART_COLUMNS = ("ticket_id", "part", "department", "org", "status", "reported", "report_due", "resolve_due",
                "next_due", "opened_at")


def part_rows(t: Ticket) -> list[tuple[Any, ...]]:
    return [(t.ticket_id, p.part, p.department, p.current.org, p.status, p.current.reported_at is not None,
             p.current.report_due, p.current.resolve_due, part_due(p), p.turns[0].assigned_at) for p in t.joint.parts]


async def write_ticket(conn: asyncpg.Connection, t: Ticket, seq: int) -> bool:
    """Write the ticket's rows at stream position ``seq``; False when a later rebuild got there first."""
    a, owner = t.current, t.owner
    async with conn.transaction():
        status = await conn.execute(
            "INSERT INTO escalations (ticket_id, parent_id, community, category, subject, initiator, initiator_kind,"
            " status, level, level_key, org, transfer_to, ack_due, resolve_due, opened_at, updated_at, last_seq,"
            " state, channel, grid, building, ladder_version, acknowledged, next_due, joint)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25)"
            " ON CONFLICT (ticket_id) DO UPDATE SET status = EXCLUDED.status, level = EXCLUDED.level,"
            " level_key = EXCLUDED.level_key, org = EXCLUDED.org, transfer_to = EXCLUDED.transfer_to,"
            " ack_due = EXCLUDED.ack_due, resolve_due = EXCLUDED.resolve_due, updated_at = EXCLUDED.updated_at,"
            " last_seq = EXCLUDED.last_seq, state = EXCLUDED.state, acknowledged = EXCLUDED.acknowledged,"
            " next_due = EXCLUDED.next_due, joint = EXCLUDED.joint WHERE escalations.last_seq < EXCLUDED.last_seq",
            t.ticket_id, t.parent_id, t.community, t.category, t.subject, t.initiator, t.initiator_kind, t.status,
            a.level if a else None, a.level_key if a else None, owner, t.transfer.to_org if t.transfer else None,
            a.ack_due if a and owner else None, a.resolve_due if a and owner else None, t.opened_at, t.updated_at,
            seq, t.model_dump(mode="json"), t.channel, t.grid, t.building, t.ladder_version,
            bool(a and a.acknowledged_at), next_due(a, owner is not None and not t.joint.open_parts),
            bool(t.joint.open_parts))
        if status.endswith(" 0"):
            return False
        await conn.execute("DELETE FROM escalation_turns WHERE ticket_id = $1", t.ticket_id)
        await conn.execute("DELETE FROM escalation_parts WHERE ticket_id = $1", t.ticket_id)
        await conn.copy_records_to_table("escalation_turns", records=turn_rows(t), columns=TURN_COLUMNS)
        if t.joint.parts:
            await conn.copy_records_to_table("escalation_parts", records=part_rows(t), columns=PART_COLUMNS)
    return True
