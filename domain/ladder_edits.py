"""Adding and removing the levels of a community's ladder (issue 19), pure.

A level is picked from a fixed list of organisations (:data:`LEVEL_KINDS`): the ticket's grid, the community party
committee, the community party secretary, the street office, and the district department of the ticket's category.
Each kind brings its key, organisation, names and the roles that act for it, so a level never lacks an
organisation or names one that nobody acts for. Removing a level also removes the deadlines its categories had at
it. The result is checked as any version is (domain/ladders.py ``ladder_problems``) when it is recorded.
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.errors import N_, Items, Label
from domain.escalation import ACK_DEFAULT, RESOLVE_DEFAULT, Level, default_ladder
from domain.joint import JointSpec
from domain.ladders import LadderVersion, secretary_level
from domain.structure_commands import StructureError

LEVEL_KINDS = ("grid", "community", "secretary", "street", "department")
"""The organisations a level may be: the order is the list's on the page."""
FIRST = "first"
"""``after``: the new level goes to the bottom of the ladder (the first a ticket reaches)."""


def level_template(community: str, kind: str) -> Level:
    """The level of ``kind`` with its organisation, names, roles and the default periods."""
    if kind == "secretary":
        return secretary_level(community)
    for level in default_ladder(community).levels:
        if level.key == kind:
            return level
    raise StructureError(N_("the new level has no organisation from the list; pick one of %(valid)s"),
                         valid=Items(Label("level", k) for k in LEVEL_KINDS))


def add_level(spec: LadderVersion, community: str, kind: str, after: str, ack: str = "",
              resolve: str = "") -> LadderVersion:
    """``spec`` with the level of ``kind`` placed after the level ``after`` (or :data:`FIRST`); empty periods are
    the defaults. Refused: a kind not on the list, a kind the ladder has already, ``after`` not on the ladder."""
    keys = [lv.key for lv in spec.levels]
    if kind in keys:
        raise StructureError(N_("the ladder has level '%(level)s' already; change its periods in its row, or "
                                "remove it first to move it"), level=Label("level", kind))
    level = level_template(community, kind).model_copy(update={"ack": ack.strip() or ACK_DEFAULT,
                                                               "resolve": resolve.strip() or RESOLVE_DEFAULT})
    if after != FIRST and after not in keys:
        raise StructureError(N_("the new level goes after a level the ladder does not have; pick one of the list"))
    at = 0 if after == FIRST else keys.index(after) + 1
    return spec.model_copy(update={"levels": (*spec.levels[:at], level, *spec.levels[at:])})


def remove_levels(spec: LadderVersion, keys: Iterable[str]) -> LadderVersion:
    """``spec`` without the levels ``keys`` and the categories' deadlines at them (an empty ladder is refused
    when it is recorded: ``ladder_problems``)."""
    gone = set(keys)
    if not gone:
        return spec
    table = {category: {k: d for k, d in by_level.items() if k not in gone}
             for category, by_level in spec.deadlines.items()}
    return spec.model_copy(update={"levels": tuple(lv for lv in spec.levels if lv.key not in gone),
                                   "deadlines": {c: by for c, by in table.items() if by}})


def remove_deadline(spec: LadderVersion, category: str, level: str) -> LadderVersion:
    """``spec`` without the category's own periods at ``level`` (the level's periods apply again). Refused if the
    version has none there."""
    by_level = spec.deadlines.get(category, {})
    if level not in by_level:
        raise StructureError(N_("the ladder has no periods of its own for category '%(category)s' at level "
                                "'%(level)s'; nothing to remove"), category=Label("category", category),
                             level=Label("level", level))
    table = {c: {k: d for k, d in by.items() if (c, k) != (category, level)} for c, by in spec.deadlines.items()}
    return spec.model_copy(update={"deadlines": {c: by for c, by in table.items() if by}})


def supervisors(spec: LadderVersion) -> dict[str, tuple[str, str]]:
    """The organisations a late part of a joint ticket may move to, by id, with their names (zh, en): the version's
    own, the district supervision office, the street office and the version's departments."""
    default = JointSpec()
    street = next(lv for lv in default_ladder("").levels if lv.key == "street")
    found = {spec.joint.supervisor: (spec.joint.supervisor_zh, spec.joint.supervisor_en),
             default.supervisor: (default.supervisor_zh, default.supervisor_en),
             street.org: (street.name_zh, street.name_en)}
    for dept in spec.departments.values():
        found.setdefault(dept.org, (dept.name_zh, dept.name_en))
    return found


def with_supervisor(spec: LadderVersion, org: str) -> LadderVersion:
    """``spec`` whose late parts move to ``org`` (one of :func:`supervisors`, named as listed there)."""
    listed = supervisors(spec)
    if org not in listed:
        raise StructureError(N_("a late part goes to an organisation that is not on the list; pick one of the list"))
    zh, en = listed[org]
    return spec.model_copy(update={"joint": spec.joint.model_copy(update={"supervisor": org, "supervisor_zh": zh,
                                                                          "supervisor_en": en})})
