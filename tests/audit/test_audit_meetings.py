"""Meetings in the audit: ``yishi audit verify meeting-…`` replays the meeting's run and its vote's box, checks both
streams (chain; the meeting's own rules; the box recounted, the meeting never), the export carries them and
tools/verify_export.py agrees; a minute changed in the database afterwards is named by stream and seq by both."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from audit_helpers import run_standalone, until
from click.testing import CliRunner
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.worker import Worker
from test_audit_cli import env  # noqa: F401 - the CLI's environment
from test_audit_tamper import unguarded

from activities.box import load_box
from activities.eventstore import EventStore, NewEvent
from activities.registry import build_activities
from domain.commands import CastBallot
from domain.decider import decide
from domain.meeting_events import MeetingDecision, Option, PartySpec, vote_id
from domain.roll import Scope
from domain.topic_events import Actor
from tests.workflows.conftest import estate_roll
from workflows.meeting import ItemSpec
from workflows.registry import WORKFLOWS
from yishi.cli.audit import audit
from yishi.services.audit import export, verify
from yishi.services.meeting_links import confirm_by_link, invitation_links, position_by_link, sign_by_link
from yishi.services.meetings import (
    VoteRequest,
    decide_item,
    hold,
    meeting_state,
    record_minutes,
    schedule_meeting,
    scheduled_event,
)
from yishi.settings import Settings

CLERK = Actor(kind="committee", name="李书记", account="li", community="audit")
KEY = "audit-meeting-key"


def named(checks: list[dict[str, Any]], name: str, subject: str) -> dict[str, Any]:
    return next(c for c in checks if c["name"] == name and c["subject"] == subject)


async def _cast(store: EventStore, did: str, owner: str, question: str, choice: str) -> None:
    state, _ = await load_box(store, did)
    events = decide(state, CastBallot(owner_id=owner, choice=choice, cast_at=datetime.now(UTC), question_id=question))
    await store.append(did, [NewEvent(type=e.type, payload=e.model_dump(mode="json"), occurred_at=datetime.now(UTC))
                             for e in events])


async def _published_meeting(client: Client, pool: Any, store: EventStore) -> tuple[str, str]:
    """A meeting held an hour from now (sign-in opens two hours before): two parties state positions through their
    links, a vote on two options opens and closes in seconds, one party confirms, the window (3 s) ends."""
    settings = Settings(task_queue=f"audit-meeting-{uuid.uuid4().hex[:8]}", secret_key=SecretStr(KEY),
                        meeting_confirm="PT3S", meeting_remind_before="PT1S")
    async with Worker(client, task_queue=settings.task_queue, workflows=WORKFLOWS,
                      activities=build_activities(store, pool, settings)):
        now = datetime.now(UTC)
        event = scheduled_event(community="audit", title="审计议事会", kind="council",
                                starts_at=now + timedelta(hours=1), place="社区议事厅", by=CLERK, now=now)
        sites = (Option(id="A", text="东门"), Option(id="B", text="北侧"))
        parties = (PartySpec(party_id="p1", kind="party_member", name="党员代表"),
                   PartySpec(party_id="p2", kind="property_company", name="物业"))
        meeting_id = await schedule_meeting(client, pool, event, settings=settings, parties=parties,
                                            items=(ItemSpec(title="充电桩选址", options=sites),))

        async def invited() -> bool:
            return len((await meeting_state(pool, meeting_id)).parties) == 2 and bool(
                (await meeting_state(pool, meeting_id)).items)

        await until(invited, "the parties invited")
        links = {c.holder: c.token for c in await invitation_links(pool, store, meeting_id, by="李书记", secret_key=KEY,
                                                                      now=datetime.now(UTC))}
        await position_by_link(client, pool, links["p1"], meeting_id, item_id="1", option="A", text="近")
        await position_by_link(client, pool, links["p2"], meeting_id, item_id="1", option="B", text="电容够")
        await sign_by_link(client, pool, links["door"], meeting_id, party_id="p1")
        await record_minutes(client, meeting_id, "1", "各方就两处选址发表意见", by=CLERK)
        await decide_item(client, pool, meeting_id, "1", MeetingDecision(kind="vote", summary="付诸表决"), by=CLERK,
                          roll=estate_roll(), settings=settings,
                          vote=VoteRequest(question="建在哪里", options=("A", "B"), scope=Scope(building="3"),
                                           voting="PT6S", paper_entry="PT0S"))
        did = vote_id(meeting_id, "1")

        async def box_open() -> bool:
            return (await load_box(store, did))[0].status == "open"

        await until(box_open, "the vote's box open")
        for i, owner in enumerate(("O311", "O312", "O321", "O322", "O331")):
            await _cast(store, did, owner, "option:A", "for" if i < 4 else "against")
            await _cast(store, did, owner, "option:B", "against")
        await hold(client, pool, meeting_id, by=CLERK)
        version = (await meeting_state(pool, meeting_id)).minutes_version
        await confirm_by_link(client, pool, links["p1"], meeting_id, minutes_version=version)
        await client.get_workflow_handle(meeting_id).result()
        await client.get_workflow_handle(did).result()
    return meeting_id, did


async def test_meeting_audit_green_then_red_after_a_minute_is_altered(
        temporal_client: Client, pool: Any, store: EventStore, tmp_path: Any,
        env: dict[str, str]) -> None:  # noqa: F811 - the fixture imported above
    meeting_id, did = await _published_meeting(temporal_client, pool, store)
    meeting = await meeting_state(pool, meeting_id)
    assert meeting.status == "published" and meeting.unconfirmed_at_publication == ("p2",)
    assert meeting.items["1"].vote is not None and meeting.items["1"].vote.winner == "A"
    report = await verify(meeting_id, pool=pool, client=temporal_client)
    assert report.ok, report.failures
    checks = report.to_json()["checks"]
    assert {(r["workflow_id"], r["workflow_type"]) for r in report.runs} >= {(meeting_id, "Meeting"),
                                                                            (did, "BallotBox")}
    assert named(checks, "meeting", meeting_id)["ok"] and "published" in named(checks, "meeting", meeting_id)["detail"]
    for stream in (meeting_id, did):
        assert named(checks, "chain", stream)["ok"]
    assert named(checks, "recount", did)["ok"]
    assert not [c for c in checks if c["name"] == "recount" and c["subject"] == meeting_id], "a meeting is no ballot"

    out = tmp_path / "export"
    manifest = await export(meeting_id, out, pool=pool, client=temporal_client)
    assert set(manifest["streams"]) >= {meeting_id, did}
    assert KEY not in (out / "events.jsonl").read_text(encoding="utf-8")
    code, standalone = run_standalone(out)
    assert code == 0 and standalone["ok"], [c for c in standalone["checks"] if not c["ok"]]
    assert named(standalone["checks"], "meeting", meeting_id)["ok"]
    assert not [c for c in standalone["checks"] if c["name"] == "recount" and c["subject"] == meeting_id]

    seq = next(e.seq for e in await store.read(meeting_id) if e.type == "MinutesRecorded")
    async with unguarded(pool) as conn:
        await conn.execute("UPDATE events SET payload = jsonb_set(payload, '{text}', '\"物业同意东门\"')"
                           " WHERE stream_id = $1 AND seq = $2", meeting_id, seq)
    try:
        report = await verify(meeting_id, pool=pool, client=temporal_client)
        assert not report.ok
        chain = named(report.to_json()["checks"], "chain", meeting_id)
        assert (chain["ok"], chain["seq"]) == (False, seq)
        tampered = tmp_path / "tampered"
        await export(meeting_id, tampered, pool=pool, client=temporal_client)
        code, standalone = run_standalone(tampered)
        assert code == 1 and named(standalone["checks"], "chain", meeting_id)["seq"] == seq
        result = await asyncio.to_thread(CliRunner().invoke, audit, ["verify", meeting_id])
        assert result.exit_code == 1, result.output
        assert f"FAIL hash chain 哈希链 [{meeting_id}]" in result.output and f"seq {seq}" in result.output
    finally:
        async with unguarded(pool) as conn:
            await conn.execute("UPDATE events SET payload = jsonb_set(payload, '{text}', '\"各方就两处选址发表意见\"')"
                               " WHERE stream_id = $1 AND seq = $2", meeting_id, seq)
    assert (await verify(meeting_id, pool=pool, client=temporal_client)).ok, "restored"
