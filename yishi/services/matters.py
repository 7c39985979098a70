"""A procedure as one owner sees it through their link, and the owner's own acts after the vote.

The personal link stays the owner's identity for the whole matter: after the ballot box closes, an owner of an
elevator entrance confirms their cost share and may object while the plan is posted (公示); an owner of an estate
may object to a property-company result during its objection period. What the page shows is read from the
deliberation's stream (it works without a worker, and shows exactly what an auditor sees); what the owner does
goes to the workflow as an update, whose validator has the last word on stage, scope and share.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.eventstore import EventStore
from domain.stage_events import STAGE_EVENT_TYPES, stage_event_from_dict
from workflows.common import ObjectionInput, ObjectionReceipt, TaskCompletion, TaskReceipt
from workflows.elevator import ElevatorWorkflow, ShareConfirmation
from workflows.property import PropertyWorkflow
from yishi.services.procedures import call_update, complete_task, file_objection

T = TypeVar("T")
OBJECTION_STAGES = {"elevator": ElevatorWorkflow.objection_stage, "property": PropertyWorkflow.objection_stage}
MAX_OBJECTION_CHARS = 2000

@dataclass
class OwnerShare:
    plan_id: str
    rooms: tuple[str, ...]
    amount: Decimal
    confirmed: bool


@dataclass
class Matter:
    """A procedure from one owner's side."""

    deliberation_id: str
    procedure: str
    title: str
    stage: str | None
    deadline: datetime | None
    outcome: str | None
    approved: bool | None
    head: tuple[int, str] | None
    share: OwnerShare | None
    objections: list[dict[str, str]] = field(default_factory=list)
    deemed: bool = False  # the result was decided by the deemed tally (silent-owner deeming; VoteCounted.deemed)
    deadline_fallback_years: tuple[int, ...] = ()
    """The years ``deadline`` was counted on weekends only (no State Council schedule loaded for them)."""

    @property
    def objections_open(self) -> bool:
        return self.stage is not None and self.stage == OBJECTION_STAGES.get(self.procedure)

    @property
    def can_confirm_share(self) -> bool:
        return self.stage == "cost_sharing" and self.share is not None and not self.share.confirmed


async def load_matter(store: EventStore, deliberation_id: str, owner_id: str) -> Matter | None:
    """The procedure behind ``deliberation_id`` as ``owner_id`` sees it; None for a plain ballot."""
    events = [stage_event_from_dict(e.type, e.payload)
              for e in await store.read_types(deliberation_id, STAGE_EVENT_TYPES)]
    if not events or events[0].type != "ProcedureStarted":
        return None
    first: Any = events[0]
    matter = Matter(deliberation_id=deliberation_id, procedure=first.procedure, title=first.title, stage=None,
                    deadline=None, outcome=None, approved=None, head=None, share=None)
    confirmed: set[tuple[str, str]] = set()
    for event in events:
        e: Any = event
        match e.type:
            case "StageEntered":
                matter.stage, matter.deadline, matter.deadline_fallback_years = e.stage, e.deadline, e.fallback_years
            case "VoteCounted":
                matter.approved, matter.head = e.approved, (e.head_seq, e.head_hash)
                matter.deemed = bool(e.deemed)
            case "CostPlanProposed":
                mine = next((s for s in e.shares if s.owner_id == owner_id), None)
                matter.share = None if mine is None else OwnerShare(e.plan_id, mine.rooms, mine.amount, False)
            case "ShareConfirmed":
                confirmed.add((e.plan_id, e.owner_id))
            case "ObjectionFiled" if e.owner_id == owner_id:
                matter.objections.append({"objection_id": e.objection_id, "text": e.text})
            case "ProcedureClosed":
                matter.outcome = e.outcome
    if matter.share is not None:
        matter.share.confirmed = (matter.share.plan_id, owner_id) in confirmed
    return matter


class MatterNotRunningError(Exception):
    """The deliberation has no running workflow — never started (a plain ballot), or already ended — so an act on
    it cannot be taken; Temporal answered "not found". Not a reason to try again, unlike Temporal being away."""

    def __init__(self, deliberation_id: str) -> None:
        super().__init__(f"事项 {deliberation_id} 不在办理中 / matter {deliberation_id} is not running")
        self.deliberation_id = deliberation_id


async def _running(deliberation_id: str, act: Awaitable[T]) -> T:
    try:
        return await act
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise MatterNotRunningError(deliberation_id) from None
        raise


async def confirm_share(client: Client, deliberation_id: str, owner_id: str, update_id: str | None = None
                        ) -> TaskReceipt:
    """The owner agrees to their share of the elevator's cost (validated by the workflow)."""
    return await _running(deliberation_id, call_update(client, deliberation_id, "confirm_share",
                                                 ShareConfirmation(owner_id=owner_id), TaskReceipt, update_id))


async def object_to(client: Client, deliberation_id: str, owner_id: str, text: str, update_id: str | None = None
                    ) -> ObjectionReceipt:
    """File the owner's objection; the workflow opens a mediation task for the community.

    ``update_id`` comes from the form's nonce: the same form sent twice files one objection."""
    objection = ObjectionInput(owner_id=owner_id, text=text.strip()[:MAX_OBJECTION_CHARS])
    return await _running(deliberation_id, file_objection(client, deliberation_id, objection, update_id))


async def complete_matter_task(client: Client, deliberation_id: str, completion: TaskCompletion) -> TaskReceipt:
    """A committee member completes a task (see ``procedures.complete_task``); :class:`MatterNotRunningError`
    when the deliberation's workflow is not running."""
    return await _running(deliberation_id, complete_task(client, deliberation_id, completion))
