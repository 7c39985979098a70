"""A street's grid file uploaded in the console (issue 19): the street office imports communities, grids,
buildings, workers and party organisation from CSV or XLSX, as ``yishi grid import`` does.

The body is bounded before it is read (yishi/web/bodylimit.py: an upload path for signed-in street offices only,
checked from the headers), the CSRF field is checked before the file is looked at, and the file is read in a child
process with its memory and time limits, within the grid file's limits (yishi/services/rollparse.py
``parse_grid_isolated``, ``GRID_LIMITS``). Every problem of the file is listed at once; nothing is recorded unless
the whole file is good. Each community's changes are one append with the account as ``by``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import PurePath

import structlog
from fastapi import APIRouter, Request, Response
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from domain.errors import FileIssuesError
from domain.structure_import import GRID_LIMITS
from yishi.services import structure
from yishi.services.rollparse import RollParseLimits, parse_grid_isolated
from yishi.web.render import form_invalid_page, page_translator
from yishi.web.staff import require, upload_chunks
from yishi.web.structure import page
from yishi.web.voter import UNAVAILABLE, clock, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
IMPORT_PATH = "/console/structure/import"
IMPORT_ROLES = ("street_office",)


@router.post(IMPORT_PATH)
async def import_grid_file(request: Request) -> Response:
    staff = await require(request, *IMPORT_ROLES)
    if isinstance(staff, Response):
        return staff
    try:
        form = await request.form(max_files=1, max_fields=8, max_part_size=4096)
    except HTTPException:  # not a form, bad multipart, too many fields or files
        return form_invalid_page(request, 403)
    try:
        fields = {k: v.strip() for k, v in form.multi_items() if isinstance(v, str)}
        if not staff.csrf_ok(fields):  # before the file is looked at: a forged post reads and records nothing
            return form_invalid_page(request, 403)
        upload = form.get("file")
        street = fields.get("street", "")[:64]
        tr = page_translator(request)
        if not isinstance(upload, UploadFile) or not upload.filename or not upload.size or not street:
            return await page(request, staff, None, 422, errors=[tr.gettext(
                "Choose the grid file (CSV or XLSX) and write the street office's id.")])
        filename = PurePath(upload.filename.replace("\\", "/")).name[:200]
        limits = replace(RollParseLimits.from_settings(request.app.state.settings), files=GRID_LIMITS)
        try:
            table = await parse_grid_isolated(upload_chunks(upload), filename, limits)
            report = await structure.import_grids(request.app.state.store, request.app.state.pool, table, filename,
                                                  street=street, by=f"{staff.account.role} {staff.account.name}",
                                                  at=clock(request))
        except FileIssuesError as exc:
            return await page(request, staff, None, 422, errors=[tr.error(issue) for issue in exc.issues])
        except UNAVAILABLE:
            return unavailable(request)
    finally:
        await form.close()
    done = report.to_json()
    log.info("console.grid_file_imported", file=filename, street=street, account_id=staff.account.id,
             rows=done["rows"], events=done["events"], seconds=done["seconds"])
    return await page(request, staff, None, imported=done)
