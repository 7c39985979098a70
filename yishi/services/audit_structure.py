"""The auditor's view of a community's structure stream and of joint tickets (issue 19), pure: rows in,
:class:`Check` out.

A structure stream (``structure-<community>``) is checked like any stream (chain, ``streams`` row), and on top of
that each event must read as a structure event and the stream must hold together: it starts with its own
``CommunityDefined``; changes are dated in order (the point-in-time answers rely on it); a grid code is defined once
and used only while it is live; a worker leaves only a post they hold; a party organisation's parent is of the kind
above it; ladder versions count 1, 2, 3. A ticket with joint parts (吹哨报到): parts are numbered in order after a
whistle, each part's events come from the organisation that owns it then, and the ticket is not resolved while a
part is open. ``tools/verify_export.py`` checks the same from an export, with the standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from domain.escalation import ESCALATION_EVENT_TYPES, escalation_event_from_dict
from domain.structure import STRUCTURE_EVENT_TYPES, community_of, fold, structure_event_from_dict
from yishi.services.audit_checks import Check, Row

PARENT = {"grid_branch": None, "building_group": "grid_branch", "member_household": "building_group"}
PART_TYPES = ("PartReported", "PartResolved", "PartReleased", "PartDeadlineMissed", "PartEscalated")


def structure_problem(stream_id: str, rows: Sequence[Row]) -> tuple[int | None, str] | None:
    """The first way the stream does not hold together as a community's structure, ``(seq, what)``; the same
    rules as tools/verify_export.py ``structure_problem``."""
    first = rows[0]
    if first["type"] != "CommunityDefined" or first["payload"].get("community") != community_of(stream_id):
        return first["seq"], f"the stream must open with CommunityDefined for {community_of(stream_id)!r}"
    grids: dict[str, bool] = {}  # code -> live
    terms: set[tuple[Any, ...]] = set()
    party: dict[str, str] = {}
    version, last_at = 0, _instant(first["payload"].get("at"))
    for row in rows[1:]:
        kind, p, seq = row["type"], row["payload"], row["seq"]
        if kind not in STRUCTURE_EVENT_TYPES:
            continue
        at = _instant(p.get("at"))
        if at is None or (last_at is not None and at < last_at):
            return seq, f"{kind} is dated {p.get('at')}, before the change recorded before it"
        last_at = at
        if problem := _structure_step(kind, p, grids, terms, party):
            return seq, problem
        if kind == "LadderVersioned":
            version += 1
            if (p.get("ladder") or {}).get("version") != version:
                return seq, f"ladder version {(p.get('ladder') or {}).get('version')} where {version} comes next"
    return None


def _instant(text: Any) -> datetime | None:
    try:
        found = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return found if found.tzinfo else None


def _structure_step(kind: str, p: dict[str, Any], grids: dict[str, bool], terms: set[tuple[Any, ...]],
                    party: dict[str, str]) -> str | None:  # noqa: C901 - one case per event type
    code = p.get("code") or p.get("grid")
    match kind:
        case "CommunityDefined":
            return "a second CommunityDefined"
        case "GridDefined":
            if code in grids:
                return f"grid {code} defined twice (codes are never reused)"
            grids[code] = True
        case "GridRenamed" | "GridRetired" | "BuildingAssigned" | "WorkerAssigned":
            if not grids.get(code):
                return f"{kind} names grid {code}, which is not defined or was retired"
            if kind == "GridRetired":
                grids[code] = False
            if kind == "WorkerAssigned":
                terms.add((code, p.get("role"), p.get("person"), p.get("building", "")))
        case "WorkerUnassigned":
            key = (code, p.get("role"), p.get("person"), p.get("building", ""))
            if key not in terms:
                return f"{p.get('person')} leaves a post in grid {code} they did not hold"
            terms.discard(key)
        case "PartyOrgDefined":
            want = PARENT.get(p.get("kind", ""), "?")
            if want == "?" or (want is None) != (p.get("parent") is None) or (want and party.get(p["parent"]) != want):
                return f"party organisation {p.get('org_id')} ({p.get('kind')}) has parent {p.get('parent')!r}"
            party[p["org_id"]] = p["kind"]
        case "PartyOrgRetired":
            if party.pop(p.get("org_id"), None) is None:
                return f"retires party organisation {p.get('org_id')}, which does not exist"
    return None


def check_structure(stream_id: str, rows: Sequence[Row]) -> Check | None:
    """The structure's events read and fold with the domain, and the stream holds together; None for others."""
    if not stream_id.startswith("structure-") or not rows:
        return None
    events = []
    for row in rows:
        if row["type"] in STRUCTURE_EVENT_TYPES:
            try:
                events.append(structure_event_from_dict(row["type"], dict(row["payload"])))
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first.get("loc", ()))
                return Check("structure", False, f"seq {row['seq']}: {row['type']} does not read as a structure "
                             f"event ({where}: {first.get('msg')})", stream_id, row["seq"])
    if (problem := structure_problem(stream_id, rows)) is not None:
        return Check("structure", False, f"seq {problem[0]}: {problem[1]}", stream_id, problem[0])
    s = fold(events)
    live = sum(1 for g in s.grids.values() if g.retired_at is None)
    return Check("structure", True, f"{len(events)} structure events read and fold: {live} live grids of "
                 f"{len(s.grids)}, {len(s.placements_at())} buildings/entrances placed, {len(s.terms)} worker terms, "
                 f"{len(s.party)} party organisations, ladder version {len(s.ladders)}", stream_id)


def parts_problem(rows: Sequence[Row]) -> tuple[int | None, str] | None:
    """The first way a ticket's joint parts do not hold together, ``(seq, what)``; the same rules as
    tools/verify_export.py ``parts_problem``."""
    owners: dict[int, str | None] = {}  # part -> its owner while open, None once done or released
    escalated: set[int] = set()
    whistled = None
    for row in rows:
        kind, p, seq = row["type"], row["payload"], row["seq"]
        if kind == "WhistleBlown":
            whistled = p.get("org")
        elif kind == "PartOpened":
            if whistled is None or p.get("part") != len(owners) + 1:
                return seq, f"part {p.get('part')} opened out of order (or before any whistle)"
            owners[p["part"]] = p.get("org")
        elif kind in PART_TYPES:
            part = p.get("part")
            if owners.get(part) is None:
                return seq, f"{kind} for part {part}, which is not open"
            actor = p.get("from_org") if kind == "PartEscalated" else p.get("org")
            if kind != "PartReleased" and actor != owners[part]:
                return seq, f"{kind} of part {part} by {actor}, but {owners[part]} owns it"
            if kind == "PartEscalated":
                if part in escalated:
                    return seq, f"part {part} escalated a second time (a part moves up once)"
                escalated.add(part)
                owners[part] = p.get("to_org")
            elif kind in ("PartResolved", "PartReleased"):
                owners[part] = None
        elif kind == "Resolved" and any(o is not None for o in owners.values()):
            return seq, "the ticket was resolved while a part was still open"
    return None


def check_parts(stream_id: str, rows: Sequence[Row]) -> Check | None:
    """A ticket with joint parts: its events read and the parts hold together; None for a ticket without parts."""
    if not rows or rows[0]["type"] != "EscalationOpened" or not any(r["type"] == "WhistleBlown" for r in rows):
        return None
    for row in rows:
        if row["type"] in ESCALATION_EVENT_TYPES:
            try:
                escalation_event_from_dict(row["type"], dict(row["payload"]))
            except ValidationError as exc:
                why = exc.errors()[0].get("msg")
                return Check("joint_parts", False, f"seq {row['seq']}: {row['type']} does not read ({why})", stream_id,
                             row["seq"])
    if (problem := parts_problem(rows)) is not None:
        return Check("joint_parts", False, f"seq {problem[0]}: {problem[1]}", stream_id, problem[0])
    parts = sum(1 for r in rows if r["type"] == "PartOpened")
    moved = sum(1 for r in rows if r["type"] == "PartEscalated")
    return Check("joint_parts", True, f"{parts} parts after {sum(1 for r in rows if r['type'] == 'WhistleBlown')} "
                 f"whistle(s), {moved} moved to the supervisor; each part's events from its owner", stream_id)
