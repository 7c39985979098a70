"""A community's escalation ladder as versioned data (issue 19), pure.

A :class:`LadderVersion` is what ``LadderVersioned`` records in the community's structure stream: the levels
(organisations, the roles that act for them, their default deadlines), the departments by category, deadlines
per category and level, the 书记直通车 level (the community party secretary, reached without the grid) and the
spec of a joint ticket's parts (吹哨报到: report-in and resolve periods, and the supervisor a part escalates to).

A ticket resolves its levels once, when it opens, from the version current then (:meth:`LadderVersion.levels_for`),
and records them with the version's number: later versions never change a ticket that has started.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from domain.escalation import (
    ACK_DEFAULT,
    DEFAULT_DEPARTMENTS,
    RESOLVE_DEFAULT,
    Department,
    EscalationError,
    Ladder,
    Level,
    default_ladder,
)
from domain.joint import JointSpec
from domain.procedures import PeriodError, parse_period

LEVEL_ROLES = ("grid_worker", "committee", "party_secretary", "street_office", "department")
CHANNELS = ("resident", "grid_report", "secretary", "hotline", "topic", "deliberation")
"""Where a ticket came from: a resident's complaint filed at the desk or through their link, a grid worker's own
report, 书记直通车 (straight to the community party secretary), the 12345 hotline, a topic routed to the ladder, a
deliberation's objection or hand-over."""


class Deadline(BaseModel):
    """A level's two periods for one category (``PT24H``, ``5wd`` …, see domain/procedures.py)."""

    model_config = ConfigDict(frozen=True)
    ack: str = ACK_DEFAULT
    resolve: str = RESOLVE_DEFAULT


def secretary_level(community: str) -> Level:
    return Level(key="secretary", org=f"secretary:{community}", name_zh="社区党组织书记（书记直通车）",
                 name_en="Community party secretary (direct line)", roles=("party_secretary",))


def grid_org(community: str, code: str) -> str:
    """The organisation of one grid: its workers act for it (``grid:<community>:<code>``)."""
    return f"grid:{community}:{code}"


class LadderVersion(BaseModel):
    model_config = ConfigDict(frozen=True)
    version: int = 0
    """0: the built-in default (no ``LadderVersioned`` recorded yet)."""
    levels: tuple[Level, ...]
    departments: dict[str, Department] = Field(default_factory=lambda: dict(DEFAULT_DEPARTMENTS))
    deadlines: dict[str, dict[str, Deadline]] = Field(default_factory=dict)
    """category -> level key -> periods; a level not named keeps its own ``ack`` / ``resolve``."""
    secretary: Level | None = None
    """The 书记直通车 level; None: :func:`secretary_level`."""
    joint: JointSpec = JointSpec()

    def ladder(self) -> Ladder:
        return Ladder(levels=self.levels, departments=self.departments)

    def levels_for(self, community: str, category: str, *, channel: str = "resident",
                   grid: str | None = None) -> tuple[Level, ...]:
        """The levels a ticket of ``category`` climbs: the department named for its category, the deadlines for
        its category, the grid level owned by ``grid`` (a grid code; else the community-wide grid organisation),
        and for 书记直通车 the secretary's level in place of the grid and the community levels."""
        levels = self.ladder().for_category(category)
        periods = self.deadlines.get(category, {})
        resolved = []
        for level in levels:
            if level.key in periods:
                level = level.model_copy(update=periods[level.key].model_dump())
            if level.key == "grid" and grid:
                level = level.model_copy(update={"org": grid_org(community, grid)})
            resolved.append(level)
        if channel != "secretary":
            return tuple(resolved)
        top = self.secretary or secretary_level(community)
        if "secretary" in periods:
            top = top.model_copy(update=periods["secretary"].model_dump())
        rest = [lv for lv in resolved if lv.key not in ("grid", "community", "secretary")]
        return (top, *rest)


def default_version(community: str) -> LadderVersion:
    ladder = default_ladder(community)
    return LadderVersion(version=0, levels=ladder.levels, departments=dict(ladder.departments))


def from_ladder(ladder: Ladder, version: int = 0) -> LadderVersion:
    """A ladder set before versions existed (the ``escalation_ladders`` table) as a version."""
    return LadderVersion(version=version, levels=ladder.levels, departments=dict(ladder.departments))


def ladder_problems(spec: LadderVersion) -> list[tuple[str, str]]:
    """Every problem of a ladder as written (zh, en): empty, repeated level keys, unknown roles, bad periods,
    deadlines for a category or level the ladder does not have."""
    problems: list[tuple[str, str]] = []
    keys = [lv.key for lv in spec.levels]
    if not keys:
        problems.append(("阶梯至少要有一个层级", "the ladder needs at least one level"))
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        problems.append((f"层级“{key}”出现了不止一次", f"level '{key}' appears more than once"))
    for level in (*spec.levels, *(x for x in [spec.secretary] if x)):
        bad = [r for r in level.roles if r not in LEVEL_ROLES]
        if bad or not level.roles:
            problems.append((f"层级“{level.key}”的角色 {bad or '（空）'} 无效；可选：{'、'.join(LEVEL_ROLES)}",
                             f"level '{level.key}' has invalid roles {bad or '(none)'}; valid: "
                             f"{', '.join(LEVEL_ROLES)}"))
        if level.key != "department" and not level.org:
            problems.append((f"层级“{level.key}”没有办理单位", f"level '{level.key}' names no organisation"))
        problems += _period_problems(f"层级“{level.key}”", f"level '{level.key}'", level.ack, level.resolve)
    if "department" in keys and not spec.departments:
        problems.append(("有“department”层级却没有任何部门", "a 'department' level but no departments"))
    for category, by_level in spec.deadlines.items():
        if category not in spec.departments:
            problems.append((f"期限中的事项类别“{category}”不在部门列表中",
                             f"deadlines name category '{category}', which has no department"))
        for key, periods in by_level.items():
            if key not in keys and key != "secretary":
                problems.append((f"类别“{category}”的期限指向不存在的层级“{key}”",
                                 f"category '{category}' has deadlines for level '{key}', which is not on the ladder"))
            problems += _period_problems(f"类别“{category}”层级“{key}”", f"category '{category}' level '{key}'",
                                         periods.ack, periods.resolve)
    problems += _period_problems("吹哨报到", "joint parts", spec.joint.report, spec.joint.resolve)
    return problems


def _period_problems(where_zh: str, where_en: str, *texts: str) -> list[tuple[str, str]]:
    out = []
    for text in texts:
        try:
            parse_period(text)
        except PeriodError as exc:
            out.append((f"{where_zh}：{exc.zh}", f"{where_en}: {exc.en}"))
    return out


def check_ladder(spec: LadderVersion) -> None:
    """Raise :class:`EscalationError` listing every problem of ``spec``."""
    if problems := ladder_problems(spec):
        raise EscalationError("；".join(p[0] for p in problems), "; ".join(p[1] for p in problems))
