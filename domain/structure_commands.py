"""Commands on a community's structure (issue 19), pure: each checks the structure as it stands and returns the
events to append (none when the change is already there), or raises :class:`StructureError` saying what to do.
"""

from __future__ import annotations

from datetime import datetime

from domain.errors import N_, DomainError, Items, Label, Text
from domain.ladders import LadderVersion, ladder_problems, problems_text
from domain.structure import (
    GRID_CODE,
    PARTY_PARENT,
    BuildingAssigned,
    CommunityDefined,
    GridDefined,
    GridRenamed,
    GridRetired,
    LadderVersioned,
    PartyOrgDefined,
    PartyOrgRetired,
    Structure,
    StructureEvent,
    WorkerAssigned,
    WorkerUnassigned,
)

MAX_NAME = 100


class StructureError(DomainError):
    """A change to a community's structure is refused; the message says what to do."""


def _text(value: str, what: str, limit: int = MAX_NAME) -> str:
    """``value`` stripped; ``what`` (a msgid) names the field in the refusal."""
    text = value.strip()
    if not text:
        raise StructureError(N_("%(field)s is empty; fill it in"), field=Text(what))
    if len(text) > limit:
        raise StructureError(N_("%(field)s has more than %(limit)s characters"), field=Text(what), limit=limit)
    return text


def check_code(code: str) -> str:
    if not GRID_CODE.match(code):
        raise StructureError(N_("grid code '%(code)s' is not valid: upper-case letters and digits in "
                                "dash-separated groups, e.g. JC-03-07"), code=code)
    return code


def _live_grid(s: Structure, code: str) -> None:
    grid = s.grids.get(code)
    if grid is None:
        live = Items(sorted(g for g, v in s.grids.items() if v.retired_at is None)[:10])
        raise StructureError(N_("community '%(community)s' has no grid %(code)s (e.g. %(known)s); define it first "
                                "(yishi grid define)"), community=s.community, code=code,
                             known=live or Text(N_("none")))
    if grid.retired_at is not None:
        raise StructureError(N_("grid %(code)s was retired on %(retired_at)s; it cannot be used"), code=code,
                             retired_at=format(grid.retired_at, "%Y-%m-%d"))


def define_community(s: Structure, community: str, name: str, street: str, at: datetime,
                     by: str) -> list[StructureEvent]:
    if s.community:
        if (s.name, s.street) == (name.strip(), street.strip()):
            return []
        raise StructureError(N_("community '%(community)s' is already defined (%(name)s, street %(street)s)"),
                             community=community, name=s.name, street=s.street)
    return [CommunityDefined(at=at, by=by, community=_text(community, N_("the community id"), 64),
                             name=_text(name, N_("the community name")),
                             street=_text(street, N_("the street"), 64))]


def _defined(s: Structure) -> None:
    if not s.community:
        raise StructureError(N_("the community is not defined yet; import a grid file or run yishi grid community"))


def define_grid(s: Structure, code: str, name: str, at: datetime, by: str) -> list[StructureEvent]:
    _defined(s)
    check_code(code)
    name = _text(name or code, N_("the grid name"))
    grid = s.grids.get(code)
    if grid is not None and grid.retired_at is not None:
        raise StructureError(N_("grid code %(code)s belonged to a retired grid; codes are never reused, choose "
                                "another"), code=code)
    if grid is None:
        return [GridDefined(at=at, by=by, code=code, name=name)]
    return [] if grid.name == name else [GridRenamed(at=at, by=by, code=code, name=name)]


def retire_grid(s: Structure, code: str, reason: str, at: datetime, by: str) -> list[StructureEvent]:
    _live_grid(s, code)
    buildings = [p.building + (f"-{p.entrance}" if p.entrance else "") for p in s.buildings_of(code)]
    workers = [t.person for t in s.terms if t.grid == code and t.until is None]
    if buildings or workers:
        listed = "、".join((buildings + workers)[:10])
        raise StructureError(N_("grid %(code)s still has buildings or people (%(listed)s); move them to another grid "
                                "first"), code=code, listed=listed)
    return [GridRetired(at=at, by=by, code=code, reason=_text(reason, N_("the reason"), 500))]


def assign_building(s: Structure, building: str, entrance: str, grid: str, at: datetime, by: str,
                    address: str = "") -> list[StructureEvent]:
    _live_grid(s, grid)
    building = _text(building, N_("the building"), 32)
    entrance = entrance.strip()
    current = next((p for p in s.placements_at() if (p.building, p.entrance) == (building, entrance)), None)
    if current is not None and current.grid == grid and (not address or current.address == address.strip()):
        return []
    keep = address.strip() or (current.address if current else "")
    return [BuildingAssigned(at=at, by=by, building=building, entrance=entrance, grid=grid, address=keep[:200])]


def assign_worker(s: Structure, grid: str, role: str, person: str, at: datetime, by: str,
                  building: str = "") -> list[StructureEvent]:
    _live_grid(s, grid)
    person = _text(person, N_("the person (account name)"))
    if role not in ("grid_worker", "building_head"):
        raise StructureError(N_("role '%(role)s' is not valid: grid_worker or building_head"), role=role)
    if role == "building_head":
        if not building.strip():
            raise StructureError(N_("a building head needs the building"))
        if grid not in s.grids_of(building.strip()):
            raise StructureError(N_("building %(building)s is not in grid %(grid)s; assign it to the grid first"),
                                 building=building, grid=grid)
    building = building.strip() if role == "building_head" else ""
    if any(t.person == person for t in s.workers(grid, role=role) if t.building == building):
        return []
    return [WorkerAssigned(at=at, by=by, grid=grid, role=role, person=person, building=building)]  # type: ignore[arg-type]


def unassign_worker(s: Structure, grid: str, role: str, person: str, reason: str, at: datetime, by: str,
                    building: str = "") -> list[StructureEvent]:
    building = building.strip() if role == "building_head" else ""
    if not any(t.person == person and t.building == building for t in s.workers(grid, role=role)):
        raise StructureError(N_("%(person)s is not a %(role)s of grid %(grid)s now"), person=person,
                             role=Label("role", role), grid=grid)
    return [WorkerUnassigned(at=at, by=by, grid=grid, role=role, person=person, building=building,  # type: ignore[arg-type]
                             reason=reason.strip()[:500])]


def define_party_org(s: Structure, org: PartyOrgDefined) -> list[StructureEvent]:
    """网格党支部 on a live grid; 楼栋党小组 on a building, under a branch; 党员中心户 on a room, under a group."""
    _defined(s)
    _text(org.org_id, N_("the party organisation id"), 64)
    _text(org.name, N_("the party organisation name"))
    want = PARTY_PARENT[org.kind]
    parent = s.party.get(org.parent) if org.parent else None
    if want is None and org.parent:
        raise StructureError(N_("a grid party branch has no parent here"))
    if want is not None and (parent is None or parent.kind != want or parent.until is not None):
        raise StructureError(N_("'%(name)s' needs a live %(kind)s as its parent (got %(parent)s)"), name=org.name,
                             kind=Label("party_kind", want), parent=org.parent or Text(N_("none")))
    if org.kind == "grid_branch":
        _live_grid(s, org.grid)
    if org.kind == "building_group" and not org.building.strip():
        raise StructureError(N_("a building party group needs its building"))
    if org.kind == "member_household" and not org.room.strip():
        raise StructureError(N_("a party member household needs its room"))
    existing = s.party.get(org.org_id)
    if existing is not None and existing.until is None:
        same = (existing.kind, existing.name, existing.parent, existing.grid, existing.building, existing.room,
                existing.leader) == (org.kind, org.name, org.parent, org.grid, org.building, org.room, org.leader)
        if same:
            return []
    return [org]


def retire_party_org(s: Structure, org_id: str, reason: str, at: datetime, by: str) -> list[StructureEvent]:
    org = s.party.get(org_id)
    if org is None or org.until is not None:
        raise StructureError(N_("no live party organisation %(org_id)s"), org_id=org_id)
    children = [o.org_id for o in s.party.values() if o.parent == org_id and o.until is None]
    if children:
        raise StructureError(N_("%(name)s still has %(children)s under it; retire or move them first"), name=org.name,
                             children=Items(children[:5]))
    return [PartyOrgRetired(at=at, by=by, org_id=org_id, reason=reason.strip()[:500])]


def version_ladder(s: Structure, spec: LadderVersion, at: datetime, by: str) -> list[StructureEvent]:
    """A new version of the community's ladder (numbered after the last); tickets already open keep theirs."""
    _defined(s)
    if problems := ladder_problems(spec):
        raise StructureError(problems_text(problems))
    current = s.ladder_at()
    number = (current.version if current else 0) + 1
    if current is not None and current.model_copy(update={"version": 0}) == spec.model_copy(update={"version": 0}):
        return []
    return [LadderVersioned(at=at, by=by, ladder=spec.model_copy(update={"version": number}))]
