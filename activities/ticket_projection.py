"""The read side of the ticket streams: the ``escalations`` row of each ticket (the inbox, the lists), its joint
parts (``escalation_parts``), every turn (``escalation_turns``: what the appraisal counts) and the settled turns
summed per day (``turn_days``: what a month or a half-year of a whole street reads). Rewritten from the ticket's
stream after each append, in one transaction, only forward (``last_seq``), so it can always be rebuilt from scratch
(yishi/services/escalations.py ``rebuild_projection``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

from domain.escalation import Assignment, Ticket
from domain.escalation_rates import RateCell
from domain.joint import Part
from domain.legal_calendar import BEIJING


def next_due(a: Assignment | None, owned: bool) -> datetime | None:
    """The owner's next deadline: acknowledge while not acknowledged, then resolve."""
    if a is None or not owned:
        return None
    return a.ack_due if a.acknowledged_at is None else a.resolve_due


def part_due(p: Part) -> datetime | None:
    found = p.next_deadline()
    return found[1] if found else (None if p.status != "open" else p.current.resolve_due)


TURN_COLUMNS = ("ticket_id", "unit", "kind", "community", "grid", "channel", "category", "level_key", "org",
                "assigned_at", "ack_due", "resolve_due", "acknowledged_at", "resolved_at", "ended_at", "follow_up",
                "reopened", "day", "settled")
DAY_KEY = ("day", "community", "org", "kind", "level_key", "channel", "grid")
CELL_FIELDS = ("assigned", "ack_met", "ack_missed", "resolve_met", "resolve_missed", "satisfied",
               "basically_satisfied", "not_satisfied", "reopened", "responded", "respond_us", "resolved", "resolve_us")


def beijing_day(at: datetime) -> date:
    return at.astimezone(BEIJING).date()


def is_settled(acknowledged_at: datetime | None, resolved_at: datetime | None, ended_at: datetime | None) -> bool:
    """Both verdicts are fixed whatever moment they are judged at (domain/escalation_rates.py ``verdict``): each act
    done, or the turn ended."""
    return (acknowledged_at is not None or ended_at is not None) and (resolved_at is not None or ended_at is not None)


def turn_rows(t: Ticket) -> list[tuple[Any, ...]]:
    """One row per turn, in the columns of ``escalation_turns``."""
    rows = []
    for a in t.assignments:
        rows.append((t.ticket_id, f"a{a.n}", "level", t.community, t.grid, t.channel, t.category, a.level_key, a.org,
                     a.assigned_at, a.ack_due, a.resolve_due, a.acknowledged_at, a.resolved_at, a.ended_at,
                     a.follow_up, a.reopened, beijing_day(a.assigned_at),
                     is_settled(a.acknowledged_at, a.resolved_at, a.ended_at)))
    for p in t.joint.parts:
        for i, turn in enumerate(p.turns, start=1):
            rows.append((t.ticket_id, f"p{p.part}.{i}", "part", t.community, t.grid, t.channel, t.category, "part",
                         turn.org, turn.assigned_at, turn.report_due, turn.resolve_due, turn.reported_at,
                         turn.resolved_at, turn.ended_at, None, False, beijing_day(turn.assigned_at),
                         is_settled(turn.reported_at, turn.resolved_at, turn.ended_at)))
    return rows


def settled_cells(rows: list[Any]) -> dict[tuple[Any, ...], RateCell]:
    """The settled turns of ``rows`` (``escalation_turns`` rows or :func:`turn_rows` tuples) summed per key of
    ``turn_days``, counted by domain/escalation_rates.py itself."""
    out: dict[tuple[Any, ...], RateCell] = {}
    for row in rows:
        r = dict(zip(TURN_COLUMNS, row, strict=True)) if isinstance(row, tuple) else dict(row)
        if not r["settled"]:
            continue
        turn = Assignment(n=0, level=0, level_key=r["level_key"], org=r["org"], assigned_at=r["assigned_at"],
                          ack_due=r["ack_due"], resolve_due=r["resolve_due"], reason="", ended_at=r["ended_at"],
                          acknowledged_at=r["acknowledged_at"], resolved_at=r["resolved_at"],
                          follow_up=r["follow_up"], reopened=r["reopened"])
        key = tuple(r[k] for k in DAY_KEY)
        out.setdefault(key, RateCell()).add(turn, r["ended_at"] or r["assigned_at"])  # settled: any as-of
    return out


async def _add_days(conn: asyncpg.Connection, old: dict[tuple[Any, ...], RateCell],
                    new: dict[tuple[Any, ...], RateCell]) -> None:
    """Add ``new`` and take away ``old`` in ``turn_days``, key by key in one order (two tickets of the same grid and
    day wait for each other instead of deadlocking)."""
    rows = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key, RateCell()), new.get(key, RateCell())
        delta = [getattr(after, f) - getattr(before, f) for f in CELL_FIELDS]
        if any(delta):
            rows.append((*key, *delta))
    if rows:
        sets = ", ".join(f"{f} = turn_days.{f} + EXCLUDED.{f}" for f in CELL_FIELDS)
        await conn.executemany(
            f"INSERT INTO turn_days ({', '.join(DAY_KEY + CELL_FIELDS)}) VALUES "  # noqa: S608 - fixed names
            f"({', '.join(f'${i}' for i in range(1, len(DAY_KEY + CELL_FIELDS) + 1))})"
            f" ON CONFLICT ({', '.join(DAY_KEY)}) DO UPDATE SET {sets}", rows)
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
        old = await conn.fetch(f"SELECT {', '.join(TURN_COLUMNS)} FROM escalation_turns"  # noqa: S608
                               " WHERE ticket_id = $1 AND settled", t.ticket_id)
        await conn.execute("DELETE FROM escalation_turns WHERE ticket_id = $1", t.ticket_id)
        await conn.execute("DELETE FROM escalation_parts WHERE ticket_id = $1", t.ticket_id)
        rows = turn_rows(t)
        await conn.copy_records_to_table("escalation_turns", records=rows, columns=TURN_COLUMNS)
        await _add_days(conn, settled_cells(list(old)), settled_cells(rows))
        if t.joint.parts:
            await conn.copy_records_to_table("escalation_parts", records=part_rows(t), columns=PART_COLUMNS)
    return True
