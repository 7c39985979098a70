"""Stage activities: append a procedure's stage events, issue door-knock lists, compute the cost plan.

Every append carries an idempotency key chosen by the workflow (one per stage, task or notice), so a
retried activity, or one re-run after a worker was killed between the commit and Temporal hearing of it,
finds its own events instead of writing new ones.
"""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import structlog
from pydantic import AwareDatetime, BaseModel, ConfigDict
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.box import load_box
from activities.eventstore import EventStore, NewEvent, StoredEvent
from domain.numbers import Area
from domain.procedures import CostShareError, cost_shares
from domain.roll import Roll, RoomEntry, Scope
from domain.stage_events import CostPlanProposed, DoorKnockListIssued, StageEvent

log = structlog.get_logger(__name__)


class StageAppend(BaseModel):
    model_config = ConfigDict(frozen=True)
    deliberation_id: str
    key: str
    events: tuple[StageEvent, ...]


class Appended(BaseModel):
    """Where the first event of the append stands in the stream (the same on a retried append)."""

    model_config = ConfigDict(frozen=True)
    seq: int
    hash: str


class DoorKnockInput(BaseModel):
    model_config = ConfigDict(frozen=True)
    deliberation_id: str
    box_stream: str
    list_id: str
    at: AwareDatetime


class DoorKnockListRef(BaseModel):
    """A door-knock list as the workflow keeps it: its id and size, not its owners (they are in the stream)."""

    model_config = ConfigDict(frozen=True)
    list_id: str
    count: int


class CostPlanInput(BaseModel):
    model_config = ConfigDict(frozen=True)
    deliberation_id: str
    plan_id: str
    roll_digest: str
    scope: Scope
    total: Area
    coefficients: dict[str, Area] = {}
    ground_floor: str = "1"
    ground_coefficient: Area = Decimal(0)
    by_area: bool = True
    at: AwareDatetime


def to_new(events: tuple[StageEvent, ...] | list[StageEvent]) -> list[NewEvent]:
    return [NewEvent(type=e.type, payload=e.model_dump(mode="json"), occurred_at=e.at) for e in events]


async def load_roll_entries(pool: asyncpg.Pool, digest: str) -> tuple[Roll, dict[str, dict[str, str]]]:
    """The frozen roll and its contacts (owner id -> name, phone), which never enter the stream."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT entries, contacts FROM rolls WHERE digest = $1", digest)
    if row is None:
        raise ApplicationError(f"roll {digest} is not stored", non_retryable=True)
    return Roll.from_entries([RoomEntry(**e) for e in row["entries"]]), dict(row["contacts"] or {})


class StageActivities:
    def __init__(self, store: EventStore, pool: asyncpg.Pool) -> None:
        self._store = store
        self._pool = pool

    async def _append(self, deliberation_id: str, key: str, events: list[NewEvent]) -> list[StoredEvent]:
        return await self._store.append(deliberation_id, events, idempotency_key=key)

    @activity.defn(name="append_stage_events")
    async def append_stage_events(self, params: StageAppend) -> Appended:
        stored = await self._append(params.deliberation_id, params.key, to_new(params.events))
        log.info("stage.appended", deliberation_id=params.deliberation_id, key=params.key, seq=stored[0].seq,
                 types=[e.type for e in params.events])
        return Appended(seq=stored[0].seq, hash=stored[0].hash)

    @activity.defn(name="issue_door_knock_list")
    async def issue_door_knock_list(self, params: DoorKnockInput) -> DoorKnockListIssued:
        """Owners of the box's scope with no counted ballot on any question, and their rooms, for the grid
        workers' door-knock round. Names and phones stay in the roll's contacts, out of the stream."""
        return await self._door_knock(params)

    @activity.defn(name="record_door_knock_list")
    async def record_door_knock_list(self, params: DoorKnockInput) -> DoorKnockListRef:
        """The same list, recorded in the stream, answered by its id and size only (patch ``reminder-by-list``):
        the list of a large estate's non-voters would exceed what a workflow's history may carry."""
        listed = await self._door_knock(params)
        return DoorKnockListRef(list_id=listed.list_id, count=len(listed.owners))

    async def _door_knock(self, params: DoorKnockInput) -> DoorKnockListIssued:
        state, _ = await load_box(self._store, params.box_stream)
        if state.opened is None:
            raise ApplicationError(f"no ballot box on {params.box_stream}", non_retryable=True)
        questions = [q.id for q in state.opened.questions]
        owners = sorted(o for o in state.electorate.owner_areas
                        if all(state.tally(q).counted_choice(o) is None for q in questions))
        scope = state.opened.scope
        rooms = sorted(r.room_id for r in state.opened.roll if r.owner_id in owners and scope.contains(r))
        event = DoorKnockListIssued(at=params.at, list_id=params.list_id, box_stream=params.box_stream,
                                    owners=tuple(owners), rooms=tuple(rooms))
        stored = await self._append(params.deliberation_id, f"doorknock:{params.list_id}", to_new([event]))
        return DoorKnockListIssued(**stored[0].payload)

    @activity.defn(name="propose_cost_plan")
    async def propose_cost_plan(self, params: CostPlanInput) -> CostPlanProposed:
        roll, _ = await load_roll_entries(self._pool, params.roll_digest)
        rooms = [r for r in roll.entries() if params.scope.contains(r)]
        try:
            shares = cost_shares(params.total, rooms, params.coefficients, ground_floor=params.ground_floor,
                                 ground_coefficient=params.ground_coefficient, by_area=params.by_area)
        except CostShareError as exc:
            raise ApplicationError(str(exc), type="CostShareError", non_retryable=True) from None
        event = CostPlanProposed(at=params.at, plan_id=params.plan_id, total=params.total, shares=shares,
                                 coefficients=params.coefficients, ground_floor=params.ground_floor,
                                 by_area=params.by_area)
        stored = await self._append(params.deliberation_id, f"plan:{params.plan_id}", to_new([event]))
        return CostPlanProposed(**stored[0].payload)
