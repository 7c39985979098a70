"""The 12345 hotline's cases (接诉即办, issue 19): what connects a hotline case to its ticket, and the signed
callbacks the hotline receives when the ticket is responded to, resolved and rated.

A hotline is an organisation (``escalation_orgs``, role ``hotline``) with a callback URL. Its signing secret is
never stored: it is derived from ``YISHI_SECRET_KEY`` and the organisation's id (:func:`hotline_secret`), printed
once when the hotline is registered, and signs both ways — the hotline's requests to the intake API and Yishi's
callbacks to it (``X-Yishi-Timestamp``, ``X-Yishi-Signature: sha256=`` HMAC-SHA256 of ``timestamp.body``).

A callback delivered is recorded in the ticket's stream (``NoticeDelivered``, channel ``hotline-callback``) and never
posted again by a retried activity; the last failed attempt is recorded as a final ``NoticeDeliveryFailed``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import asyncpg
import httpx
import structlog
from pydantic import AwareDatetime, BaseModel, ConfigDict
from temporalio import activity

from activities.escalation import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    TicketEndedError,
    append_while_open,
    load_ticket,
    sign_body,
)
from activities.eventstore import EventStore
from domain.escalation import HOTLINE_CHANNEL, Ticket
from domain.stage_events import NoticeDelivered, NoticeDeliveryFailed

log = structlog.get_logger(__name__)
CHANNEL = HOTLINE_CHANNEL


class HotlineCallback(BaseModel):
    model_config = ConfigDict(frozen=True)
    ticket_id: str
    kind: str
    """``response`` (the first acknowledgement), ``resolution``, ``rating``."""
    seq: int
    """The seq of the append that recorded it (names the callback: the same one is posted once)."""
    at: AwareDatetime
    attempts: int = 5


def hotline_secret(secret_key: str, org: str) -> str:
    """The hotline's signing secret: HMAC-SHA256 of its organisation id under the server's secret key (hex)."""
    return hmac.new(secret_key.encode(), f"hotline-signing:{org}".encode(), hashlib.sha256).hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign_body(secret, timestamp, body), signature.strip())


def callback_body(ticket: Ticket, kind: str, seq: int, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What the hotline hears: its case, the ticket's state, and for the kind its facts."""
    body: dict[str, Any] = {"event": f"ticket.{kind}", "ticket_id": ticket.ticket_id, "source": ticket.source,
                            "case_number": ticket.case_number, "status": ticket.status, "seq": seq}
    if kind == "response":
        a = next((a for a in ticket.assignments if a.acknowledged_at), None)
        body.update(responded_at=a.acknowledged_at.isoformat() if a and a.acknowledged_at else None,
                    org=a.org if a else None)
    elif kind == "resolution":
        body.update(resolved_at=ticket.resolved_at.isoformat() if ticket.resolved_at else None,
                    outcome=ticket.outcome, resolution=ticket.resolution)
    elif kind == "rating":
        answered = [r for r in rows if r["type"] == "FollowUpAnswered"]
        last = answered[-1]["payload"] if answered else {}
        body.update(rating=last.get("answer"), comment=last.get("comment", ""), reopened=ticket.reopens > 0
                    and ticket.status != "closed")
    return body


class HotlineActivities:
    def __init__(self, store: EventStore, pool: asyncpg.Pool, secret_key: str,
                 transport: httpx.AsyncBaseTransport | None = None, timeout_s: float = 10) -> None:
        self._store, self._pool, self._secret_key = store, pool, secret_key
        self._transport, self._timeout = transport, timeout_s

    @activity.defn(name="hotline_callback")
    async def hotline_callback(self, params: HotlineCallback) -> bool:
        """POST the callback to the hotline's URL, signed; False when the hotline has no URL."""
        key = f"hotline:{params.kind}:{params.seq}"
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT c.org, o.webhook_url FROM hotline_cases c JOIN escalation_orgs o ON o.org = c.org"
                " WHERE c.ticket_id = $1", params.ticket_id)
            sent = await conn.fetchval("SELECT 1 FROM events WHERE stream_id = $1 AND idempotency_key = $2",
                                       params.ticket_id, key)
        if row is None or not row["webhook_url"] or sent:
            return bool(sent)
        ticket, _ = await load_ticket(self._store, params.ticket_id)
        rows = [{"type": e.type, "payload": e.payload}
                for e in await self._store.read_types(params.ticket_id, ("FollowUpAnswered",))]
        body = json.dumps(callback_body(ticket, params.kind, params.seq, rows), ensure_ascii=False,
                          sort_keys=True).encode()
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: stamp, "Idempotency-Key": key,
                   SIGNATURE_HEADER: sign_body(hotline_secret(self._secret_key, row["org"]), stamp, body)}
        try:
            async with httpx.AsyncClient(transport=self._transport, timeout=self._timeout) as client:
                response = await client.post(row["webhook_url"], content=body, headers=headers)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            if activity.info().attempt >= params.attempts:  # the last attempt: on the record, then given up
                failed = NoticeDeliveryFailed(at=params.at, notice_id=f"{params.kind}-{params.seq}", channel=CHANNEL,
                                              attempt=activity.info().attempt, error=str(exc)[:500], final=True)
                await self._record(params, failed, key)
            log.warning("hotline.callback_failed", ticket_id=params.ticket_id, kind=params.kind,
                        attempt=activity.info().attempt, error=str(exc))
            raise
        done = NoticeDelivered(at=params.at, notice_id=f"{params.kind}-{params.seq}", channel=CHANNEL, recipients=1,
                               reference=f"HTTP {response.status_code}")
        await self._record(params, done, key)
        log.info("hotline.callback", ticket_id=params.ticket_id, kind=params.kind, status=response.status_code)
        return True

    async def _record(self, params: HotlineCallback, outcome: NoticeDelivered | NoticeDeliveryFailed,
                      key: str) -> None:
        try:
            await append_while_open(self._store, params.ticket_id, [outcome], key)
        except TicketEndedError as ended:  # cancelled meanwhile: the log keeps what the hotline was told
            log.warning("hotline.callback_after_end", ticket_id=params.ticket_id, kind=params.kind,
                        outcome=outcome.model_dump(mode="json"), end=ended.end.type, end_seq=ended.end.seq)
