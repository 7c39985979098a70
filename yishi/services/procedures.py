"""Procedures: start one (freeze the roll, register, start its workflow), show its status, complete a task.

Status is read from the deliberation's stream, not from the workflow: it works without a worker and shows
exactly what an auditor sees. The current tally folds the current round's ballot box with the domain code
and has the fields of ``yishi tally --json``.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError

from activities.box import load_box
from activities.eventstore import EventStore
from domain.errors import N_, DomainError
from domain.events import Question
from domain.legal_calendar import HolidayFile
from domain.procedures import check_initiation, check_rule, get_procedure, resolve_periods
from domain.roll import Roll, Scope
from domain.stage_events import STAGE_EVENT_TYPES, stage_event_from_dict
from domain.tally import check_deeming
from workflows.common import ObjectionInput, ObjectionReceipt, ProcedureResult, TaskCompletion, TaskReceipt
from yishi.i18n.errors import refusal
from yishi.services.deliberations import DeliberationSpec, new_deliberation_id, register, store_roll
from yishi.services.results import of_state

WORKFLOW_TYPES = {
    "elevator": ("Elevator", "workflows.elevator:ElevatorInput"),
    "property": ("PropertyReplacement", "workflows.property:PropertyInput"),
    "consultation": ("Consultation", "workflows.consultation:ConsultationInput"),
}


class StartRequest(BaseModel):
    """What the committee chooses; ``options`` are the procedure's own fields (cost, candidates, …)."""

    model_config = ConfigDict(frozen=True)
    procedure: str
    title: str
    scope: Scope
    rule_id: str | None = None
    periods: dict[str, str] = {}
    initiator_role: str | None = None
    """Default: the owners' committee (业委会) for a property replacement, the committee otherwise."""
    initiated_by: str = "committee"
    petition_signers: tuple[str, ...] = ()
    community: str = "default"
    previous_id: str | None = None
    options: dict[str, Any] = {}


class RefusedError(DomainError):
    """The workflow refused the request (wrong role, stage or task); its text: :func:`yishi.i18n.errors.refusal`."""


def _input_class(procedure: str) -> tuple[str, type[BaseModel]]:
    name, target = WORKFLOW_TYPES[procedure]
    module, attribute = target.split(":")
    return name, getattr(importlib.import_module(module), attribute)


async def start_procedure(client: Client, pool: asyncpg.Pool, roll: Roll, req: StartRequest, *, task_queue: str,
                          deliberation_id: str | None = None, holiday_file: HolidayFile | None = None,
                          **workflow_options: Any) -> tuple[str, WorkflowHandle]:
    """Check the request, freeze the roll, register the deliberation and start its workflow.

    Returns the deliberation id (also the workflow id) and the workflow's handle.
    """
    definition = get_procedure(req.procedure)
    rule_id = check_rule(req.procedure, req.rule_id)
    periods = resolve_periods(req.procedure, req.periods)
    electorate = roll.select(req.scope)  # an empty or unknown scope fails before anything is stored
    role = req.initiator_role or ("owners_committee" if req.procedure == "property" else "committee")
    check_initiation(req.procedure, role, req.initiated_by, frozenset(electorate.owner_areas),
                     req.petition_signers)
    if req.previous_id is not None:
        await _check_previous(pool, req.previous_id)
    name, input_cls = _input_class(req.procedure)
    deliberation_id = deliberation_id or new_deliberation_id(req.procedure)
    params = input_cls(
        deliberation_id=deliberation_id, procedure=req.procedure, title=req.title, scope=req.scope,
        rule_id=rule_id, roll_digest=roll.digest(), periods={k: p.text for k, p in periods.items()},
        initiator_role=role, initiated_by=req.initiated_by, community=req.community,
        previous_id=req.previous_id, petition_signers=req.petition_signers, holiday_file=holiday_file,
        **req.options, **workflow_options)
    check_deeming(params.deem_silent, params.deem_over_half)  # not first found when the box opens, weeks later
    digest = await store_roll(pool, roll)
    now = datetime.now(UTC)
    spec = DeliberationSpec(
        procedure=req.procedure, title=req.title, rule_id=rule_id, scope=req.scope,
        question=Question(text_zh=req.title, text_en=definition.name_en), opens_at=now,
        closes_at=periods["voting"].end(now, holiday_file), previous_id=req.previous_id,  # planned, for the listing
        community=req.community, details=_details(params))
    await register(pool, deliberation_id, spec, digest)
    if req.procedure == "property":
        await record_candidates(pool, deliberation_id, params.candidates)  # type: ignore[attr-defined]
    handle = await client.start_workflow(name, params, id=deliberation_id, task_queue=task_queue,
                                         result_type=ProcedureResult)
    return deliberation_id, handle


DETAILS = ("cost_total", "coefficients", "ground_floor", "ground_coefficient", "by_area", "issue")


def _details(params: BaseModel) -> dict[str, Any]:
    """The procedure's figures the ballot page shows (DeliberationSpec.details), as JSON."""
    data = params.model_dump(mode="json")
    return {key: data[key] for key in DETAILS if key in data}


async def record_candidates(pool: asyncpg.Pool, deliberation_id: str, candidates: Any) -> None:
    """Each candidate with its credit code (if given), for the black-list flag (yishi/services/companies.py)."""
    async with pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO property_candidates (deliberation_id, candidate_id, name, credit_code) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT DO NOTHING", [(deliberation_id, c.id, c.name, c.credit_code) for c in candidates])


async def _check_previous(pool: asyncpg.Pool, previous_id: str) -> None:
    async with pool.acquire() as conn:
        if await conn.fetchval("SELECT 1 FROM deliberations WHERE id = $1", previous_id) is None:
            raise DomainError(N_("no earlier deliberation %(id)s"), id=previous_id)


async def call_update(client: Client, deliberation_id: str, update: str, arg: BaseModel, result_type: type,
                update_id: str | None = None) -> Any:
    """Run ``update``; the same ``update_id`` twice (a double tap) runs it once and answers both alike."""
    handle = client.get_workflow_handle(deliberation_id)
    try:
        return await handle.execute_update(update, arg, id=update_id, result_type=result_type)
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        raise RefusedError(refusal(cause or exc)) from None


async def complete_task(client: Client, deliberation_id: str, completion: TaskCompletion) -> TaskReceipt:
    """Complete a human task through the workflow's ``complete_task`` update (validated by role and stage)."""
    return await call_update(client, deliberation_id, "complete_task", completion, TaskReceipt)


async def give_feedback(client: Client, deliberation_id: str, feedback: BaseModel,
                        update_id: str | None = None) -> TaskReceipt:
    """A resident's satisfaction (1–5) with a consultation's implementation (``FeedbackInput``), during ``feedback``."""
    return await call_update(client, deliberation_id, "give_feedback", feedback, TaskReceipt, update_id)


async def file_objection(client: Client, deliberation_id: str, objection: ObjectionInput,
                         update_id: str | None = None) -> ObjectionReceipt:
    return await call_update(client, deliberation_id, "file_objection", objection, ObjectionReceipt, update_id)


def _fold_stages(events: list[Any]) -> dict[str, Any]:
    status: dict[str, Any] = {"stage": None, "deadline": None, "deadline_fallback_years": [], "tasks": {},
                              "rounds": [], "outcome": None, "notices_failed": [], "done_tasks": {}, "stage_at": None,
                              "last_event": None}
    for event in events:
        payload = event.model_dump(mode="json")
        status["last_event"] = event.type
        match event.type:
            case "ProcedureStarted":
                status.update(procedure=event.procedure, title=event.title, rule_id=event.rule_id,
                              previous_id=event.previous_id)
            case "StageEntered":
                status.update(stage=event.stage, deadline=payload["deadline"], stage_at=payload["at"],
                              deadline_fallback_years=list(event.fallback_years))
            case "TaskOpened":
                status["tasks"][event.task_id] = {k: payload[k] for k in ("task_id", "kind", "roles", "outcomes",
                                                                          "title_zh", "title_en", "due_at")}
                status["tasks"][event.task_id]["due_fallback_years"] = list(event.fallback_years)
            case "TaskCompleted":
                done = status["tasks"].pop(event.task_id, None)
                if done is not None:  # its title, for the page that says it is done
                    status["done_tasks"][event.task_id] = done
            case "TaskOverdue":
                if event.task_id in status["tasks"]:
                    status["tasks"][event.task_id]["overdue"] = True
            case "VoteRoundOpened":
                status["rounds"].append({"round": event.round, "box_stream": event.box_stream,
                                         "closes_at": payload["closes_at"],
                                         "paper_entry_until": payload.get("paper_entry_until"),
                                         "closes_fallback_years": list(event.fallback_years)})
            case "VoteCounted":
                status["rounds"][-1].update(outcomes=event.outcomes, decided=event.decided, deemed=event.deemed)
            case "NoticeDeliveryFailed" if event.final:
                status["notices_failed"].append({"notice_id": event.notice_id, "channel": event.channel,
                                                 "error": event.error})
            case "MeetingConvened":
                status["meeting_id"] = event.meeting_id
            case "ProcedureClosed":
                status["outcome"] = event.outcome
    return status


async def procedure_status(store: EventStore, deliberation_id: str) -> dict[str, Any]:
    """Stage, deadline, open tasks and the current tally, from the stream; ``result``: the published figures of
    each question (:mod:`yishi.services.results`, the same on every surface). A deadline counted on weekends only
    (no State Council schedule loaded for its year) has its years in ``deadline_fallback_years`` (a task's in
    ``due_fallback_years``, a round's close in ``closes_fallback_years``). ``stage_at``: when the stage was
    entered; ``last_event``: the type of the last stage event; ``box_open``: whether the last round's box has
    opened (the console's "preparing" state, yishi/web/matters.py)."""
    stored = await store.read(deliberation_id)
    if not stored:
        raise DomainError(N_("no deliberation %(id)s"), id=deliberation_id)
    events = [stage_event_from_dict(e.type, e.payload) for e in stored if e.type in STAGE_EVENT_TYPES]
    status = {"deliberation_id": deliberation_id, **_fold_stages(events)}
    status["open_tasks"] = list(status.pop("tasks").values())
    status["head"] = {"seq": stored[-1].seq, "hash": stored[-1].hash}
    if status.get("procedure") == "property":
        from yishi.services.companies import deliberation_flags

        status["candidates"] = await deliberation_flags(store.pool, store, deliberation_id)
    async with store.pool.acquire() as conn:  # where the notices stand (the delivery board, in counts)
        status["deliveries"] = {r["state"]: r["n"] for r in await conn.fetch(
            "SELECT state, count(*) AS n FROM notice_deliveries WHERE deliberation_id = $1 GROUP BY state",
            deliberation_id)}
    status["tally"], status["tallies"], status["result"], status["box_open"] = None, {}, [], False
    # A procedure's current round, else a ballot box in the deliberation's own stream (a plain vote).
    stream = status["rounds"][-1]["box_stream"] if status["rounds"] else (
        deliberation_id if any(e.type == "BoxOpened" for e in stored[:1]) else None)
    if stream is not None:
        box, _ = await load_box(store, stream)
        status["box_open"] = box.status != "new"
        if box.status != "new":
            results = box.recorded.results if box.recorded is not None else box.results()
            status["tallies"] = {q: r.to_json() for q, r in results.items()}
            status["tally"] = next(iter(status["tallies"].values()), None)
            head = None
            if box.recorded is not None:
                last = (await store.read_types(stream, ["ResultRecorded"]))[-1]
                head = (last.seq, last.hash)
            status["result"] = [s.to_json() for s in of_state(box, head)]
    return status
