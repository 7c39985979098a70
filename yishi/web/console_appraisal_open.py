"""The committee opens an appraisal of its estate's property company from the console (业主评议物业).

The form names one of the community's estates in a street's register (the company managing it comes from there,
with its 统一社会信用代码, and so do the items and weights the street set), a period, how many days owners have, and
the owners roll file, frozen for the appraisal as for a vote (parsed in a child process, as the start form does).
The wall is the account's own community: an estate of another community is not among the choices and is refused.
The same form posted twice opens one appraisal (its id comes from the form's nonce). Problems answer the form again
with what was entered. The committee may also close an open appraisal before its window ends (a signal to its
workflow, which closes and records the result as at the deadline, naming who closed it).
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import PurePath

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from temporalio.exceptions import WorkflowAlreadyStartedError

from domain.company_list import RegisterError, period_dates
from domain.errors import DomainError, RollError
from domain.operator import Operator
from yishi.i18n import N_
from yishi.services import appraisals, companies
from yishi.services.appraisal_rows import row_of
from yishi.services.csvsafe import write_csv
from yishi.services.link_issuing import Actor
from yishi.services.rollparse import RollParseLimits, parse_roll_isolated
from yishi.web.console_appraisals import OPENERS, page
from yishi.web.downloads import csv_file
from yishi.web.render import form_invalid_page, message_page, not_found_page, page_translator
from yishi.web.staff import Staff, require, staff_form, upload_chunks
from yishi.web.temporal import TEMPORAL_UNAVAILABLE, temporal_client
from yishi.web.voter import UNAVAILABLE, clock, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
OPEN_PATH = "/console/appraisals/open"
MAX_DAYS = 90


def appraisal_id_for(secret_key: str, account_id: int, nonce: str) -> str:
    """The id a form gives its appraisal: the same form (nonce) posted twice gives the same id."""
    mac = hmac.new(secret_key.encode(), f"console-appraisal/1\x00{account_id}\x00{nonce}".encode(), hashlib.sha256)
    return f"appraisal-{mac.hexdigest()[:12]}"


@router.post("/console/appraisals/{appraisal_id}/close")
async def close_appraisal(request: Request, appraisal_id: str) -> Response:
    """The committee closes its community's appraisal before the end of its window (CSRF; another community's
    appraisal answers as unknown)."""
    posted = await staff_form(request, *OPENERS)
    if isinstance(posted, Response):
        return posted
    staff, _fields = posted
    state = request.app.state
    try:
        row = await row_of(state.pool, appraisal_id)
        if row is None or row["community"] != staff.account.community:
            return not_found_page(request)
        client = await temporal_client(request)
        by = Operator(name=staff.account.name, role=staff.account.role, via="console")  # type: ignore[arg-type]
        await appraisals.close_early(client, state.store, appraisal_id, by=by)
    except DomainError as exc:
        return message_page(request, 409, N_("The appraisal was not closed"), text=page_translator(request).error(exc),
                            back_url="/console/appraisals")
    except (*UNAVAILABLE, *TEMPORAL_UNAVAILABLE):
        return unavailable(request)
    return RedirectResponse(f"/console/appraisals#{appraisal_id}", status_code=303)


@router.post("/console/appraisals/{appraisal_id}/links")
async def links_csv(request: Request, appraisal_id: str) -> Response:
    """The owners' personal links of the community's appraisal as a CSV file to print or send (owner, link): what is
    missing issued, and the disclosure recorded in the appraisal's stream under the member's name (as for a vote's
    links). A download, never shown on a page."""
    posted = await staff_form(request, *OPENERS)
    if isinstance(posted, Response):
        return posted
    staff, _fields = posted
    state = request.app.state
    try:
        row = await row_of(state.pool, appraisal_id)
        if row is None or row["community"] != staff.account.community:
            return not_found_page(request)
        links = await appraisals.give_links(state.store, appraisal_id, actor=Actor(by=staff.account.name),
                                            secret_key=state.secret_key, now=clock(request))
    except DomainError as exc:
        return message_page(request, 409, N_("The links were not issued"), text=page_translator(request).error(exc),
                            back_url="/console/appraisals")
    except UNAVAILABLE:
        return unavailable(request)
    base = (state.settings.public_base_url or str(request.base_url)).rstrip("/")
    tr = page_translator(request)
    header = (tr.gettext("Owner ID on the roll"), tr.gettext("Personal link"))
    body = write_csv(header, [(link.owner_id, link.url(base)) for link in links])
    log.info("console.appraisal_links_given", appraisal_id=appraisal_id, links=len(links), by=staff.account.name)
    name = f"yishi-{appraisal_id}-links.csv"
    return csv_file(body, name)


@router.post(OPEN_PATH)
async def open_appraisal(request: Request) -> Response:
    staff = await require(request, *OPENERS)
    if isinstance(staff, Response):
        return staff
    try:
        form = await request.form(max_files=1, max_fields=20, max_part_size=16 * 1024)
    except HTTPException:
        return form_invalid_page(request, 403)
    try:
        fields = {k: v.strip()[:200] for k, v in form.multi_items() if isinstance(v, str)}
        if not staff.csrf_ok(fields):
            return form_invalid_page(request, 403)
        upload = form.get("roll")
        upload = upload if isinstance(upload, UploadFile) and upload.filename and upload.size else None
        return await _open(request, staff, fields, upload)
    finally:
        await form.close()


async def _open(request: Request, staff: Staff, fields: dict[str, str], upload: UploadFile | None) -> Response:
    state, tr = request.app.state, page_translator(request)
    values = {k: fields.get(k, "") for k in ("estate", "period", "window_days")}
    community = staff.account.community
    if community is None:
        return await page(request, staff)
    errors: list[str] = []
    try:
        estates = {e["key"]: e for e in await companies.community_estates(state.pool, state.store, community)}
    except UNAVAILABLE:
        return unavailable(request)
    estate = estates.get(values["estate"])
    if estate is None:
        errors.append(tr.gettext("Choose one of your community's estates."))
    try:
        period_dates(values["period"])
    except RegisterError as exc:
        errors.append(tr.error(exc))
    days = values["window_days"]
    if not (days.isdigit() and 1 <= int(days) <= MAX_DAYS):
        errors.append(tr.gettext("Days owners have to rate: a whole number from 1 to %(most)s.", most=MAX_DAYS))
    roll = None
    if upload is None:
        errors.append(tr.gettext("Choose the owners roll file (CSV or XLSX)."))
    else:
        filename = PurePath((upload.filename or "").replace("\\", "/")).name[:200]
        try:
            limits = RollParseLimits.from_settings(state.settings)
            roll = await parse_roll_isolated(upload_chunks(upload), filename, limits)
        except RollError as exc:
            errors.extend(tr.error(issue) for issue in exc.issues)
    if errors or roll is None or estate is None:
        return await page(request, staff, 422, values=values, errors=errors)
    by = Operator(name=staff.account.name, role=staff.account.role, via="console")  # type: ignore[arg-type]
    req = appraisals.AppraisalRequest(street=estate["street"], estate=estate["estate"], period=values["period"],
                                      window=f"P{int(days)}D", remind=state.settings.appraisal_remind, by=by)
    appraisal_id = appraisal_id_for(state.secret_key, staff.account.id, fields.get("nonce", ""))
    try:
        client = await temporal_client(request)
        await appraisals.open_appraisal(client, state.pool, state.store, roll, req,
                                        task_queue=state.settings.task_queue, now=clock(request),
                                        appraisal_id=appraisal_id)
    except WorkflowAlreadyStartedError:  # the same form again: it is open already
        log.info("console.appraisal_open_repeated", appraisal_id=appraisal_id)
    except DomainError as exc:  # no items set, an unknown company, a scope not on the roll …
        return await page(request, staff, 422, values=values, errors=tr.error(exc).splitlines())
    except (*UNAVAILABLE, *TEMPORAL_UNAVAILABLE):
        return unavailable(request)
    log.info("console.appraisal_opened", appraisal_id=appraisal_id, community=community, estate=estate["estate"],
             street=estate["street"], by=by.name)
    return RedirectResponse(f"/console/appraisals#{appraisal_id}", status_code=303)
