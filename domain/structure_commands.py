"""Commands on a community's structure (issue 19), pure: each checks the structure as it stands and returns the
events to append (none when the change is already there), or raises :class:`StructureError` saying what to do.
"""

from __future__ import annotations

from datetime import datetime

from domain.errors import DomainError
from domain.ladders import LadderVersion, ladder_problems
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


def _text(value: str, what_zh: str, what_en: str, limit: int = MAX_NAME) -> str:
    text = value.strip()
    if not text:
        raise StructureError(f"请填写{what_zh}", f"{what_en} is empty; fill it in")
    if len(text) > limit:
        raise StructureError(f"{what_zh}最多 {limit} 个字", f"{what_en} has more than {limit} characters")
    return text


def check_code(code: str) -> str:
    if not GRID_CODE.match(code):
        raise StructureError(f"网格编号“{code}”无效：应为大写字母和数字，用“-”分段，如 JC-03-07",
                             f"grid code '{code}' is not valid: upper-case letters and digits in dash-separated "
                             "groups, e.g. JC-03-07")
    return code


def _live_grid(s: Structure, code: str) -> None:
    grid = s.grids.get(code)
    if grid is None:
        known = "、".join(sorted(g for g, v in s.grids.items() if v.retired_at is None)[:10]) or "（无）"
        raise StructureError(f"社区“{s.community}”没有网格 {code}（现有：{known}）；请先用 yishi grid define 建立",
                             f"community '{s.community}' has no grid {code} (e.g. {known}); define it first "
                             "(yishi grid define)")
    if grid.retired_at is not None:
        raise StructureError(f"网格 {code} 已于 {grid.retired_at:%Y-%m-%d} 撤销，不能再使用",
                             f"grid {code} was retired on {grid.retired_at:%Y-%m-%d}; it cannot be used")


def define_community(s: Structure, community: str, name: str, street: str, at: datetime,
                     by: str) -> list[StructureEvent]:
    if s.community:
        if (s.name, s.street) == (name.strip(), street.strip()):
            return []
        raise StructureError(f"社区“{community}”已建立（{s.name}，街道 {s.street}）",
                             f"community '{community}' is already defined ({s.name}, street {s.street})")
    return [CommunityDefined(at=at, by=by, community=_text(community, "社区编号", "community", 64),
                             name=_text(name, "社区名称", "community name"),
                             street=_text(street, "街道", "street", 64))]


def _defined(s: Structure) -> None:
    if not s.community:
        raise StructureError("社区尚未建立；请先导入网格表或运行 yishi grid community",
                             "the community is not defined yet; import a grid file or run yishi grid community")


def define_grid(s: Structure, code: str, name: str, at: datetime, by: str) -> list[StructureEvent]:
    _defined(s)
    check_code(code)
    name = _text(name or code, "网格名称", "grid name")
    grid = s.grids.get(code)
    if grid is not None and grid.retired_at is not None:
        raise StructureError(f"网格编号 {code} 曾用于已撤销的网格；编号不重复使用，请换一个",
                             f"grid code {code} belonged to a retired grid; codes are never reused, choose another")
    if grid is None:
        return [GridDefined(at=at, by=by, code=code, name=name)]
    return [] if grid.name == name else [GridRenamed(at=at, by=by, code=code, name=name)]


def retire_grid(s: Structure, code: str, reason: str, at: datetime, by: str) -> list[StructureEvent]:
    _live_grid(s, code)
    buildings = [p.building + (f"-{p.entrance}" if p.entrance else "") for p in s.buildings_of(code)]
    workers = [t.person for t in s.terms if t.grid == code and t.until is None]
    if buildings or workers:
        listed = "、".join((buildings + workers)[:10])
        raise StructureError(f"网格 {code} 仍有楼栋或人员（{listed}）；请先把它们调整到其他网格",
                             f"grid {code} still has buildings or people ({listed}); move them to another grid first")
    return [GridRetired(at=at, by=by, code=code, reason=_text(reason, "撤销理由", "reason", 500))]


def assign_building(s: Structure, building: str, entrance: str, grid: str, at: datetime, by: str,
                    address: str = "") -> list[StructureEvent]:
    _live_grid(s, grid)
    building = _text(building, "楼栋", "building", 32)
    entrance = entrance.strip()
    current = next((p for p in s.placements_at() if (p.building, p.entrance) == (building, entrance)), None)
    if current is not None and current.grid == grid and (not address or current.address == address.strip()):
        return []
    keep = address.strip() or (current.address if current else "")
    return [BuildingAssigned(at=at, by=by, building=building, entrance=entrance, grid=grid, address=keep[:200])]


def assign_worker(s: Structure, grid: str, role: str, person: str, at: datetime, by: str,
                  building: str = "") -> list[StructureEvent]:
    _live_grid(s, grid)
    person = _text(person, "人员（账号名）", "person (account name)")
    if role not in ("grid_worker", "building_head"):
        raise StructureError(f"岗位“{role}”无效：grid_worker（网格员）或 building_head（楼栋长）",
                             f"role '{role}' is not valid: grid_worker or building_head")
    if role == "building_head":
        if not building.strip():
            raise StructureError("楼栋长须注明楼栋", "a building head needs the building")
        if grid not in s.grids_of(building.strip()):
            raise StructureError(f"楼栋 {building} 不在网格 {grid}；请先调整楼栋所属网格",
                                 f"building {building} is not in grid {grid}; assign it to the grid first")
    building = building.strip() if role == "building_head" else ""
    if any(t.person == person for t in s.workers(grid, role=role) if t.building == building):
        return []
    return [WorkerAssigned(at=at, by=by, grid=grid, role=role, person=person, building=building)]  # type: ignore[arg-type]


def unassign_worker(s: Structure, grid: str, role: str, person: str, reason: str, at: datetime, by: str,
                    building: str = "") -> list[StructureEvent]:
    building = building.strip() if role == "building_head" else ""
    if not any(t.person == person and t.building == building for t in s.workers(grid, role=role)):
        raise StructureError(f"{person} 现在不是网格 {grid} 的{'网格员' if role == 'grid_worker' else '楼栋长'}",
                             f"{person} is not a {role} of grid {grid} now")
    return [WorkerUnassigned(at=at, by=by, grid=grid, role=role, person=person, building=building,  # type: ignore[arg-type]
                             reason=reason.strip()[:500])]


def define_party_org(s: Structure, org: PartyOrgDefined) -> list[StructureEvent]:
    """网格党支部 on a live grid; 楼栋党小组 on a building, under a branch; 党员中心户 on a room, under a group."""
    _defined(s)
    _text(org.org_id, "党组织编号", "party organisation id", 64)
    _text(org.name, "党组织名称", "party organisation name")
    want = PARTY_PARENT[org.kind]
    parent = s.party.get(org.parent) if org.parent else None
    if want is None and org.parent:
        raise StructureError("网格党支部不设上级（上级是社区党组织）", "a grid party branch has no parent here")
    if want is not None and (parent is None or parent.kind != want or parent.until is not None):
        raise StructureError(f"“{org.name}”的上级应为现有的{_KIND_ZH[want]}（{org.parent or '未填写'}）",
                             f"'{org.name}' needs a live {want} as its parent (got {org.parent or 'none'})")
    if org.kind == "grid_branch":
        _live_grid(s, org.grid)
    if org.kind == "building_group" and not org.building.strip():
        raise StructureError("楼栋党小组须注明楼栋", "a building party group needs its building")
    if org.kind == "member_household" and not org.room.strip():
        raise StructureError("党员中心户须注明房号", "a party member household needs its room")
    existing = s.party.get(org.org_id)
    if existing is not None and existing.until is None:
        same = (existing.kind, existing.name, existing.parent, existing.grid, existing.building, existing.room,
                existing.leader) == (org.kind, org.name, org.parent, org.grid, org.building, org.room, org.leader)
        if same:
            return []
    return [org]


_KIND_ZH = {"grid_branch": "网格党支部", "building_group": "楼栋党小组", "member_household": "党员中心户"}


def retire_party_org(s: Structure, org_id: str, reason: str, at: datetime, by: str) -> list[StructureEvent]:
    org = s.party.get(org_id)
    if org is None or org.until is not None:
        raise StructureError(f"没有现存的党组织 {org_id}", f"no live party organisation {org_id}")
    children = [o.org_id for o in s.party.values() if o.parent == org_id and o.until is None]
    if children:
        raise StructureError(f"{org.name} 下还有 {'、'.join(children[:5])}；请先撤销或调整它们",
                             f"{org.name} still has {', '.join(children[:5])} under it; retire or move them first")
    return [PartyOrgRetired(at=at, by=by, org_id=org_id, reason=reason.strip()[:500])]


def version_ladder(s: Structure, spec: LadderVersion, at: datetime, by: str) -> list[StructureEvent]:
    """A new version of the community's ladder (numbered after the last); tickets already open keep theirs."""
    _defined(s)
    if problems := ladder_problems(spec):
        raise StructureError("；".join(p[0] for p in problems), "; ".join(p[1] for p in problems))
    current = s.ladder_at()
    number = (current.version if current else 0) + 1
    if current is not None and current.model_copy(update={"version": 0}) == spec.model_copy(update={"version": 0}):
        return []
    return [LadderVersioned(at=at, by=by, ladder=spec.model_copy(update={"version": number}))]
