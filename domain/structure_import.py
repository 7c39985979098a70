"""Importing a street's grids from CSV or XLSX (issue 19), pure: the file's rows checked all at once, then the
structure events each community's stream needs (none for what is already there).

One row per building (or per entrance, when a building's entrances belong to different grids): the community,
the grid's code and name, the building, its grid workers and building head, and the party organisation chain
(网格党支部 of the grid, 楼栋党小组 of the building, 党员中心户 rooms). Importing adds and moves; it never removes
a grid, a worker or a party organisation that the file leaves out (those are separate, recorded acts).

Bounds, as the roll importer keeps them (domain/filelimits.py, docs/security/hostile-files.md): the file's size, an
XLSX archive checked from its directory before it is opened, the number of rows, the length of every cell.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from domain.errors import N_, FileIssuesError, Issue, IssueLog, Text
from domain.filelimits import FileLimits
from domain.structure import (
    GRID_CODE,
    BuildingAssigned,
    CommunityDefined,
    GridDefined,
    GridRenamed,
    PartyOrgDefined,
    Structure,
    StructureEvent,
    WorkerAssigned,
)
from domain.tabular import read_table

REQUIRED = ("community", "grid_code", "building")
OPTIONAL = ("community_name", "grid_name", "entrance", "address", "grid_worker", "building_head", "party_branch",
            "party_group", "member_household")
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "community": ("社区", "社区编号"),
    "community_name": ("社区名称",),
    "grid_code": ("网格编号", "网格编码", "网格代码"),
    "grid_name": ("网格名称",),
    "building": ("楼栋", "楼号", "楼栋号", "栋号", "幢号"),
    "entrance": ("单元", "单元号"),
    "address": ("地址", "楼栋地址"),
    "grid_worker": ("网格员",),
    "building_head": ("楼栋长", "楼长"),
    "party_branch": ("网格党支部", "党支部"),
    "party_group": ("楼栋党小组", "党小组"),
    "member_household": ("党员中心户",),
}
GRID_LIMITS = FileLimits(max_rows=50_000, max_cell_chars=200)
"""A street's grid file: one row per building (entrance); a street has thousands, not hundreds of thousands."""
SPLIT = re.compile(r"[、,，;；/\s]+")
TEMPLATE = ("社区,社区名称,网格编号,网格名称,楼栋,单元,地址,网格员,楼栋长,网格党支部,楼栋党小组,党员中心户\r\n"
            "xfl,幸福里社区,XFL-01-01,幸福里一网格,1,,幸福路1号楼,王网格,李楼长,幸福里一网格党支部,1号楼党小组,1-1-101\r\n"
            "xfl,幸福里社区,XFL-01-01,幸福里一网格,2,1,幸福路2号楼,王网格,赵楼长,幸福里一网格党支部,2号楼党小组,\r\n"
            "xfl,幸福里社区,XFL-01-02,幸福里二网格,2,2,幸福路2号楼,钱网格,,,,\r\n")


class StructureImportError(FileIssuesError):
    """The grid file has errors; ``issues`` names every row and column to correct."""


@dataclass
class ImportPlan:
    events: dict[str, list[StructureEvent]] = field(default_factory=dict)
    rows: int = 0
    communities: int = 0
    grids: int = 0
    buildings: int = 0

    def count(self, kind: type) -> int:
        return sum(isinstance(e, kind) for events in self.events.values() for e in events)


def read_rows(data: bytes, filename: str, limits: FileLimits = GRID_LIMITS
              ) -> tuple[list[tuple[int, dict[str, str]]], dict[str, str], IssueLog]:
    """The file's rows, the headers as written and the problems found in its cells, read within ``limits``
    (domain/filelimits.py: bytes, the XLSX archive, rows, cell length); a file over them raises
    :class:`StructureImportError` at once."""
    table = read_table(data, filename, REQUIRED, OPTIONAL, StructureImportError, HEADER_ALIASES, limits)
    rows = list(table.rows)
    return rows, {c: table.header(c) for c in (*REQUIRED, *OPTIONAL)}, table.issues


def _row_issues(filename: str, number: int, cells: Mapping[str, str], head: Mapping[str, str]) -> list[Issue]:
    issues = []
    for column in REQUIRED:
        if not cells.get(column, "").strip():
            issues.append(Issue(file=filename, row=number, column=head[column], code="empty",
                                text=Text(N_("%(column)s is empty; fill it in and import again"),
                                          column=head[column])))
    code = cells.get("grid_code", "").strip()
    if code and not GRID_CODE.match(code):
        issues.append(Issue(file=filename, row=number, column=head["grid_code"], code="grid-code",
                            text=Text(N_("grid code '%(code)s' is not valid: upper-case letters and digits in "
                                         "dash-separated groups, e.g. JC-03-07"), code=code)))
    if cells.get("party_group", "").strip() and not cells.get("party_branch", "").strip():
        issues.append(Issue(file=filename, row=number, column=head["party_group"], code="party-chain",
                            text=Text(N_("a building party group without its grid party branch; fill in the "
                                         "branch"))))
    if cells.get("member_household", "").strip() and not cells.get("party_group", "").strip():
        issues.append(Issue(file=filename, row=number, column=head["member_household"], code="party-chain",
                            text=Text(N_("party member households without their building party group; fill in "
                                         "the group"))))
    return issues


def _consistency(filename: str, rows: list[tuple[int, dict[str, str]]], head: Mapping[str, str]) -> list[Issue]:
    """One name per grid and per community, one row per building (entrance) in a community."""
    issues: list[Issue] = []
    grid_name: dict[tuple[str, str], tuple[int, str]] = {}
    place: dict[tuple[str, str, str], int] = {}
    for number, c in rows:
        community, code, name = c["community"].strip(), c["grid_code"].strip(), c.get("grid_name", "").strip()
        if name:
            first = grid_name.setdefault((community, code), (number, name))
            if first[1] != name:
                issues.append(Issue(file=filename, row=number, column=head["grid_name"], code="grid-name",
                                    text=Text(N_("grid %(code)s is named '%(first)s' on row %(row)s and "
                                                 "'%(name)s' here; use one name"), code=code, first=first[1],
                                              row=first[0], name=name)))
        key = (community, c["building"].strip(), c.get("entrance", "").strip())
        if key[1] and key in place:
            shown = key[1] + (f"-{key[2]}" if key[2] else "")
            issues.append(Issue(file=filename, row=number, column=head["building"], code="duplicate-building",
                                text=Text(N_("building %(building)s is already on row %(row)s; one row per "
                                             "building (entrance)"), building=shown, row=place[key])))
        place.setdefault(key, number)
    return issues


def _people(text: str) -> list[str]:
    return [p for p in SPLIT.split(text.strip()) if p]


class _Planner:
    """The events of one community's rows, against its structure as it stands."""

    def __init__(self, s: Structure, community: str, street: str, at: datetime, by: str) -> None:
        self.s, self.community, self.street, self.at, self.by = s, community, street, at, by
        self.events: list[StructureEvent] = []
        self.places = {(p.building, p.entrance): p for p in s.placements_at()}
        self.terms = {(t.grid, t.role, t.person, t.building) for t in s.terms if t.until is None}
        self.grids = {code: g.name for code, g in s.grids.items()}
        self.party = {o.org_id: o for o in s.party.values() if o.until is None}

    def add(self, event: StructureEvent) -> None:
        self.events.append(event)

    def community_named(self, name: str) -> None:
        if not self.s.community:
            self.add(CommunityDefined(at=self.at, by=self.by, community=self.community, name=name or self.community,
                                      street=self.street))

    def grid(self, code: str, name: str) -> None:
        if code not in self.grids:
            self.add(GridDefined(at=self.at, by=self.by, code=code, name=name or code))
        elif name and self.grids[code] != name:
            self.add(GridRenamed(at=self.at, by=self.by, code=code, name=name))
        self.grids[code] = name or self.grids.get(code) or code

    def building(self, c: Mapping[str, str], code: str) -> None:
        key = (c["building"].strip(), c.get("entrance", "").strip())
        address = c.get("address", "").strip()
        now = self.places.get(key)
        if now is None or now.grid != code or (address and now.address != address):
            self.add(BuildingAssigned(at=self.at, by=self.by, building=key[0], entrance=key[1], grid=code,
                                      address=address or (now.address if now else "")))

    def worker(self, code: str, role: str, person: str, building: str = "") -> None:
        key = (code, role, person, building)
        if key not in self.terms:
            self.terms.add(key)
            self.add(WorkerAssigned(at=self.at, by=self.by, grid=code, role=role, person=person,  # type: ignore[arg-type]
                                    building=building))

    def party_org(self, org: PartyOrgDefined) -> None:
        now = self.party.get(org.org_id)
        if now is None or (now.name, now.parent, now.grid, now.building, now.room) != (
                org.name, org.parent, org.grid, org.building, org.room):
            self.party[org.org_id] = org  # type: ignore[assignment]
            self.add(org)

    def row(self, c: Mapping[str, str]) -> None:
        code, building = c["grid_code"].strip(), c["building"].strip()
        self.grid(code, c.get("grid_name", "").strip())
        self.building(c, code)
        for person in _people(c.get("grid_worker", "")):
            self.worker(code, "grid_worker", person)
        for person in _people(c.get("building_head", "")):
            self.worker(code, "building_head", person, building)
        self.party_row(c, code, building)

    def party_row(self, c: Mapping[str, str], code: str, building: str) -> None:
        branch, group = c.get("party_branch", "").strip(), c.get("party_group", "").strip()
        common = {"at": self.at, "by": self.by}
        if branch:
            self.party_org(PartyOrgDefined(**common, org_id=f"branch:{code}", kind="grid_branch", name=branch,
                                           grid=code))
        if group:
            self.party_org(PartyOrgDefined(**common, org_id=f"group:{code}:{building}", kind="building_group",
                                           name=group, parent=f"branch:{code}", grid=code, building=building))
            for room in _people(c.get("member_household", "")):
                self.party_org(PartyOrgDefined(**common, org_id=f"household:{room}", kind="member_household",
                                               name=f"党员中心户 {room}", parent=f"group:{code}:{building}",
                                               grid=code, building=building, room=room))


def _retired_codes(filename: str, rows: Iterable[tuple[int, dict[str, str]]], states: Mapping[str, Structure],
                   head: Mapping[str, str]) -> list[Issue]:
    issues = []
    for number, c in rows:
        grid = states.get(c["community"].strip(), Structure()).grids.get(c["grid_code"].strip())
        if grid is not None and grid.retired_at is not None:
            issues.append(Issue(file=filename, row=number, column=head["grid_code"], code="grid-retired",
                                text=Text(N_("grid code %(code)s belonged to a retired grid; codes are never "
                                             "reused, choose another"), code=grid.code)))
    return issues


Table = tuple[list[tuple[int, dict[str, str]]], dict[str, str], list[Issue]]
"""A grid file as read: its rows (numbered as Excel shows them), its headers as written, its cells' problems."""


def read_grid_file(data: bytes, filename: str) -> Table:
    rows, head, log = read_rows(data, filename)
    return rows, head, list(log.issues())


def plan_import(data: bytes | Table, filename: str, states: Mapping[str, Structure], *, street: str, at: datetime,
                by: str) -> ImportPlan:
    """The events per community that bring ``states`` to what the file says (its bytes, or the file as read in a
    child process: yishi/services/rollparse.py ``parse_grid_isolated``); every problem at once."""
    rows, head, found = read_grid_file(data, filename) if isinstance(data, bytes) else data
    issues = IssueLog()
    issues.extend(found)
    for number, cells in rows:
        issues.extend(_row_issues(filename, number, cells, head))
    if not issues:
        issues.extend(_consistency(filename, rows, head) + _retired_codes(filename, rows, states, head))
    issues.raise_if_any(StructureImportError)
    plan = ImportPlan(rows=len(rows))
    planners: dict[str, _Planner] = {}
    for _, c in rows:
        community = c["community"].strip()
        planner = planners.get(community)
        if planner is None:
            planner = planners[community] = _Planner(states.get(community, Structure()), community, street, at, by)
            planner.community_named(c.get("community_name", "").strip())
        planner.row(c)
    plan.events = {community: p.events for community, p in planners.items() if p.events}
    plan.communities = len(planners)
    plan.grids = len({(c["community"].strip(), c["grid_code"].strip()) for _, c in rows})
    plan.buildings = len({(c["community"].strip(), c["building"].strip()) for _, c in rows})
    return plan
