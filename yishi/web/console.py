"""The committee console: the deliberations, progress per building and entrance, non-voters. Behind sign-in.

Who sees what: every staff role sees progress; names and phones of non-voters are for the committee and
grid workers; paper-ballot entry (yishi/web/console_paper.py) is for committee accounts only.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from domain.result_summary import summary_lines
from domain.roll_parse import roll_template
from yishi.services.accounts import account_names
from yishi.services.console import (
    UNASSIGNED,
    contacts,
    home_community,
    list_communities,
    list_deliberations,
    may_see_community,
    non_voters,
    paper_ballots,
    paper_clerk_ids,
    progress,
)
from yishi.services.results import summaries
from yishi.services.voting import (
    NoSuchBoxError,
    deliberation_info,
    load_box,
)
from yishi.web.render import not_found_page, page_lang
from yishi.web.staff import Staff, require, staff_page
from yishi.web.staff import router as staff_router
from yishi.web.voter import UNAVAILABLE, clock, unavailable

router = APIRouter()
router.include_router(staff_router)
ALL_STAFF = ("committee", "grid_worker", "street_office", "department", "auditor")
FIELD_STAFF = ("committee", "grid_worker")
PAPER_CLERKS = ("committee",)  # who may type in paper ballots (the owners' vote is the committee's to run)


def community_choice(request: Request, staff: Staff) -> tuple[str | None, str | None]:
    """The ``?community=`` filter of a list page: (the community to keep or None for all the account may see,
    the community asked for that the account may not see or None). The community rule itself is
    services/console.py's ``may_see_community``."""
    chosen = request.query_params.get("community", "").strip()[:100] or None
    if chosen is not None and not may_see_community(staff.account, chosen):
        return None, chosen
    return chosen, None


@router.get("/console")
async def deliberations(request: Request) -> Response:
    """The deliberations, newest first; ``?community=`` keeps one community's (a filter: GET changes nothing)."""
    staff = await require(request, *ALL_STAFF)
    if isinstance(staff, Response):
        return staff
    home = home_community(staff.account)
    chosen, outside = community_choice(request, staff)
    try:
        pool = request.app.state.pool
        rows = await list_deliberations(pool, community=chosen, home=home)
        communities = await list_communities(pool, home=home)
    except UNAVAILABLE:
        return unavailable(request)
    return staff_page(request, "console_list.html", staff, rows=rows, communities=communities,
                 chosen=chosen, outside=outside, home=home, unassigned=UNASSIGNED)


@router.get("/console/roll-template.csv")
async def roll_template_csv(request: Request) -> Response:
    """The roll to fill in (UTF-8 with BOM so that Excel shows the Chinese headers); ``?header=en`` for English."""
    staff = await require(request, *ALL_STAFF)
    if isinstance(staff, Response):
        return staff
    header = "en" if request.query_params.get("header") == "en" else "zh"
    return Response(roll_template(header).encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="yishi-roll-template-{header}.csv"'})


async def box_and_info(request: Request, deliberation_id: str):  # type: ignore[no-untyped-def]
    # The community rule was applied by require/staff_form (yishi/web/staff.py): a hidden deliberation is a 404.
    state = request.app.state
    try:
        return await load_box(state.store, deliberation_id), await deliberation_info(state.pool, deliberation_id)
    except NoSuchBoxError:
        info = await deliberation_info(state.pool, deliberation_id)
        if info is not None:  # a procedure before its vote: its page shows the stage and the open tasks
            return RedirectResponse(f"/console/d/{deliberation_id}/matter", status_code=303)
        return not_found_page(request)
    except UNAVAILABLE:
        return unavailable(request)


@router.get("/console/d/{deliberation_id}")
async def show_progress(request: Request, deliberation_id: str) -> Response:
    staff = await require(request, *ALL_STAFF)
    if isinstance(staff, Response):
        return staff
    loaded = await box_and_info(request, deliberation_id)
    if isinstance(loaded, Response):
        return loaded
    box, info = loaded
    question = box.question(request.query_params.get("q") or None) or box.opened.questions[0]
    try:
        clerks = await account_names(request.app.state.pool, paper_clerk_ids(box))
        published = await summaries(request.app.state.store, deliberation_id)
    except UNAVAILABLE:
        return unavailable(request)
    lang = "en" if page_lang(request) == "en" else "zh"
    figures = [summary_lines(s, lang) for s in published if s.question_id == question.id]
    return staff_page(request, "console_progress.html", staff, box=box, info=info, progress=progress(box, question.id),
                 figures=figures,
                 question=question, paper=paper_ballots(box, clerks), now=clock(request),
                 field=staff.account.can(*FIELD_STAFF), paper_clerk=staff.account.can(*PAPER_CLERKS))


@router.get("/console/d/{deliberation_id}/non-voters")
async def show_non_voters(request: Request, deliberation_id: str) -> Response:
    staff = await require(request, *FIELD_STAFF)
    if isinstance(staff, Response):
        return staff
    loaded = await box_and_info(request, deliberation_id)
    if isinstance(loaded, Response):
        return loaded
    box, info = loaded
    book = await contacts(request.app.state.pool, box.opened.roll_digest)
    return staff_page(request, "console_non_voters.html", staff, box=box, info=info, households=non_voters(box, book))
