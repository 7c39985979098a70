"""A community's structure as events, and its fold (issue 19), pure.

One stream per community, ``structure-<community>``: the grids with their numbered codes (赋码编号, e.g.
``JC-03-07``), the buildings (or single entrances) each grid covers, the grid workers (网格员) and building heads
(楼栋长), the party organisation chain (网格党支部 — 楼栋党小组 — 党员中心户) and the escalation ladder, versioned.
Every change is an event with who (``by``) and when (``at``), so the fold answers questions about the past:
"whose grid was building 12 in March" is :meth:`Structure.grid_of` at an instant in March.

A street office's list of communities is a stream of its own, ``street-<street>`` (:class:`CommunityListed`).
Commands that check and return these events are in domain/structure_commands.py.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from domain.ladders import LadderVersion

STREAM_PREFIX = "structure-"
STREET_PREFIX = "street-"
GRID_CODE = re.compile(r"^[A-Z0-9]{1,8}(?:-[A-Z0-9]{1,8}){0,4}$")
"""Grid codes: upper-case letters and digits in up to five dash-separated groups (``JC-03-07``)."""
WORKER_ROLES = ("grid_worker", "building_head")
PARTY_KINDS = ("grid_branch", "building_group", "member_household")
PARTY_PARENT = {"grid_branch": None, "building_group": "grid_branch", "member_household": "building_group"}


def stream_id(community: str) -> str:
    return f"{STREAM_PREFIX}{community}"


def street_stream(street: str) -> str:
    return f"{STREET_PREFIX}{street}"


def community_of(stream: str) -> str | None:
    return stream[len(STREAM_PREFIX):] if stream.startswith(STREAM_PREFIX) else None


# ---- events ---------------------------------------------------------------------------------------------------


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    at: AwareDatetime
    by: str
    """Who made the change: ``<role> <name>`` of the account, or ``cli <name>``, or ``import <file>``."""


class CommunityDefined(_Event):
    type: Literal["CommunityDefined"] = "CommunityDefined"
    community: str
    name: str
    street: str


class GridDefined(_Event):
    type: Literal["GridDefined"] = "GridDefined"
    code: str
    name: str


class GridRenamed(_Event):
    type: Literal["GridRenamed"] = "GridRenamed"
    code: str
    name: str


class GridRetired(_Event):
    type: Literal["GridRetired"] = "GridRetired"
    code: str
    reason: str


class BuildingAssigned(_Event):
    """A building (``entrance`` empty) or one of its entrances now belongs to grid ``grid``."""

    type: Literal["BuildingAssigned"] = "BuildingAssigned"
    building: str
    entrance: str = ""
    grid: str
    address: str = ""


class WorkerAssigned(_Event):
    """A grid worker of ``grid``, or the building head (楼栋长) of ``building`` in ``grid``; ``person`` is the
    account name the worker signs in with."""

    type: Literal["WorkerAssigned"] = "WorkerAssigned"
    grid: str
    role: Literal["grid_worker", "building_head"]
    person: str
    building: str = ""


class WorkerUnassigned(_Event):
    type: Literal["WorkerUnassigned"] = "WorkerUnassigned"
    grid: str
    role: Literal["grid_worker", "building_head"]
    person: str
    building: str = ""
    reason: str = ""


class PartyOrgDefined(_Event):
    """网格党支部 (on a grid), 楼栋党小组 (on a building, under a branch) or 党员中心户 (a room, under a group)."""

    type: Literal["PartyOrgDefined"] = "PartyOrgDefined"
    org_id: str
    kind: Literal["grid_branch", "building_group", "member_household"]
    name: str
    parent: str | None = None
    grid: str = ""
    building: str = ""
    room: str = ""
    leader: str = ""


class PartyOrgRetired(_Event):
    type: Literal["PartyOrgRetired"] = "PartyOrgRetired"
    org_id: str
    reason: str = ""


class LadderVersioned(_Event):
    type: Literal["LadderVersioned"] = "LadderVersioned"
    ladder: LadderVersion


class CommunityListed(_Event):
    """The street office's list (stream ``street-<street>``): a community of the street, with its name."""

    type: Literal["CommunityListed"] = "CommunityListed"
    street: str
    community: str
    name: str


StructureEvent = Annotated[
    CommunityDefined | GridDefined | GridRenamed | GridRetired | BuildingAssigned | WorkerAssigned
    | WorkerUnassigned | PartyOrgDefined | PartyOrgRetired | LadderVersioned,
    Field(discriminator="type"),
]
STRUCTURE_EVENT_TYPES = frozenset(("CommunityDefined", "GridDefined", "GridRenamed", "GridRetired",
                                   "BuildingAssigned", "WorkerAssigned", "WorkerUnassigned", "PartyOrgDefined",
                                   "PartyOrgRetired", "LadderVersioned"))
_ADAPTER: TypeAdapter[Any] = TypeAdapter(StructureEvent)


def structure_event_from_dict(type_: str, payload: dict[str, Any]) -> StructureEvent:
    return _ADAPTER.validate_python({**payload, "type": type_})


# ---- state ----------------------------------------------------------------------------------------------------


class Grid(BaseModel):
    code: str
    name: str
    defined_at: datetime
    retired_at: datetime | None = None

    def live(self, at: datetime) -> bool:
        return self.defined_at <= at and (self.retired_at is None or at < self.retired_at)


class Span(BaseModel):
    """An interval ``[since, until)``; ``until`` None while it lasts."""

    since: datetime
    until: datetime | None = None

    def covers(self, at: datetime) -> bool:
        return self.since <= at and (self.until is None or at < self.until)


class Placement(Span):
    building: str
    entrance: str = ""
    grid: str
    address: str = ""


class Term(Span):
    grid: str
    role: str
    person: str
    building: str = ""


class PartyOrg(Span):
    org_id: str
    kind: str
    name: str
    parent: str | None = None
    grid: str = ""
    building: str = ""
    room: str = ""
    leader: str = ""


class Structure(BaseModel):
    community: str = ""
    name: str = ""
    street: str = ""
    grids: dict[str, Grid] = {}
    placements: list[Placement] = []
    terms: list[Term] = []
    party: dict[str, PartyOrg] = {}
    ladders: list[tuple[datetime, LadderVersion]] = []
    updated_at: datetime | None = None

    # -- point in time -----------------------------------------------------------------------------------------

    def placements_at(self, at: datetime | None = None) -> list[Placement]:
        return [p for p in self.placements if p.until is None] if at is None else \
            [p for p in self.placements if p.covers(at)]

    def grids_of(self, building: str, entrance: str = "", at: datetime | None = None) -> tuple[str, ...]:
        """The grids ``building`` (its ``entrance``) belonged to at ``at`` (now if None): the entrance's own
        placement, else the whole building's; without an entrance, every grid holding the building or one of its
        entrances (one grid unless the building is split)."""
        live = [p for p in self.placements_at(at) if p.building == building]
        if entrance:
            own = [p.grid for p in live if p.entrance == entrance]
            return tuple(own) if own else tuple(p.grid for p in live if not p.entrance)
        return tuple(sorted({p.grid for p in live}))

    def grid_of(self, building: str, entrance: str = "", at: datetime | None = None) -> str | None:
        """The one grid of the building (entrance) at ``at``; None when it had none or was split between grids."""
        found = self.grids_of(building, entrance, at)
        return found[0] if len(set(found)) == 1 else None

    def workers(self, grid: str, at: datetime | None = None, role: str = "grid_worker") -> list[Term]:
        return [t for t in self.terms if t.grid == grid and t.role == role
                and (t.until is None if at is None else t.covers(at))]

    def grids_of_person(self, person: str, at: datetime | None = None) -> list[str]:
        return sorted({t.grid for t in self.terms if t.person == person and t.role == "grid_worker"
                       and (t.until is None if at is None else t.covers(at))})

    def buildings_of(self, grid: str, at: datetime | None = None) -> list[Placement]:
        return [p for p in self.placements_at(at) if p.grid == grid]

    def ladder_at(self, at: datetime | None = None) -> LadderVersion | None:
        """The ladder version current at ``at`` (the latest if None); None before the first."""
        found = [v for since, v in self.ladders if at is None or since <= at]
        return found[-1] if found else None

    def party_chain(self, org_id: str) -> list[PartyOrg]:
        """The organisation and its parents up to its 网格党支部."""
        chain: list[PartyOrg] = []
        current = self.party.get(org_id)
        while current is not None and len(chain) < len(PARTY_KINDS):
            chain.append(current)
            current = self.party.get(current.parent) if current.parent else None
        return chain


class _Folder:
    """Applies events to a structure in place, with the open placements and terms indexed by their key (an
    import appends thousands of placements: looking each previous one up by scanning would be quadratic)."""

    def __init__(self, state: Structure) -> None:
        self.s = state
        self.places: dict[tuple[str, str], list[Placement]] = {}
        self.terms: dict[tuple[str, str, str, str], list[Term]] = {}
        for p in state.placements:
            if p.until is None:
                self.places.setdefault((p.building, p.entrance), []).append(p)
        for t in state.terms:
            if t.until is None:
                self.terms.setdefault((t.grid, t.role, t.person, t.building), []).append(t)

    def apply(self, e: StructureEvent) -> None:  # noqa: C901 - one case per event type
        s = self.s
        s.updated_at = e.at
        match e:
            case CommunityDefined():
                s.community, s.name, s.street = e.community, e.name, e.street
            case GridDefined():
                s.grids[e.code] = Grid(code=e.code, name=e.name, defined_at=e.at)
            case GridRenamed() if e.code in s.grids:
                s.grids[e.code] = s.grids[e.code].model_copy(update={"name": e.name})
            case GridRetired() if e.code in s.grids:
                s.grids[e.code] = s.grids[e.code].model_copy(update={"retired_at": e.at})
            case BuildingAssigned():
                for before in self.places.pop((e.building, e.entrance), []):
                    before.until = e.at
                place = Placement(since=e.at, building=e.building, entrance=e.entrance, grid=e.grid,
                                  address=e.address)
                s.placements.append(place)
                self.places[(e.building, e.entrance)] = [place]
            case WorkerAssigned():
                term = Term(since=e.at, grid=e.grid, role=e.role, person=e.person, building=e.building)
                s.terms.append(term)
                self.terms.setdefault((e.grid, e.role, e.person, e.building), []).append(term)
            case WorkerUnassigned():
                for term in self.terms.pop((e.grid, e.role, e.person, e.building), []):
                    term.until = e.at
            case PartyOrgDefined():
                s.party[e.org_id] = PartyOrg(since=e.at, org_id=e.org_id, kind=e.kind, name=e.name, parent=e.parent,
                                             grid=e.grid, building=e.building, room=e.room, leader=e.leader)
            case PartyOrgRetired() if e.org_id in s.party:
                s.party[e.org_id] = s.party[e.org_id].model_copy(update={"until": e.at})
            case LadderVersioned():
                s.ladders.append((e.at, e.ladder))


def evolve(state: Structure, e: StructureEvent) -> Structure:
    """The structure after one event (on a copy: ``state`` is left as it was)."""
    folder = _Folder(state.model_copy(deep=True))
    folder.apply(e)
    return folder.s


def fold(events: list[StructureEvent], state: Structure | None = None) -> Structure:
    """The structure after ``events`` (applied to a copy of ``state``, or to an empty structure)."""
    folder = _Folder(state.model_copy(deep=True) if state is not None else Structure())
    for event in events:
        folder.apply(event)
    return folder.s
