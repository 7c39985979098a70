"""Community structure for the console and the CLI (issue 19): import a street's grid file, change one thing at a
time (a grid, a building, a worker, a party organisation, the ladder), and read it back as it is now or was then.

Every change is an event in the community's stream ``structure-<community>`` with who made it (``by``: the
account's role and name, or ``cli <name>``) and when; the ``structure_*`` tables follow it
(activities/structure.py). Refusals are :class:`domain.structure_commands.StructureError` (zh / en).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from activities.eventstore import EventStore
from activities.structure import (
    change_structure,
    list_communities,
    load_structure,
    project_structure,
    street_communities,
)
from domain.ladders import LadderVersion
from domain.structure import CommunityListed, PartyOrgDefined, Structure, StructureEvent
from domain.structure_commands import (
    assign_building,
    assign_worker,
    define_community,
    define_grid,
    define_party_org,
    retire_grid,
    retire_party_org,
    unassign_worker,
    version_ladder,
)
from domain.structure_import import ImportPlan, Table, plan_import

__all__ = ["ImportReport", "change", "import_grids", "load_structure", "street_communities"]


@dataclass
class ImportReport:
    plan: ImportPlan
    appended: dict[str, int]
    seconds: float

    def to_json(self) -> dict[str, object]:
        p = self.plan
        return {"rows": p.rows, "communities": p.communities, "grids": p.grids, "buildings": p.buildings,
                "events": sum(self.appended.values()), "by_community": self.appended,
                "seconds": round(self.seconds, 3)}


async def import_grids(store: EventStore, pool: asyncpg.Pool, data: bytes | Table, filename: str, *, street: str,
                       by: str, at: datetime) -> ImportReport:
    """Check the whole file (every problem at once: :class:`domain.structure_import.StructureImportError`), then
    append each community's events in one append, list new communities on the street, and project."""
    started = time.perf_counter()
    communities = await _communities_in(data, filename)
    states = {c: (await load_structure(store, c))[0] for c in communities}
    plan = plan_import(data, filename, states, street=street, at=at, by=by)
    # One append per community, the communities side by side (each its own stream). No idempotency key: the plan
    # is made against each stream's head and appended only on that head, so an import run again plans nothing.
    done = await asyncio.gather(*(change_structure(store, pool, community, _unless_moved(states[community], events))
                                  for community, events in plan.events.items()))
    appended = {community: len(stored) for community, (_, stored) in zip(plan.events, done, strict=True)}
    fresh = [CommunityListed(at=at, by=by, street=street, community=c, name=e.name)
             for c, events in plan.events.items() for e in events if e.type == "CommunityDefined"]
    await list_communities(store, street, fresh)
    return ImportReport(plan, appended, time.perf_counter() - started)


def _unless_moved(seen: Structure, events: list[StructureEvent]) -> Callable[[Structure], list[StructureEvent]]:
    """The planned events, while the structure is still the one they were planned on (else import again)."""
    def decide(now: Structure) -> list[StructureEvent]:
        if now.updated_at != seen.updated_at:
            raise RuntimeError("the structure changed while the file was being imported; import it again")
        return events

    return decide


async def _communities_in(data: bytes | Table, filename: str) -> list[str]:
    from domain.structure_import import read_rows

    rows = read_rows(data, filename)[0] if isinstance(data, bytes) else data[0]
    return sorted({cells["community"].strip() for _, cells in rows if cells.get("community", "").strip()})


Decide = Callable[[Structure], list[StructureEvent]]


async def change(store: EventStore, pool: asyncpg.Pool, community: str, decide: Decide) -> tuple[Structure, int]:
    """One change decided on the structure as it stands; returns the structure after it and the events written."""
    state, stored = await change_structure(store, pool, community, decide)
    return state, len(stored)


def community(name: str, title: str, street: str, at: datetime, by: str) -> Decide:
    return lambda s: define_community(s, name, title, street, at, by)


def grid(code: str, title: str, at: datetime, by: str) -> Decide:
    return lambda s: define_grid(s, code, title, at, by)


def retire(code: str, reason: str, at: datetime, by: str) -> Decide:
    return lambda s: retire_grid(s, code, reason, at, by)


def building(building_id: str, entrance: str, code: str, at: datetime, by: str, address: str = "") -> Decide:
    return lambda s: assign_building(s, building_id, entrance, code, at, by, address)


def worker(code: str, role: str, person: str, at: datetime, by: str, building_id: str = "") -> Decide:
    return lambda s: assign_worker(s, code, role, person, at, by, building_id)


def unworker(code: str, role: str, person: str, reason: str, at: datetime, by: str, building_id: str = "") -> Decide:
    return lambda s: unassign_worker(s, code, role, person, reason, at, by, building_id)


def party(org: PartyOrgDefined) -> Decide:
    return lambda s: define_party_org(s, org)


def unparty(org_id: str, reason: str, at: datetime, by: str) -> Decide:
    return lambda s: retire_party_org(s, org_id, reason, at, by)


def ladder(spec: LadderVersion, at: datetime, by: str) -> Decide:
    return lambda s: version_ladder(s, spec, at, by)


async def list_on_street(store: EventStore, street: str, community_id: str, name: str, at: datetime, by: str) -> None:
    """Add a community defined in the console to its street office's list (as the import does)."""
    await list_communities(store, street, [CommunityListed(at=at, by=by, street=street, community=community_id,
                                                           name=name)])


async def rebuild(store: EventStore, pool: asyncpg.Pool, community_id: str) -> Structure:
    return await project_structure(store, pool, community_id)
