"""Residents appraise the property company: open an appraisal, hand out the owners' links, take ratings.

The committee opens an appraisal for an estate; the street's register says which company manages it and on what
items and weights it is rated. The roll is frozen as for a vote (``rolls`` table; its counting fields and digest go
into ``AppraisalOpened``), the appraisal is scheduled in the register (so the street's list finds it), and the
``Appraisal`` workflow holds the window: a reminder before the close, the close, the exact result
(workflows/appraisal.py). Owners rate through personal links of the ``links`` table issued for the appraisal's stream
(yishi/services/link_issuing.py: every issue, reissue and print recorded in it), one rating per owner, decided under
the stream's lock, refused once the link is revoked or the window closed.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

import asyncpg
import structlog
from pydantic import BaseModel, ConfigDict
from temporalio.client import Client

from activities.eventstore import EventStore, StoredEvent
from domain.appraisal import Appraisal, AppraisalError, Rate, decide_rate
from domain.appraisal_events import (
    APPRAISAL_EVENT_TYPES,
    AppraisalOpened,
    AppraisalResult,
    appraisal_event_from_dict,
)
from domain.company_decide import ScheduleAppraisal
from domain.errors import N_
from domain.legal_calendar import HolidayFile
from domain.operator import Operator
from domain.procedures import parse_period
from domain.roll import Roll, Scope
from yishi.services import companies
from yishi.services.appraisal_rows import project_appraisal
from yishi.services.deliberations import store_roll
from yishi.services.folds import FoldSpec, append_decided, load, new_events
from yishi.services.link_issuing import Actor, issue_and_disclose
from yishi.services.links import IssuedLink, LinkHolder, resolve_link

log = structlog.get_logger(__name__)
APPRAISAL: FoldSpec[Appraisal] = FoldSpec("appraisal", APPRAISAL_EVENT_TYPES, appraisal_event_from_dict, Appraisal,
                                          Appraisal.apply, Appraisal.copy)
WORKFLOW = "Appraisal"
OPENED_KEY = "opened"


class AppraisalRequest(BaseModel):
    model_config = ConfigDict(frozen=True)
    street: str
    estate: str
    period: str
    window: str = "P14D"
    """How long owners have (calendar days end at 24:00 of the last day, 民法典 第201–203条)."""
    remind: str = "P2D"
    """How long before the close the workflow reminds those who have not rated ('PT0S': no reminder)."""
    scope: Scope = Scope()
    by: Operator


def new_appraisal_id() -> str:
    return f"appraisal-{secrets.token_hex(6)}"


async def appraisal(store: EventStore, appraisal_id: str) -> Appraisal:
    return await load(store, appraisal_id, APPRAISAL)


async def open_appraisal(client: Client, pool: asyncpg.Pool, store: EventStore, roll: Roll, req: AppraisalRequest, *,
                         task_queue: str, now: datetime, holiday_file: HolidayFile | None = None,
                         appraisal_id: str | None = None) -> str:
    """Schedule the appraisal in the street's register, record it opened with the frozen roll, start its workflow;
    returns its id (also its stream and workflow id)."""
    from workflows.appraisal import AppraisalInput  # the workflow module, only when an appraisal is opened

    appraisal_id = appraisal_id or new_appraisal_id()
    roll.select(req.scope)  # an empty or unknown scope fails before anything is stored
    await companies.act(store, req.street, ScheduleAppraisal(at=now, by=req.by, appraisal_id=appraisal_id,
                                                             estate=req.estate, period=req.period),
                        key=f"schedule:{appraisal_id}")
    register = await companies.register(store, req.street)
    scheduled = register.appraisals[appraisal_id]
    closes_at = parse_period(req.window).end(now, holiday_file)
    remind_at = closes_at - parse_period(req.remind).span()
    digest = await store_roll(pool, roll)
    opened = AppraisalOpened(
        at=now, by=req.by, appraisal_id=appraisal_id, street=req.street, community=scheduled.community,
        estate=req.estate, company=register.company(scheduled.credit_code), period=req.period, items=register.items,
        owner_weight=register.owner_weight, scope=req.scope, roll_digest=digest, roll=roll.entries(), opens_at=now,
        closes_at=closes_at)
    await store.append(appraisal_id, new_events([opened]), idempotency_key=OPENED_KEY)
    await project_appraisal(store, pool, appraisal_id)
    params = AppraisalInput(appraisal_id=appraisal_id, roll_digest=digest, closes_at=closes_at,
                            remind_at=remind_at if now < remind_at < closes_at else None)
    await client.start_workflow(WORKFLOW, params, id=appraisal_id, task_queue=task_queue)
    log.info("appraisal.opened", appraisal_id=appraisal_id, street=req.street, estate=req.estate,
             credit_code=scheduled.credit_code, period=req.period, closes_at=closes_at.isoformat(), by=req.by.name)
    return appraisal_id


async def close_early(client: Client, store: EventStore, appraisal_id: str, *, by: Operator) -> None:
    """The committee closes the appraisal before its window ends: its workflow closes it and records the result as
    at the deadline (``AppraisalClosed`` with reason ``committee`` and who). Refused when it is not open."""
    from workflows.appraisal import CloseRequest

    state = await appraisal(store, appraisal_id)
    if state.opened is None:
        raise AppraisalError(N_("no appraisal %(appraisal_id)s"), appraisal_id=appraisal_id)
    if state.closed is not None:
        raise AppraisalError(N_("the appraisal has closed already"))
    await client.get_workflow_handle(appraisal_id).signal("close_now", CloseRequest(by=by))
    log.info("appraisal.close_requested", appraisal_id=appraisal_id, by=by.name, role=by.role)


async def owners(store: EventStore, appraisal_id: str) -> list[str]:
    """The owners who may rate (in the appraisal's scope), in roll order."""
    state = await appraisal(store, appraisal_id)
    if state.opened is None:
        raise AppraisalError(N_("no appraisal %(appraisal_id)s"), appraisal_id=appraisal_id)
    return list(state.areas)


async def give_links(store: EventStore, appraisal_id: str, owner_ids: Iterable[str] | None = None, *, actor: Actor,
                     secret_key: str, now: datetime, fmt: str = "csv") -> list[IssuedLink]:
    """Issue (what is missing) and show the owners' personal links for the appraisal, both recorded in its stream."""
    wanted = list(owner_ids) if owner_ids is not None else await owners(store, appraisal_id)
    return await issue_and_disclose(store, appraisal_id, wanted, secret_key=secret_key, now=now, actor=actor, fmt=fmt)


async def rate_as(store: EventStore, holder: LinkHolder, scores: dict[str, int], *, now: datetime,
                  key: str | None = None) -> StoredEvent:
    """The owner's rating through their link (refused once the link is revoked, a second time, or after the close)."""
    by = Operator(name=holder.owner_id, role="owner", via="link")
    command = Rate(at=now, by=by, owner_id=holder.owner_id, scores=scores, link_generation=holder.generation)
    stored = await append_decided(store, holder.deliberation_id, APPRAISAL,
                                  lambda state: new_events(decide_rate(state, command)), idempotency_key=key,
                                  link=holder.token_hash)
    await project_appraisal(store, store.pool, holder.deliberation_id)
    log.info("appraisal.rated", appraisal_id=holder.deliberation_id, seq=stored[0].seq)
    return stored[0]


async def rate(pool: asyncpg.Pool, store: EventStore, token: str, scores: dict[str, int], *, now: datetime,
               key: str | None = None) -> StoredEvent:
    holder = await resolve_link(pool, token)
    if not holder.deliberation_id.startswith("appraisal-"):
        raise AppraisalError(N_("this link is not an appraisal link"))
    return await rate_as(store, holder, scores, now=now, key=key)


def result_of(state: Appraisal) -> AppraisalResult | None:
    """The recorded result once closed, else the running one (None before the open)."""
    if state.recorded is not None:
        return state.recorded.result
    return state.result() if state.opened is not None else None


def remaining(state: Appraisal, now: datetime) -> timedelta | None:
    if state.opened is None or state.closed is not None:
        return None
    return max(state.opened.closes_at - now, timedelta(0))
