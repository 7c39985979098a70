"""The organisation's webhook: a signed POST when a ticket is assigned to it, once (a retried activity finds
its delivery in the stream and does not post again)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime

import httpx
from pydantic import SecretStr

from activities.escalation import EscalationActivities, EscalationSettings, WebhookDispatch, project_ticket
from activities.eventstore import NewEvent
from domain.escalation import EscalationOpened, default_ladder, open_ticket
from tests.escalation.dues import first_dues
from yishi.services.escalations import register_org

SECRET = "webhook-secret-for-tests"


async def test_webhook_is_signed_and_sent_once(store, pool) -> None:
    org = f"dept:market-{uuid.uuid4().hex[:4]}"
    await register_org(pool, org, role="department", webhook_url="http://receiver.test/hook")
    tid = f"esc-hook-{uuid.uuid4().hex[:6]}"
    levels = tuple(lv.model_copy(update={"org": org}) if lv.key == "department" else lv
                   for lv in default_ladder("c").for_category("market_regulation"))
    now = datetime(2026, 5, 6, 1, 0, tzinfo=UTC)
    opened = EscalationOpened(at=now, ticket_id=tid, parent_id=None, community="c", category="market_regulation",
                              subject="餐馆油烟", detail="", initiator="committee", initiator_kind="committee",
                              levels=levels, outcomes=("resolved",))
    events = open_ticket(opened, "department", first_dues(opened, "department"))
    await store.append(tid, [NewEvent(type=e.type, payload=e.model_dump(mode="json"), occurred_at=e.at)
                             for e in events])
    await project_ticket(store, pool, tid)
    received: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(202)

    activities = EscalationActivities(store, pool, EscalationSettings(
        webhook_secret=SecretStr(SECRET), public_base_url="https://yishi.example.cn"),
        transport=httpx.MockTransport(receiver))
    dispatch = WebhookDispatch(ticket_id=tid, n=1, org=org, at=now)
    assert await activities.dispatch_escalation_webhook(dispatch) is True
    assert await activities.dispatch_escalation_webhook(dispatch) is True
    assert len(received) == 1, "posted once"
    request = received[0]
    stamp, body = request.headers["X-Yishi-Timestamp"], request.content
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert request.headers["X-Yishi-Signature"] == f"sha256={expected}"
    doc = json.loads(body)
    assert (doc["event"], doc["ticket_id"], doc["org"], doc["level"]) == ("ticket.assigned", tid, org, "department")
    assert doc["actions_url"] == f"https://yishi.example.cn/api/v1/escalations/{tid}/actions"
    other = WebhookDispatch(ticket_id=tid, n=1, org="street", at=now)
    assert await activities.dispatch_escalation_webhook(other) is False, "an organisation without a webhook"
