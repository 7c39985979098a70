"""Topics in the audit: ``yishi audit verify topic-…`` replays the topic's runs and its ticket's, checks both streams
(chain, the topic's own rules), the export carries them and tools/verify_export.py agrees; a comment changed in the
database afterwards is named by stream and seq by both verifiers."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from audit_helpers import query, run_standalone, until
from click.testing import CliRunner
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.worker import Worker
from test_audit_cli import env  # noqa: F401 - the CLI's environment
from test_audit_tamper import unguarded

from activities.eventstore import EventStore
from activities.registry import build_activities
from domain.escalation import Ticket
from domain.topic_events import Actor
from workflows.escalation import TicketAction
from workflows.registry import WORKFLOWS
from yishi.cli.audit import audit
from yishi.services import escalations
from yishi.services.audit import export, verify
from yishi.services.capabilities import resolve_capability
from yishi.services.topic_intake import (
    Proposer,
    TopicForm,
    give_feedback,
    hide_comment,
    post_comment,
    raise_topic,
    support_topic,
)
from yishi.services.topic_routes import route_to_ladder
from yishi.services.topics import take, topic_state
from yishi.settings import Settings

CLERK = Actor(kind="committee", name="李书记", account="li", community="audit")


def named(checks: list[dict[str, Any]], name: str, subject: str) -> dict[str, Any]:
    return next(c for c in checks if c["name"] == name and c["subject"] == subject)


async def _closed_topic(client: Client, pool: Any, store: EventStore) -> tuple[str, str, str]:
    """A topic raised, commented on (one comment hidden), routed to the ladder, resolved by its ticket, rated by
    both respondents and closed: both workflows have finished."""
    settings = Settings(task_queue=f"audit-topic-{uuid.uuid4().hex[:8]}", secret_key=SecretStr("audit-topic-key"))
    key = settings.secret_key.get_secret_value()
    worker = Worker(client, task_queue=settings.task_queue, workflows=WORKFLOWS,
                    activities=build_activities(store, pool, settings))
    async with worker:
        now = datetime.now(UTC)
        result = await raise_topic(client, pool, TopicForm(community="audit", title="楼道油烟",
                                                           description="一楼餐馆排烟", phone="13900001111"),
                                   Proposer(source="intake", kind="tenant"), settings=settings, now=now)
        topic_id = result.topic_id
        proposer = (await resolve_capability(pool, result.tracking.token)).holder
        await support_topic(pool, topic_id, supporter="owner:O11", kind="owner", secret_key=key, now=now)
        kept = await post_comment(pool, topic_id, author="owner:O11", author_kind="owner", text="我家也闻到", now=now)
        hidden = await post_comment(pool, topic_id, author="owner:O12", author_kind="owner",
                                    text="某某家电话 139xxxx", now=now)
        await hide_comment(pool, topic_id, hidden, reason="含他人电话", by=CLERK, now=now)

        async def assigned() -> bool:
            return (await topic_state(pool, topic_id)).take_up is not None

        await until(assigned, "the take-up deadline")
        await take(client, topic_id, by=CLERK)
        ticket_id, _ = await route_to_ladder(client, pool, topic_id, category="urban_management",
                                             start_level="street", by=CLERK)

        async def level() -> bool:  # the ticket's workflow itself has seen its first assignment (not only the store)
            state = await query(client.get_workflow_handle(ticket_id), "ticket", result_type=Ticket,
                                rpc_timeout=timedelta(seconds=4))
            return state is not None and state.current is not None

        await until(level, "the ticket's first level")
        street = {"role": "street_office", "actor": "王科长", "org": "street"}
        await escalations.act(client, ticket_id, "resolve", TicketAction(**street, outcome="resolved", text="已整改"))
        await escalations.act(client, ticket_id, "follow_up", TicketAction(
            role="committee", actor="李书记", org="committee:audit", outcome="satisfied"))

        async def resolved() -> bool:
            return (await topic_state(pool, topic_id)).status == "resolved"

        await until(resolved, "the topic resolved by its ticket")
        await give_feedback(client, pool, topic_id, respondent=proposer, answer="satisfied", now=datetime.now(UTC))
        await give_feedback(client, pool, topic_id, respondent="owner:O11", answer="basically_satisfied",
                            now=datetime.now(UTC))
        await client.get_workflow_handle(topic_id).result()
        await client.get_workflow_handle(ticket_id).result()
    return topic_id, ticket_id, kept


async def test_topic_audit_green_then_red_after_a_comment_is_altered(
        temporal_client: Client, pool: Any, store: EventStore, tmp_path: Path,
        env: dict[str, str]) -> None:  # noqa: F811 - the fixture imported above
    topic_id, ticket_id, kept = await _closed_topic(temporal_client, pool, store)
    report = await verify(topic_id, pool=pool, client=temporal_client)
    assert report.ok, report.failures
    checks = report.to_json()["checks"]
    assert {(r["workflow_id"], r["workflow_type"]) for r in report.runs} == {(topic_id, "Topic"),
                                                                             (ticket_id, "Escalation")}
    assert named(checks, "topic", topic_id)["ok"] and "1 hidden" in named(checks, "topic", topic_id)["detail"]
    assert ticket_id in named(checks, "tickets", topic_id)["detail"]
    for stream in (topic_id, ticket_id):
        assert named(checks, "chain", stream)["ok"]
    assert sum(1 for c in checks if c["name"] == "replay" and c["ok"]) == 2

    out = tmp_path / "export"
    manifest = await export(topic_id, out, pool=pool, client=temporal_client)
    assert set(manifest["streams"]) == {topic_id, ticket_id}
    assert "13900001111" not in (out / "events.jsonl").read_text(encoding="utf-8"), "no phone number exported"
    code, standalone = run_standalone(out)
    assert code == 0 and standalone["ok"], [c for c in standalone["checks"] if not c["ok"]]
    assert named(standalone["checks"], "topic", topic_id)["ok"]

    seq = next(e.seq for e in await store.read(topic_id) if e.type == "CommentPosted"
               and e.payload["comment_id"] == kept)
    async with unguarded(pool) as conn:
        await conn.execute("UPDATE events SET payload = jsonb_set(payload, '{text}', '\"我家没闻到\"')"
                           " WHERE stream_id = $1 AND seq = $2", topic_id, seq)
    try:
        report = await verify(topic_id, pool=pool, client=temporal_client)
        assert not report.ok
        chain = named(report.to_json()["checks"], "chain", topic_id)
        assert (chain["ok"], chain["seq"]) == (False, seq)
        out = tmp_path / "tampered"
        await export(topic_id, out, pool=pool, client=temporal_client)
        code, standalone = run_standalone(out)
        assert code == 1 and named(standalone["checks"], "chain", topic_id)["seq"] == seq
        result = await asyncio.to_thread(CliRunner().invoke, audit, ["verify", topic_id])
        assert result.exit_code == 1, result.output
        assert f"FAIL hash chain 哈希链 [{topic_id}]" in result.output and f"seq {seq}" in result.output
    finally:
        async with unguarded(pool) as conn:
            await conn.execute("UPDATE events SET payload = jsonb_set(payload, '{text}', '\"我家也闻到\"')"
                               " WHERE stream_id = $1 AND seq = $2", topic_id, seq)
    assert (await verify(topic_id, pool=pool, client=temporal_client)).ok, "restored"

