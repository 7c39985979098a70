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

from domain.errors import N_, Items, Label, Text
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


def ladder_problems(spec: LadderVersion) -> list[Text]:
    """Every problem of a ladder as written: empty, repeated level keys, unknown roles, bad periods, deadlines for
    a category or level the ladder does not have."""
    problems: list[Text] = []
    keys = [lv.key for lv in spec.levels]
    if not keys:
        problems.append(Text(N_("the ladder needs at least one level; keep one or add one from the list")))
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        problems.append(Text(N_("level '%(level)s' appears more than once"), level=Label("level", key)))
    for level in (*spec.levels, *(x for x in [spec.secretary] if x)):
        bad = [r for r in level.roles if r not in LEVEL_ROLES]
        if bad or not level.roles:
            problems.append(Text(N_("level '%(level)s' has invalid roles %(bad)s; valid: %(valid)s"),
                                 level=Label("level", level.key),
                                 bad=Items(bad) or Text(N_("none")),
                                 valid=Items(Label("role", r) for r in LEVEL_ROLES)))
        if level.key != "department" and not level.org:
            problems.append(Text(N_("level '%(level)s' names no organisation; pick one from the list"),
                                 level=Label("level", level.key)))
        problems += _period_problems(Text(N_("level '%(level)s'"), level=Label("level", level.key)), level.ack,
                                     level.resolve)
    if "department" in keys and not spec.departments:
        problems.append(Text(N_("a 'department' level but no departments")))
    for category, by_level in spec.deadlines.items():
        if category not in spec.departments:
            problems.append(Text(N_("deadlines name category '%(category)s', which has no department"),
                                 category=category))
        for key, periods in by_level.items():
            if key not in keys and key != "secretary":
                problems.append(Text(N_("category '%(category)s' has deadlines for level '%(level)s', which is not "
                                        "on the ladder"), category=Label("category", category),
                                     level=Label("level", key)))
            problems += _period_problems(Text(N_("category '%(category)s' level '%(level)s'"),
                                              category=Label("category", category), level=Label("level", key)),
                                         periods.ack, periods.resolve)
    problems += _period_problems(Text(N_("joint parts")), spec.joint.report, spec.joint.resolve)
    return problems


def _period_problems(where: Text, *texts: str) -> list[Text]:
    out = []
    for text in texts:
        try:
            parse_period(text)
        except PeriodError as exc:
            out.append(Text(N_("%(where)s: %(problem)s"), where=where, problem=exc.text))
    return out


def problems_text(problems: list[Text]) -> Text:
    """Every problem of a ladder in one message."""
    return Text(N_("the ladder cannot be used: %(problems)s"), problems=Items(problems))


def check_ladder(spec: LadderVersion) -> None:
    """Raise :class:`EscalationError` listing every problem of ``spec``."""
    if problems := ladder_problems(spec):
        raise EscalationError(problems_text(problems))
