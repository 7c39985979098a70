"""An appraisal run for the tests: a street's register, an estate whose owners rate its company, the window closed."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio.testing import WorkflowEnvironment

from activities.eventstore import EventStore
from domain.appraisal_events import AppraisalItem
from domain.company_decide import AssignEstate, AttributeTicket, RegisterCompany, SetItems
from domain.escalation import EscalationOpened
from domain.legal_calendar import BEIJING
from domain.operator import Operator
from domain.roll import Roll, Room
from tests.clock import advance_to
from workflows.appraisal import AppraisalOutcome
from yishi.services import appraisals, companies
from yishi.services.folds import new_events
from yishi.services.link_issuing import Actor

STREET_OFFICE = Operator(name="街道物业科", role="street_office", via="cli")
COMMITTEE = Operator(name="李书记", role="committee", via="cli")
BAD = "91350200776049653A"  # 安居物业: manages 幸福里
GOOD = "91350503MA31DKY80A"  # 宜家物业
ITEMS = (AppraisalItem(item_id="cleaning", name_zh="保洁", weight=25),
         AppraisalItem(item_id="security", name_zh="秩序维护", weight=25),
         AppraisalItem(item_id="repairs", name_zh="维修", weight=30),
         AppraisalItem(item_id="fees", name_zh="收费公开", weight=20))
KEY = "appraisal-test-key"


def estate_roll() -> Roll:
    """12 rooms, 11 owners: O311 holds two rooms (one owner, one rating)."""
    rooms = [Room(room_id=f"3-2-{f}0{u}", building="3", entrance="2", floor=str(f), area_m2=Decimal("88.50"),
                  owner_id="O311" if (f, u) == (1, 2) else f"O3{f}{u}", owner_name="业主")
             for f in range(1, 7) for u in (1, 2)]
    return Roll(rooms=tuple(rooms), source="test")


def quarter(at: datetime) -> str:
    local = at.astimezone(BEIJING)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


async def street_register(store: EventStore, now: datetime) -> str:
    street = f"s{uuid.uuid4().hex[:8]}"
    for command in (RegisterCompany(at=now, by=STREET_OFFICE, credit_code=BAD, name="安居物业"),
                    RegisterCompany(at=now, by=STREET_OFFICE, credit_code=GOOD, name="宜家物业"),
                    AssignEstate(at=now, by=STREET_OFFICE, estate="幸福里", community="xfl", credit_code=BAD,
                                 since=date(2020, 1, 1)),
                    SetItems(at=now, by=STREET_OFFICE, items=ITEMS)):
        await companies.act(store, street, command)
    return street


async def ticket_about(store: EventStore, street: str, credit_code: str, now: datetime) -> str:
    """An escalation ticket's stream (its opening) and the street's attribution of it to the company."""
    ticket_id = f"esc-{uuid.uuid4().hex[:12]}"
    opened = EscalationOpened(at=now, ticket_id=ticket_id, parent_id=None, community="xfl", category="housing",
                              subject="电梯长期停运无人维修", detail="3号楼电梯停运两周", initiator="O321",
                              initiator_kind="owner", levels=(), outcomes=("resolved",))
    await store.append(ticket_id, new_events([opened]))
    await companies.act(store, street, AttributeTicket(at=now, by=STREET_OFFICE, ticket_id=ticket_id,
                                                      credit_code=credit_code, note="物业维修不及时"))
    return ticket_id


async def open_and_link(env: WorkflowEnvironment, pool: Any, store: EventStore, street: str,
                        task_queue: str) -> tuple[str, dict[str, str], datetime]:
    now = (await env.get_current_time()).astimezone(UTC)
    req = appraisals.AppraisalRequest(street=street, estate="幸福里", period=quarter(now), by=COMMITTEE)
    appraisal_id = await appraisals.open_appraisal(env.client, pool, store, estate_roll(), req,
                                                   task_queue=task_queue, now=now)
    links = await appraisals.give_links(store, appraisal_id, actor=Actor(by="李书记", via="cli"), secret_key=KEY,
                                        now=now)
    return appraisal_id, {link.owner_id: link.token for link in links}, now


async def close(env: WorkflowEnvironment, store: EventStore, appraisal_id: str) -> AppraisalOutcome:
    state = await appraisals.appraisal(store, appraisal_id)
    assert state.opened is not None
    await advance_to(env, state.opened.closes_at)
    handle = env.client.get_workflow_handle(appraisal_id, result_type=AppraisalOutcome)
    return await handle.result()


def scores(cleaning: int, security: int, repairs: int, fees: int) -> dict[str, int]:
    return {"cleaning": cleaning, "security": security, "repairs": repairs, "fees": fees}


def remind_at(closes_at: datetime) -> datetime:
    return closes_at - timedelta(days=2)
