"""A ticket's stream ends with its end: nothing is written after ``Cancelled``, and after ``Closed`` only the
notice announcing the closing. A notice delivered after the end is logged with the ticket, not recorded.

The race on the real dev server: the ticket is cancelled while a notice is on its way through the SMS gateway
(held until ``Cancelled`` is in the stream), so the delivery finishes after the cancellation."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import structlog
from pydantic import SecretStr
from structlog.testing import capture_logs
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor, Worker

import activities.escalation as escalation_activities
from activities.calendar import CalendarActivities
from activities.escalation import (
    EscalationActivities,
    EscalationAppend,
    EscalationSettings,
    TicketNotice,
    WebhookDispatch,
    _new,
)
from domain import escalation as esc
from domain.escalation import Acknowledged, Cancelled, EscalationOpened, default_ladder
from domain.stage_events import NoticePublished
from tests.escalation.dues import first_dues
from tests.workflows.conftest import stream_types
from workflows.escalation import FIRST_KEY, EscalationWorkflow
from yishi.services.escalations import TicketRequest, open_ticket, register_org
from yishi.settings import Settings
from yishi.temporal_client import DATA_CONVERTER

GATEWAY = "http://gateway.test/sms"


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """What activities/escalation.py logs (a fresh logger: the module's may be cached by an earlier test)."""
    with capture_logs() as entries:
        monkeypatch.setattr(escalation_activities, "log", structlog.get_logger("activities.escalation"))
        yield entries


class NotifyDone(Interceptor):
    """Tells the test when a ``notify_escalation`` run has returned (or failed)."""

    def __init__(self) -> None:
        self.done = asyncio.Event()

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:  # noqa: A002
        outer = self

        class Inbound(ActivityInboundInterceptor):
            async def execute_activity(self, input: ExecuteActivityInput) -> Any:  # noqa: A002
                try:
                    return await super().execute_activity(input)
                finally:
                    if activity.info().activity_type == "notify_escalation":
                        outer.done.set()

        return Inbound(next)


async def poll(check: Any, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while not await check():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_a_delivery_finishing_after_the_cancel_is_logged_not_appended(temporal_server, store, pool,
                                                                            logs) -> None:
    community = f"c-{uuid.uuid4().hex[:8]}"
    async with pool.acquire() as conn:  # the printed sheet, then the SMS gateway
        await conn.execute("INSERT INTO notice_channels (community, channels, webhook_url) VALUES ($1, $2, $3)",
                           community, ["print", "webhook"], GATEWAY)
    at_gateway, release = asyncio.Event(), asyncio.Event()

    async def gateway(request: httpx.Request) -> httpx.Response:
        at_gateway.set()
        await release.wait()
        return httpx.Response(200)

    acts = EscalationActivities(store, pool, transport=httpx.MockTransport(gateway))
    finished = NotifyDone()
    client = await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)
    queue = f"closed-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[EscalationWorkflow], interceptors=[finished],
                      activities=[acts.route_escalation, acts.append_escalation_events, acts.notify_escalation,
                                  acts.dispatch_escalation_webhook, acts.record_escalation_cancelled,
                                  CalendarActivities(Settings()).compute_deadlines]):
        tid, handle = await open_ticket(client, TicketRequest(
            community=community, category="urban_management", subject="楼道堆物", initiator="O311",
            initiator_kind="owner"), task_queue=queue)
        await asyncio.wait_for(at_gateway.wait(), 20)  # the opening notice: printed, the SMS on its way
        assert await stream_types(store, tid) == ["EscalationOpened", "LevelAssigned", "NoticePublished",
                                                  "NoticeDelivered"]
        await handle.cancel()
        await poll(lambda: _has(store, tid, "Cancelled"), "the cancellation in the stream")
        release.set()  # the gateway answers now: the SMS went out after the ticket was cancelled
        await asyncio.wait_for(finished.done.wait(), 20)
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
    assert await stream_types(store, tid) == ["EscalationOpened", "LevelAssigned", "NoticePublished",
                                              "NoticeDelivered", "Cancelled"], "nothing after Cancelled"
    late = [e for e in logs if e["event"] == "escalation.delivered_after_end"]
    assert len(late) == 1, logs
    assert {k: late[0][k] for k in ("ticket_id", "notice_id", "channel", "end", "not_tried")} == {
        "ticket_id": tid, "notice_id": "opened-1", "channel": "webhook", "end": "Cancelled", "not_tried": []}
    assert late[0]["outcome"]["reference"] == "HTTP 200"
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM escalations WHERE ticket_id = $1", tid) == "cancelled"


async def _has(store, tid: str, event_type: str) -> bool:  # noqa: ANN001
    return event_type in await stream_types(store, tid)


async def test_a_closed_ticket_takes_its_closing_notice_only(store, pool, logs) -> None:
    """Straight on the activities: the closing notice and its deliveries follow ``Closed``; another notice, an
    action and an organisation's webhook do not; a cancel after the end returns the end; retries stay idempotent."""
    tid, at = f"esc-{uuid.uuid4().hex[:10]}", datetime(2026, 5, 6, 2, 0, tzinfo=UTC)
    community = f"c-{uuid.uuid4().hex[:8]}"  # no notice_channels row: print and log
    opened = EscalationOpened(at=at, ticket_id=tid, parent_id=None, community=community, category="urban_management",
                              subject="楼道堆物", detail="", initiator="committee", initiator_kind="committee",
                              levels=default_ladder(community).for_category("urban_management"),
                              outcomes=("resolved",))
    first = esc.open_ticket(opened, "street", first_dues(opened, "street"))
    await store.append(tid, _new(first), idempotency_key=FIRST_KEY)
    org = f"street-{uuid.uuid4().hex[:6]}"
    await register_org(pool, org, role="street_office", webhook_url=GATEWAY)
    posted: list[httpx.Request] = []
    acts = EscalationActivities(store, pool, EscalationSettings(webhook_secret=SecretStr("k")),
                                transport=httpx.MockTransport(lambda r: posted.append(r) or httpx.Response(200)))
    ticket = esc.fold([esc.escalation_event_from_dict(e.type, e.payload)
                       for e in await store.read(tid)])
    later = at + timedelta(days=1)
    resolved = esc.resolve(ticket, "street", "street_office", "街道城管科", "resolved", "已清理", later)
    for event in resolved:
        ticket = esc.evolve(ticket, event)
    closing = esc.answer_follow_up(ticket, "committee", "业委会", "satisfied", "", later, None)
    await acts.append_escalation_events(EscalationAppend(ticket_id=tid, key="2:resolve", events=tuple(resolved)))
    close = EscalationAppend(ticket_id=tid, key="3:follow_up", events=tuple(closing))
    first = await acts.append_escalation_events(close)

    def notice(kind: str, notice_id: str) -> TicketNotice:
        return TicketNotice(ticket_id=tid, community=community, notice=NoticePublished(
            at=later, notice_id=notice_id, kind=f"escalation_{kind}", title_zh="工单", title_en="Ticket", body_zh="",
            body_en="", recipients=("committee",)))

    assert await acts.notify_escalation(notice("closed", "closed-3")) == 2, "the closing notice: print and log"
    assert await acts.notify_escalation(notice("overdue", "overdue-4")) == 0
    with pytest.raises(ApplicationError) as refused:
        await acts.append_escalation_events(EscalationAppend(ticket_id=tid, key="4:acknowledge", events=(
            Acknowledged(at=later, org="street", by="街道"),)))
    assert refused.value.type == "TicketEnded" and refused.value.non_retryable and tid in str(refused.value)
    ended = await acts.append_escalation_events(EscalationAppend(ticket_id=tid, key="4:cancelled", events=(
        Cancelled(at=later, reason="cancelled"),)))
    assert await acts.append_escalation_events(close) == first, "a retried append returns its events"
    assert not await acts.dispatch_escalation_webhook(WebhookDispatch(ticket_id=tid, n=1, org=org, at=later))
    assert not posted
    stored = await store.read(tid)
    assert [e.type for e in stored] == [
        "EscalationOpened", "LevelAssigned", "Acknowledged", "Resolved", "FollowUpAnswered", "Closed",
        "NoticePublished", "NoticeDelivered", "NoticeDelivered"]
    closed = next(e for e in stored if e.type == "Closed")
    assert (ended.seq, ended.hash) == (closed.seq, closed.hash) == (first.seq + 1, stored[first.seq].hash)
    assert {e["event"] for e in logs} >= {"escalation.notice_after_end", "escalation.append_after_end",
                                          "escalation.cancel_after_end", "escalation.webhook_after_end"}


def test_the_rule() -> None:
    at = datetime(2026, 5, 6, 2, 0, tzinfo=UTC)
    opened = EscalationOpened(at=at, ticket_id="t", parent_id=None, community="c", category="housing",
                              subject="s", detail="", initiator="committee", initiator_kind="committee",
                              levels=default_ladder("c").for_category("housing"), outcomes=("resolved",))
    live = esc.fold(esc.open_ticket(opened, None, first_dues(opened)))
    closing = NoticePublished(at=at, notice_id="closed-3", kind=esc.CLOSING_NOTICE_KIND, title_zh="", title_en="",
                              body_zh="", body_en="")
    other = closing.model_copy(update={"notice_id": "overdue-2", "kind": "escalation_overdue"})
    cancelled = esc.evolve(live, Cancelled(at=at, reason="cancelled"))
    assert esc.may_append(live, [other]) and esc.may_append(live, [Acknowledged(at=at, org="x", by="y")])
    assert not esc.may_append(cancelled, [closing]) and not esc.may_append(cancelled, [other])


async def test_a_followed_ticket_still_open_is_a_benign_retry(store, pool) -> None:
    """``escalation_outcome`` fails while the ticket is open and is retried until it ends: not a warning each
    time (the SDK logs a benign error at DEBUG), and never final."""
    tid, at = f"esc-{uuid.uuid4().hex[:10]}", datetime(2026, 5, 6, 2, 0, tzinfo=UTC)
    community = f"c-{uuid.uuid4().hex[:8]}"
    opened = EscalationOpened(at=at, ticket_id=tid, parent_id=None, community=community, category="urban_management",
                              subject="楼道堆物", detail="", initiator="committee", initiator_kind="committee",
                              levels=default_ladder(community).for_category("urban_management"),
                              outcomes=("resolved",))
    first = esc.open_ticket(opened, "street", first_dues(opened, "street"))
    await store.append(tid, _new(first), idempotency_key=FIRST_KEY)
    acts = EscalationActivities(store, pool)
    with pytest.raises(ApplicationError) as raised:
        await acts.escalation_outcome(escalation_activities.TicketQuery(ticket_id=tid))
    assert raised.value.category == ApplicationErrorCategory.BENIGN and not raised.value.non_retryable
    assert raised.value.type == "TicketOpen" and tid in str(raised.value)
