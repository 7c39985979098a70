"""The escalation ladder of a community edited in the console (issue 19): each level's acknowledge and resolve
periods, a category's own periods at a level, and the parts' periods and supervisor (吹哨报到). Saving records a
new version (``LadderVersioned`` in ``structure-<community>``, with the account as ``by``); a ticket keeps the
version it started with. Every problem of the ladder is refused with what to change (domain/ladders.py
``ladder_problems``). The wall is the structure page's (yishi/web/structure.py: the console's community rule).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from activities.routing import ladder_at
from domain.errors import N_
from domain.ladder_edits import FIRST, add_level, remove_deadline, remove_levels, with_supervisor
from domain.ladders import Deadline, LadderVersion
from domain.structure_commands import StructureError
from yishi.services import structure
from yishi.services.console import may_see_community
from yishi.web.render import message_page, page_translator
from yishi.web.staff import staff_form
from yishi.web.structure import STRUCTURE_ROLES, page, structure_path
from yishi.web.voter import UNAVAILABLE, clock, unavailable

router = APIRouter()
PERIOD_CHARS = 16
MAX_FIELDS = 80
"""The ladder form's fields with every level on it (the CSRF pair, three a level, four to add one, four for a
category's periods, three for the parts, a box for each category's own periods) with room to spare."""


async def current_ladder(pool: asyncpg.Pool, community: str, at: datetime) -> LadderVersion:
    async with pool.acquire() as conn:
        return await ladder_at(conn, community, at)


def edited(spec: LadderVersion, form: dict[str, str], community: str) -> LadderVersion:
    """``spec`` with the periods the form gives: ``ack-<level>`` / ``resolve-<level>``, the levels ticked
    ``remove-<level>`` removed, the categories' own periods ticked ``unset-<category>:<level>`` removed, a level
    added (``add_kind`` from the list, placed after ``add_after``, with ``add_ack`` / ``add_resolve``), one
    category's periods at one level (``category``, ``level``, ``ack``, ``resolve``), and the parts'
    ``joint_report`` / ``joint_resolve`` / ``joint_supervisor`` (one of the list of ``supervisors``); a field left
    empty keeps what the version had. Raises StructureError for a level or a supervisor that is not on the list."""
    def field(name: str, default: str) -> str:
        return form.get(name, "").strip()[:PERIOD_CHARS] or default

    levels = tuple(level.model_copy(update={"ack": field(f"ack-{level.key}", level.ack),
                                            "resolve": field(f"resolve-{level.key}", level.resolve)})
                   for level in spec.levels)
    for category, by_level in spec.deadlines.items():
        for key in by_level:
            if form.get(f"unset-{category}:{key}"):
                spec = remove_deadline(spec, category, key)
    spec = remove_levels(spec.model_copy(update={"levels": levels}),
                         [lv.key for lv in levels if form.get(f"remove-{lv.key}")])
    kind, add_ack, add_resolve = (form.get(name, "").strip()[:PERIOD_CHARS] for name in ("add_kind", "add_ack",
                                                                                         "add_resolve"))
    if kind or add_ack or add_resolve:
        spec = add_level(spec, community, kind, form.get("add_after", FIRST).strip()[:32] or FIRST, add_ack,
                         add_resolve)
    levels = spec.levels
    table = {c: dict(by_level) for c, by_level in spec.deadlines.items()}
    category, level = form.get("category", "").strip()[:64], form.get("level", "").strip()[:32]
    if category and level and (form.get("ack", "").strip() or form.get("resolve", "").strip()):
        before = table.get(category, {}).get(level, Deadline())
        table.setdefault(category, {})[level] = Deadline(ack=field("ack", before.ack),
                                                         resolve=field("resolve", before.resolve))
    joint = spec.joint.model_copy(update={"report": field("joint_report", spec.joint.report),
                                          "resolve": field("joint_resolve", spec.joint.resolve)})
    spec = spec.model_copy(update={"levels": levels, "deadlines": table, "joint": joint})
    supervisor = form.get("joint_supervisor", "").strip()[:100]
    return with_supervisor(spec, supervisor) if supervisor and supervisor != spec.joint.supervisor else spec


@router.post("/console/structure/{community}/ladder")
async def save_ladder(request: Request, community: str) -> Response:
    posted = await staff_form(request, *STRUCTURE_ROLES, max_fields=MAX_FIELDS)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    if not may_see_community(staff.account, community):
        return message_page(request, 404, N_("Page not found"))
    now = clock(request)
    try:
        spec = edited(await current_ladder(request.app.state.pool, community, now), form, community)
        await structure.change(request.app.state.store, request.app.state.pool, community,
                               structure.ladder(spec, now, f"{staff.account.role} {staff.account.name}"))
    except StructureError as exc:
        return await page(request, staff, community, 422, errors=[page_translator(request).error(exc)])
    except UNAVAILABLE:
        return unavailable(request)
    return RedirectResponse(structure_path(community), status_code=303)
