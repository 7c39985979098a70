"""The committee starts a deliberation from the console: ``GET /console/new`` shows the form, ``POST`` (multipart,
with the owners roll as a CSV or XLSX file) checks it and starts the procedure as ``yishi start`` does.

A thin adapter over ``yishi.services.procedures.start_procedure``. The deliberation id is derived from the form's
one-time nonce, so the same form sent twice (a double tap, a reload of the answer) starts one deliberation and
both answers lead to its page: the registry rows are written ``ON CONFLICT DO NOTHING`` and the second workflow
start meets Temporal's workflow-id uniqueness (or finds the workflow already there).

The roll is parsed in a child process with a memory limit and a timeout (``yishi.services.rollparse``), the upload
streamed to it: a hostile file (a zip bomb, a million rows) is refused there, naming the limit, and neither grows
this process nor slows the ballots it serves. Only a committee member's session gets this far: the body cap
middleware checks it before reading the body (yishi/web/bodylimit.py).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import PurePath
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.credit_code import credit_code_problem
from domain.errors import DomainError, RollError
from domain.procedures import PROCEDURES
from domain.roll import Roll, Scope
from domain.tally import check_deeming
from workflows.elevator import ElevatorInput
from yishi import i18n
from yishi.i18n import N_
from yishi.services.console import home_community, list_communities
from yishi.services.procedures import WORKFLOW_TYPES, StartRequest, start_procedure
from yishi.services.rollparse import RollParseLimits, parse_roll_isolated
from yishi.settings import Settings
from yishi.web.bodylimit import PATH_LIMITS, UPLOADS
from yishi.web.candidates import candidate_lines, candidate_warnings
from yishi.web.console_periods import holiday_file, period_rows, read_periods
from yishi.web.console_topics import procedure_topic, record_procedure_route
from yishi.web.matters import STARTED
from yishi.web.render import form_invalid_page, page_translator, render
from yishi.web.staff import Staff, require, upload_chunks
from yishi.web.temporal import TEMPORAL_UNAVAILABLE, temporal_client
from yishi.web.voter import UNAVAILABLE, clock, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
START_PATH = "/console/new"
STARTERS = ("committee",)  # who may start a deliberation (the CLI's `yishi start` is the operator's)
assert UPLOADS[START_PATH].roles == STARTERS, "the roll upload's body cap and sign-in check (yishi/web/bodylimit.py)"
PROCEDURE_IDS = tuple(WORKFLOW_TYPES)
MAX_FIELDS = 80  # every field of the longest form (property: 11 periods of 3 fields) with room to spare
MAX_FIELD_BYTES = 16 * 1024  # one text field; the roll file is not a field (the body cap bounds it)
LIMITS = {"title": 200, "building": 40, "entrance": 40, "community": 100, "cost_total": 20, "proxy_limit": 4,
          "current_company": 200, "candidates": 4000, "issue": 4000}
MAX_PROXY_LIMIT = 100
MAX_CANDIDATES = 20
PLAIN_NAME = re.compile(r"^[^,=]+$")  # building and entrance go into the scope notation, which splits on , and =


def deliberation_id_for(secret_key: str, procedure: str, account_id: int, nonce: str) -> str:
    """The id a start form will give its deliberation: the same form (nonce) posted twice gives the same id."""
    mac = hmac.new(secret_key.encode(), f"console-start/1\x00{account_id}\x00{nonce}".encode(), hashlib.sha256)
    return f"{procedure}-{mac.hexdigest()[:12]}"


def _cost_default() -> str:
    return str(ElevatorInput.model_fields["cost_total"].default)


async def _page(request: Request, staff: Staff, procedure: str, status: int = 200, *,
                values: dict[str, str] | None = None, errors: list[str] | None = None,
                checked: bool = False) -> Response:
    settings: Settings = request.app.state.settings
    home = home_community(staff.account)
    try:
        communities = [] if home else [c for c, _n in await list_communities(request.app.state.pool)]
    except UNAVAILABLE:
        return unavailable(request)
    values = values if values is not None else {
        "proxy_limit": str(settings.proxy_limit), "deem_silent": "on" if settings.deem_silent else "",
        "deem_over_half": "on" if settings.deem_over_half else ""}
    values.setdefault("topic", request.query_params.get("topic", "")[:64])  # started for a topic (console_topics)
    periods = period_rows(procedure, values, clock(request), page_translator(request), holiday_file(settings))
    try:
        warnings = await candidate_warnings(request, values.get("candidates", "")) if procedure == "property" else []
    except UNAVAILABLE:
        return unavailable(request)
    return render(request, "console_start.html", status, no_store=True, staff=staff, logout=staff.form(),
                  form=staff.form(), procedure=procedure, definition=PROCEDURES[procedure],
                  procedures=[PROCEDURES[p] for p in PROCEDURE_IDS], periods=periods,
                  periods_open=checked or any(p["changed"] or p["warning"] for p in periods[1:]), checked=checked,
                  cost_default=_cost_default(), home=home, communities=communities, values=values,
                  errors=errors or [], black_list=warnings, max_mib=PATH_LIMITS[START_PATH] // (1024 * 1024))


@router.get(START_PATH)
async def start_form(request: Request) -> Response:
    """The form; ``?procedure=`` picks the procedure whose fields and periods it shows (elevator by default)."""
    staff = await require(request, *STARTERS)
    if isinstance(staff, Response):
        return staff
    procedure = request.query_params.get("procedure", "")
    return await _page(request, staff, procedure if procedure in PROCEDURE_IDS else PROCEDURE_IDS[0])


class _Checked:
    """The form's fields read into a start request, or the problems a committee member can fix."""

    def __init__(self, fields: dict[str, str], staff: Staff, tr: i18n.Translator, now: datetime) -> None:
        self.errors: list[str] = []
        self.tr = tr
        self.procedure = fields.get("procedure", "")
        definition = PROCEDURES[self.procedure]
        self.community = home_community(staff.account) or fields.get("community", "")
        if not self.community:
            self._fail(N_("Enter the community this deliberation is for."))
        self.title = fields.get("title", "") or definition.name_zh
        self.scope = self._scope(fields.get("building", ""), fields.get("entrance", ""))
        self.periods, problems = read_periods(self.procedure, fields, now, tr)
        self.errors.extend(problems)
        options: dict[str, Any] = {"proxy_limit": self._proxy_limit(fields.get("proxy_limit", "")),
                                   "deem_silent": fields.get("deem_silent") == "on",
                                   "deem_over_half": fields.get("deem_over_half") == "on"}
        try:
            check_deeming(options["deem_silent"], options["deem_over_half"])
        except DomainError as exc:
            self.errors.append(tr.error(exc))
        if self.procedure == "elevator":
            options["cost_total"] = self._cost(fields.get("cost_total", ""))
        elif self.procedure == "property":
            options["current_company"] = fields.get("current_company", "")
            options["candidates"] = self._candidates(fields.get("candidates", ""))
        else:
            options["issue"] = fields.get("issue", "")
            if not options["issue"]:
                self._fail(N_("Enter the issue."))
        self.options = options
        self.initiated_by = staff.account.name

    def _fail(self, msgid: str, **fields: object) -> None:
        self.errors.append(self.tr.gettext(msgid, **fields))

    def _scope(self, building: str, entrance: str) -> Scope:
        if entrance and not building:
            self._fail(N_("An entrance needs its building: fill in the building too."))
            return Scope()
        if any(value and not PLAIN_NAME.match(value) for value in (building, entrance)):
            self._fail(N_("Building and entrance cannot contain a comma or =; write them as the roll does."))
            return Scope()
        text = ",".join(f"{key}={value}" for key, value in (("building", building), ("entrance", entrance)) if value)
        try:
            return Scope.parse(text)  # the notation of `yishi start --scope`; an empty text is the whole estate
        except DomainError as exc:
            self.errors.append(self.tr.error(exc))
            return Scope()

    def _proxy_limit(self, raw: str) -> int:
        if raw.isdigit() and int(raw) <= MAX_PROXY_LIMIT:
            return int(raw)
        self._fail(N_("Owners one proxy may represent: a whole number from 0 to %(most)s."), most=MAX_PROXY_LIMIT)
        return 0

    def _cost(self, raw: str) -> Decimal:
        text = raw.replace(",", "").replace("，", "") or _cost_default()
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = Decimal(-1)
        if not value.is_finite() or value <= 0 or value.as_tuple().exponent < -2:  # type: ignore[operator]
            self._fail(N_("Total cost '%(value)s' is not valid: an amount above 0 with at most two decimals, e.g. "
                          "600000 or 585000.50."), value=raw)
            return Decimal(0)
        return value

    def _candidates(self, raw: str) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for number, line, candidate in candidate_lines(raw):
            if candidate is None:
                self._fail(N_("Candidates, line %(line)s ('%(text)s'): write 'ID name', the ID being letters, digits, "
                              "- or _."), line=number, text=line[:60])
            elif any(c["id"] == candidate["id"] for c in out):
                self._fail(N_("Candidates, line %(line)s: the ID %(id)s is used already; choose another."),
                           line=number, id=candidate["id"])
            elif "credit_code" in candidate and (problem := credit_code_problem(candidate["credit_code"])):
                self._fail(N_("Candidates, line %(line)s: %(problem)s"), line=number, problem=self.tr.error(problem))
            else:
                out.append(candidate)
        if not out:
            self._fail(N_("Enter at least one candidate company."))
        elif len(out) > MAX_CANDIDATES:
            self._fail(N_("At most %(most)s candidate companies."), most=MAX_CANDIDATES)
        return out

    def request(self) -> StartRequest:
        return StartRequest(procedure=self.procedure, title=self.title, scope=self.scope, periods=self.periods,
                            initiated_by=self.initiated_by, community=self.community, options=self.options)


async def _already_started(client: Any, deliberation_id: str) -> bool:
    """Whether a workflow with this id exists (running or not): the form was used before."""
    try:
        await client.get_workflow_handle(deliberation_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


@router.post(START_PATH)
async def start(request: Request) -> Response:
    staff = await require(request, *STARTERS)
    if isinstance(staff, Response):
        return staff
    try:
        form = await request.form(max_files=1, max_fields=MAX_FIELDS, max_part_size=MAX_FIELD_BYTES)
    except HTTPException:  # not a form, bad multipart, too many fields or files, a field over its cap
        return form_invalid_page(request, 403)
    try:
        fields = {k: v.strip() for k, v in form.multi_items() if isinstance(v, str)}
        # The CSRF field before anything else: a forged post learns nothing and starts nothing.
        if not staff.csrf_ok(fields) or fields.get("procedure") not in PROCEDURE_IDS:
            return form_invalid_page(request, 403)
        upload = form.get("roll")
        if not isinstance(upload, UploadFile) or not upload.filename or not upload.size:
            upload = None
        return await _start(request, staff, fields, upload)
    finally:
        await form.close()  # the uploaded file, spooled to disk past 1 MiB, is removed


async def _start(request: Request, staff: Staff, fields: dict[str, str], upload: UploadFile | None) -> Response:
    state = request.app.state
    settings: Settings = state.settings
    tr = page_translator(request)
    values = {k: v[:LIMITS[k]] if k in LIMITS else v for k, v in fields.items() if k not in ("nonce", "csrf")}
    if "check" in fields:  # the "check the dates" step: the form again with each period's end, nothing started
        return await _page(request, staff, fields["procedure"], values=values, checked=True)
    checked = _Checked(values, staff, tr, clock(request))
    roll: Roll | None = None
    if upload is None:
        checked.errors.append(tr.gettext("Choose the owners roll file (CSV or XLSX)."))
    else:
        filename = PurePath((upload.filename or "").replace("\\", "/")).name[:200]
        try:
            # In a child process: a large estate's roll takes seconds to parse (100,000 owners: ~3.5 s), a hostile
            # one could take gigabytes, and this process is taking the residents' ballots meanwhile.
            roll = await parse_roll_isolated(upload_chunks(upload), filename, RollParseLimits.from_settings(settings))
        except RollError as exc:
            checked.errors.extend(tr.error(issue) for issue in exc.issues)
    procedure = checked.procedure

    def again(status: int, errors: list[str]) -> Any:
        return _page(request, staff, procedure, status, values=values, errors=errors)

    if checked.errors or roll is None:
        return await again(422, checked.errors)
    topic = await procedure_topic(request, staff, values["topic"], checked.community) if values.get("topic") else None
    if isinstance(topic, str):
        return await again(422, [topic])
    deliberation_id = deliberation_id_for(state.secret_key, procedure, staff.account.id, fields["nonce"])
    # The matter's page says "now attach the plan": documents can be attached only now that the matter exists.
    done = RedirectResponse(f"/console/d/{deliberation_id}/matter?{STARTED}", status_code=303)
    where = {"account_id": staff.account.id, "deliberation_id": deliberation_id, "procedure": procedure,
             "community": checked.community}
    try:
        client = await temporal_client(request)
        if await _already_started(client, deliberation_id):
            log.info("console.deliberation_start_repeated", **where)
            return done
        await start_procedure(client, state.pool, roll, checked.request(), task_queue=settings.task_queue,
                              deliberation_id=deliberation_id, holiday_file=holiday_file(settings))
    except WorkflowAlreadyStartedError:  # the same form, posted twice at once: the other post started it
        log.info("console.deliberation_start_repeated", **where)
        return done
    except DomainError as exc:  # the scope is not on the roll, a holiday file the operator must fix, …
        return await again(422, tr.error(exc).splitlines())
    except ValidationError as exc:
        log.warning("console.start_invalid", errors=exc.errors(include_url=False), **where)
        return await again(422, [tr.gettext("The form could not be used; check it and send again.")])
    except (*UNAVAILABLE, *TEMPORAL_UNAVAILABLE):
        return unavailable(request)
    if topic is not None:
        await record_procedure_route(request, staff, topic, deliberation_id)
    log.info("console.deliberation_started", **where)
    return done
