"""Deliberations: freeze the roll, register the deliberation and start its workflow.

The stream is the record; the ``rolls`` and ``deliberations`` tables are what it refers to and a listing.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta

import asyncpg
from pydantic import BaseModel, ConfigDict, model_validator
from temporalio.client import Client, WorkflowHandle

from activities.box import OpenBoxInput
from domain.events import Question
from domain.procedures import paper_entry_until
from domain.roll import Roll, Scope
from domain.rules import get_rule
from domain.tally import check_deeming
from workflows.ballot_box import BoxParams, BoxResult


class DeliberationSpec(BaseModel):
    """What a committee decides when it opens a deliberation."""

    model_config = ConfigDict(frozen=True)
    procedure: str
    title: str
    rule_id: str
    scope: Scope
    question: Question
    notice_zh: str = ""
    notice_en: str = ""
    opens_at: datetime
    closes_at: datetime
    ballots_changeable: bool = True
    proxy_limit: int = 3
    deem_silent: bool = False
    deem_over_half: bool = False
    """Deem silent owners only when the majority's own ballots exceed half of all owners (needs deem_silent)."""
    previous_id: str | None = None
    community: str = "default"
    """The community (社区) it belongs to: the console lists and filters by it."""
    paper_entry: str | None = None
    """The paper-entry window after the close (``eod``, ``PT12H``, ``PT0S``; domain.procedures.paper_entry_until).
    None: a plain box (demos, drills, benchmarks) seals at the close. Procedures default to ``eod``."""

    @model_validator(mode="after")
    def _over_half_needs_deeming(self) -> DeliberationSpec:
        check_deeming(self.deem_silent, self.deem_over_half)  # refused before anything is stored or started
        self.paper_entry_until()  # an unreadable window is refused here too
        return self

    def paper_entry_until(self) -> datetime | None:
        return None if self.paper_entry is None else paper_entry_until(self.closes_at, self.paper_entry)


def new_deliberation_id(procedure: str) -> str:
    return f"{procedure}-{secrets.token_hex(6)}"


async def store_roll(pool: asyncpg.Pool, roll: Roll) -> str:
    """Freeze ``roll`` under its digest (idempotent) and return the digest."""
    digest = roll.digest()
    entries = [e.model_dump(mode="json") for e in roll.entries()]
    contacts = {r.owner_id: {"name": r.owner_name, "phone": r.phone} for r in roll.rooms}
    async with pool.acquire() as conn:
        # One row, whatever the size of the roll: the pool's 30 s guard against a hung statement would refuse a
        # roll of 1,000,000 owners (~150 MB of JSON) on a busy machine, so this statement gets a second a 10,000.
        await conn.execute(
            "INSERT INTO rolls (digest, entries, contacts, source) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (digest) DO NOTHING", digest, entries, contacts, roll.source,
            timeout=30 + len(entries) / 10_000,
        )
    return digest


async def register(pool: asyncpg.Pool, deliberation_id: str, spec: DeliberationSpec, digest: str) -> None:
    get_rule(spec.rule_id)  # an unknown rule fails here, with the list of valid ones
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO deliberations (id, procedure, title, rule_id, scope, roll_digest, opens_at, closes_at,"
            " changeable, question_zh, question_en, notice_zh, notice_en, workflow_id, previous_id, community)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$1,$14,$15) ON CONFLICT (id) DO NOTHING",
            deliberation_id, spec.procedure, spec.title, spec.rule_id, json.loads(spec.scope.model_dump_json()),
            digest, spec.opens_at, spec.closes_at, spec.ballots_changeable, spec.question.text_zh,
            spec.question.text_en, spec.notice_zh, spec.notice_en, spec.previous_id, spec.community,
        )


def box_params(deliberation_id: str, spec: DeliberationSpec, digest: str,
               checkpoint_every: timedelta = timedelta(hours=1)) -> BoxParams:
    return BoxParams(
        open=OpenBoxInput(
            deliberation_id=deliberation_id, roll_digest=digest, scope=spec.scope, rule_id=spec.rule_id,
            questions=(spec.question,), opens_at=spec.opens_at, closes_at=spec.closes_at,
            ballots_changeable=spec.ballots_changeable, proxy_limit=spec.proxy_limit,
            deem_silent=spec.deem_silent, deem_over_half=spec.deem_over_half,
            paper_entry_until=spec.paper_entry_until(),
        ),
        checkpoint_every=checkpoint_every,
    )


async def start_vote(
    client: Client, pool: asyncpg.Pool, roll: Roll, spec: DeliberationSpec, *, task_queue: str,
    deliberation_id: str | None = None, checkpoint_every: timedelta = timedelta(hours=1),
) -> tuple[str, WorkflowHandle]:
    """Freeze the roll, register the deliberation and start its ballot box; return id and handle."""
    deliberation_id = deliberation_id or new_deliberation_id(spec.procedure)
    roll.select(spec.scope)  # an empty or unknown scope fails before anything is stored
    digest = await store_roll(pool, roll)
    await register(pool, deliberation_id, spec, digest)
    handle = await client.start_workflow(
        "BallotBox", box_params(deliberation_id, spec, digest, checkpoint_every),
        id=deliberation_id, task_queue=task_queue, result_type=BoxResult,
    )
    return deliberation_id, handle
