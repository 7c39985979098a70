"""The street office's console of a community's structure (issue 19): its grids with their numbered codes, the
buildings each covers, the grid workers and building heads, and the party organisation chain, edited in the
browser one change at a time.

Every change is an event in the community's stream ``structure-<community>`` (yishi/services/structure.py), with
the account (role and name) as ``by`` and the moment it was made as ``at``; a refusal is shown on the page with
what to do. The wall is the console's community rule (services/console.py ``may_see_community``): a
community-bound account (a committee) sees and changes its own community only; a street office any of them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from activities.routing import ladder_at
from domain.errors import N_
from domain.ladder_edits import LEVEL_KINDS, supervisors
from domain.structure import PartyOrgDefined
from domain.structure_commands import StructureError
from yishi.services import structure
from yishi.services.console import home_community, may_see_community
from yishi.services.structure_view import structure_doc
from yishi.web.render import message_page, page_translator, render
from yishi.web.staff import Staff, require, staff_form
from yishi.web.voter import UNAVAILABLE, clock, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
STRUCTURE_ROLES = ("street_office", "committee")
WORKER_ROLES = ("grid_worker", "building_head")
PARTY_KINDS = ("grid_branch", "building_group", "member_household")
FIELDS = ("op", "code", "name", "building", "entrance", "grid", "address", "person", "role", "reason", "kind",
          "org_id", "parent", "room", "street")


def structure_path(community: str) -> str:
    return f"/console/structure?community={quote(community)}"


async def _communities(request: Request, staff: Staff) -> list[tuple[str, str]]:
    home = home_community(staff.account)
    async with request.app.state.pool.acquire() as conn:
        rows = await conn.fetch("SELECT community, name FROM structure_communities"
                                " WHERE $1::text IS NULL OR community = $1 ORDER BY community", home)
    return [(r["community"], r["name"]) for r in rows]


async def page(request: Request, staff: Staff, community: str | None, status: int = 200, *,
               errors: list[str] | None = None, values: dict[str, str] | None = None,
               imported: dict[str, object] | None = None) -> Response:
    try:
        communities = await _communities(request, staff)
        doc = None
        ladder = None
        if community:
            state, _ = await structure.load_structure(request.app.state.store, community)
            doc = structure_doc(state) if state.community else None
            async with request.app.state.pool.acquire() as conn:
                ladder = await ladder_at(conn, community, clock(request)) if doc else None
    except UNAVAILABLE:
        return unavailable(request)
    return render(request, "console_structure.html", status, no_store=True, staff=staff, logout=staff.form(),
                  form=staff.form(), communities=communities, community=community, doc=doc, errors=errors or [],
                  values=values or {}, worker_roles=WORKER_ROLES, party_kinds=PARTY_KINDS,
                  home=home_community(staff.account), imported=imported, ladder=ladder,
                  level_kinds=LEVEL_KINDS, supervisors=supervisors(ladder) if ladder else {})


@router.get("/console/structure")
async def show_structure(request: Request) -> Response:
    """The community's grids, buildings, workers and party organisation as they stand now (``?community=``)."""
    staff = await require(request, *STRUCTURE_ROLES)
    if isinstance(staff, Response):
        return staff
    community = request.query_params.get("community", "").strip()[:64] or home_community(staff.account)
    if community and not may_see_community(staff.account, community):
        return message_page(request, 404, N_("Page not found"))
    return await page(request, staff, community)


def _decide(op: str, f: dict[str, str], at: datetime, by: str) -> Callable[..., Any] | None:
    """The change the form asks for (yishi/services/structure.py), or None for an unknown ``op``."""
    match op:
        case "community":
            return structure.community(f["community"], f["name"], f["street"], at, by)
        case "grid":
            return structure.grid(f["code"].upper(), f["name"], at, by)
        case "building":
            return structure.building(f["building"], f["entrance"], f["grid"], at, by, f["address"])
        case "worker":
            return structure.worker(f["grid"], f["role"], f["person"], at, by, f["building"])
        case "unworker":
            return structure.unworker(f["grid"], f["role"], f["person"], f["reason"], at, by, f["building"])
        case "party":
            kind = f["kind"] if f["kind"] in PARTY_KINDS else "grid_branch"
            return structure.party(PartyOrgDefined(
                at=at, by=by, org_id=f["org_id"], kind=kind, name=f["name"], parent=f["parent"],  # type: ignore[arg-type]
                grid=f["grid"], building=f["building"], room=f["room"]))
    return None


@router.post("/console/structure/{community}")
async def change_structure(request: Request, community: str) -> Response:
    """One change of the community's structure, recorded with the account and the moment; the same community
    rule as the page (a hidden community answers the page an unknown one gets)."""
    posted = await staff_form(request, *STRUCTURE_ROLES)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    if not may_see_community(staff.account, community):
        log.info("console.structure_hidden", community=community, account_id=staff.account.id)
        return message_page(request, 404, N_("Page not found"))
    values = {name: form.get(name, "").strip()[:500] for name in FIELDS}
    values["community"] = community
    op = values["op"]
    if op == "community" and staff.account.role != "street_office":
        return message_page(request, 403, N_("Not allowed"), text=N_("Your account's role may not see or do this."))
    by = f"{staff.account.role} {staff.account.name}"
    decide = _decide(op, values, clock(request), by)
    if decide is None:
        return message_page(request, 422, N_("The form is not valid"))
    try:
        _, written = await structure.change(request.app.state.store, request.app.state.pool, community, decide)
    except StructureError as exc:
        tr = page_translator(request)
        return await page(request, staff, community, 422, errors=[tr.error(exc)], values=values)
    except UNAVAILABLE:
        return unavailable(request)
    if op == "community" and written:
        await structure.list_on_street(request.app.state.store, values["street"], community, values["name"],
                                       clock(request), by)
    log.info("console.structure_changed", community=community, op=op, events=written, by=by)
    return RedirectResponse(structure_path(community), status_code=303)
