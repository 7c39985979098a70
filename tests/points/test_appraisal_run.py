"""A quarterly appraisal end to end on the time-skipping server: the street's register, the committee opens it with a
frozen roll, owners rate through their personal links (one rating per owner; a revoked link and a late rating
refused), the workflow reminds and closes with the exact result, the street publishes its red/black list from the
scores and an attributed ticket, and a property-replacement candidate on the black list is flagged."""

from __future__ import annotations

import asyncio
from fractions import Fraction
from typing import Any

import pytest

from activities.eventstore import EventStore
from domain.appraisal import AlreadyRatedError, AppraisalError
from domain.roll import Scope
from tests.clock import advance_to
from tests.points.appraisal_setup import (
    BAD,
    COMMITTEE,
    GOOD,
    KEY,
    STREET_OFFICE,
    close,
    estate_roll,
    open_and_link,
    quarter,
    remind_at,
    scores,
    street_register,
    ticket_about,
)
from tests.workflows.conftest import running_worker, save_history
from workflows.appraisal import AppraisalOutcome
from yishi.services import appraisals, companies
from yishi.services.link_issuing import Actor, revoke_link
from yishi.services.links import RevokedLinkError
from yishi.services.procedures import StartRequest, procedure_status, start_procedure


async def test_appraisal_to_the_black_list_and_the_candidate_flag(ts_env: Any, pool: Any, store: EventStore,
                                                                  task_queue: str) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        now = await env.get_current_time()
        street = await street_register(store, now)
        appraisal_id, tokens, opened_at = await open_and_link(env, pool, store, street, task_queue)
        assert len(tokens) == 11  # 12 rooms, 11 owners: O311's two rooms are one owner
        low = {"O311": scores(2, 3, 1, 2), "O321": scores(3, 3, 2, 2), "O322": scores(2, 2, 2, 3),
               "O331": scores(3, 2, 1, 1), "O332": scores(2, 3, 2, 2), "O341": scores(4, 3, 2, 3)}
        for owner, given in low.items():
            await appraisals.rate(pool, store, tokens[owner], given, now=opened_at)
        with pytest.raises(AlreadyRatedError, match="each owner rates once"):
            await appraisals.rate(pool, store, tokens["O311"], scores(5, 5, 5, 5), now=opened_at)
        await revoke_link(store, appraisal_id, "O342", now=opened_at, actor=Actor(by="李书记", via="cli"),
                          reason="链接外泄")
        with pytest.raises(RevokedLinkError):
            await appraisals.rate(pool, store, tokens["O342"], scores(5, 5, 5, 5), now=opened_at)

        state = await appraisals.appraisal(store, appraisal_id)
        await advance_to(env, remind_at(state.opened.closes_at))  # type: ignore[union-attr]
        outcome = await close(env, store, appraisal_id)
        state = await appraisals.appraisal(store, appraisal_id)
        assert state.reminders == 1
        result = state.recorded.result  # type: ignore[union-attr]
        # items: cleaning 16/6, security 16/6, repairs 10/6, fees 13/6 → ×20 each, weighted 25/25/30/20
        assert {i.item_id: i.mean for i in result.items} == {"cleaning": Fraction(8, 3), "security": Fraction(8, 3),
                                                              "repairs": Fraction(5, 3), "fees": Fraction(13, 6)}
        assert result.score == Fraction(25 * 160 + 25 * 160 + 30 * 100 + 20 * 130, 3 * 100)  # 136/3 ≈ 45.33
        assert (result.raters, result.eligible, result.participation) == (6, 11, Fraction(6, 11))
        assert outcome == AppraisalOutcome(appraisal_id=appraisal_id, seq=outcome.seq, hash=outcome.hash,
                                           score="136/3", raters=6)
        with pytest.raises(AppraisalError, match="closed"):
            await appraisals.rate(pool, store, tokens["O351"], scores(5, 5, 5, 5), now=await env.get_current_time())

        ticket = await ticket_about(store, street, GOOD, opened_at)
        published = await companies.publish_list(store, street, quarter(opened_at), by=STREET_OFFICE,
                                                 now=await env.get_current_time())
        entries = {e.credit_code: e for e in published.entries}
        assert entries[BAD].list == "black" and entries[BAD].appraisals == (appraisal_id,)
        assert entries[GOOD].list == "none" and entries[GOOD].tickets == (ticket,) and entries[GOOD].score is None

        req = StartRequest(procedure="property", title="更换物业", scope=Scope(), initiator_role="owners_committee",
                           options={"candidates": [{"id": "A", "name": "安居物业", "credit_code": BAD.lower()},
                                                   {"id": "B", "name": "宜家物业", "credit_code": GOOD},
                                                   {"id": "C", "name": "新物业"}]})
        did, _ = await start_procedure(env.client, pool, estate_roll(), req, task_queue=task_queue)
        flags = await companies.deliberation_flags(pool, store, did)
        assert [f["street"] for f in flags["A"]["black_list"]] == [street] and flags["A"]["credit_code"] == BAD
        assert flags["B"]["black_list"] == [] and flags["C"]["credit_code"] is None
        await until_started(store, did)
        assert (await procedure_status(store, did))["candidates"]["A"]["black_list"][0]["score"] == "45.33"
        await save_history(env.client.get_workflow_handle(appraisal_id), "appraisal")


async def until_started(store: EventStore, deliberation_id: str) -> None:
    for _ in range(200):
        if await store.read(deliberation_id, limit=1):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{deliberation_id} did not start")


async def test_a_candidate_code_must_pass_its_check(ts_env: Any, pool: Any, store: EventStore,
                                                    task_queue: str) -> None:
    from pydantic import ValidationError

    req = StartRequest(procedure="property", title="更换物业", scope=Scope(), initiator_role="owners_committee",
                       options={"candidates": [{"id": "A", "name": "安居物业", "credit_code": "91350200776049653B"}]})
    with pytest.raises(ValidationError, match="should be 'A', not 'B'"):
        await start_procedure(ts_env.client, pool, estate_roll(), req, task_queue=task_queue)
    assert COMMITTEE.role == "committee" and KEY
