"""Escalation activities: the community's ladder, appends to a ticket's stream (with the projection the
inbox and the rates read), notices to the initiator and the committee, and the organisation's webhook.

Every append carries an idempotency key chosen by the workflow, so a retried activity finds its own
events. The projection row is rebuilt from the whole stream after each append (and only moves forward:
``last_seq`` guards against an older rebuild finishing last), so it can always be rebuilt from scratch.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import asyncpg
import httpx
import structlog
from pydantic import AwareDatetime, BaseModel, ConfigDict, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.eventstore import EventStore, NewEvent
from activities.notices import ChannelQuery, Delivery, NoticeActivities
from activities.stages import Appended
from domain.escalation import (
    ESCALATION_EVENT_TYPES,
    Cancelled,
    EscalationError,
    EscalationEvent,
    EscalationOpened,
    Ladder,
    Level,
    Ticket,
    default_ladder,
    escalation_event_from_dict,
    fold,
)
from domain.roll import Scope
from domain.stage_events import NoticeDelivered, NoticeDeliveryFailed, NoticePublished

log = structlog.get_logger(__name__)
SIGNATURE_HEADER = "X-Yishi-Signature"
TIMESTAMP_HEADER = "X-Yishi-Timestamp"


class EscalationSettings(BaseSettings):
    """``YISHI_ESCALATION_WEBHOOK_URL`` (used by organisations whose webhook URL is empty) and the secret
    that signs every webhook body (HMAC-SHA256)."""

    model_config = SettingsConfigDict(env_prefix="YISHI_ESCALATION_", env_file=".env", extra="ignore")

    webhook_url: str = ""
    webhook_secret: SecretStr = SecretStr("")
    webhook_timeout_s: int = 10
    public_base_url: str = ""


class LadderQuery(BaseModel):
    model_config = ConfigDict(frozen=True)
    community: str
    category: str


class EscalationAppend(BaseModel):
    model_config = ConfigDict(frozen=True)
    ticket_id: str
    key: str
    events: tuple[EscalationEvent, ...]


class EscalationCancel(BaseModel):
    """A ticket cancelled before its first append was known to be done (see ``record_escalation_cancelled``)."""

    model_config = ConfigDict(frozen=True)
    ticket_id: str
    first_key: str
    opened: EscalationOpened
    cancelled: Cancelled


class TicketQuery(BaseModel):
    model_config = ConfigDict(frozen=True)
    ticket_id: str


class EscalationOutcome(BaseModel):
    """How a ticket ended (the fields of the workflow's ``EscalationResult``)."""

    ticket_id: str
    status: str
    outcome: str | None = None
    resolution: str | None = None


class TicketOpenError(Exception):
    """The ticket has not ended yet (``escalation_outcome`` is retried until it has)."""


class TicketNotice(BaseModel):
    """A notice about a ticket for its initiator and the committee, recorded in the ticket's stream."""

    model_config = ConfigDict(frozen=True)
    ticket_id: str
    community: str
    notice: NoticePublished


class WebhookDispatch(BaseModel):
    model_config = ConfigDict(frozen=True)
    ticket_id: str
    n: int
    org: str
    at: AwareDatetime


def sign_body(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256 of ``timestamp.body`` under the shared secret (docs/escalation.md)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def _new(events: tuple[BaseModel, ...] | list[BaseModel]) -> list[NewEvent]:
    return [NewEvent(type=e.type, payload=e.model_dump(mode="json"), occurred_at=e.at)  # type: ignore[attr-defined]
            for e in events]


async def load_ticket(store: EventStore, ticket_id: str) -> tuple[Ticket, int]:
    """The folded ticket and the stream's last seq (0 when there is no such stream)."""
    stored = await store.read(ticket_id)
    events = [escalation_event_from_dict(e.type, e.payload) for e in stored if e.type in ESCALATION_EVENT_TYPES]
    return fold(events), (stored[-1].seq if stored else 0)


async def project_ticket(store: EventStore, pool: asyncpg.Pool, ticket_id: str) -> Ticket | None:
    """Rebuild the ticket's projection row from its stream."""
    ticket, seq = await load_ticket(store, ticket_id)
    if not ticket.ticket_id:
        return None
    a = ticket.current
    owner = ticket.owner
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO escalations (ticket_id, parent_id, community, category, subject, initiator, initiator_kind,"
            " status, level, level_key, org, transfer_to, ack_due, resolve_due, opened_at, updated_at, last_seq,"
            " state) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)"
            " ON CONFLICT (ticket_id) DO UPDATE SET status = EXCLUDED.status, level = EXCLUDED.level,"
            " level_key = EXCLUDED.level_key, org = EXCLUDED.org, transfer_to = EXCLUDED.transfer_to,"
            " ack_due = EXCLUDED.ack_due, resolve_due = EXCLUDED.resolve_due, updated_at = EXCLUDED.updated_at,"
            " last_seq = EXCLUDED.last_seq, state = EXCLUDED.state WHERE escalations.last_seq < EXCLUDED.last_seq",
            ticket.ticket_id, ticket.parent_id, ticket.community, ticket.category, ticket.subject, ticket.initiator,
            ticket.initiator_kind, ticket.status, a.level if a else None, a.level_key if a else None, owner,
            ticket.transfer.to_org if ticket.transfer else None, a.ack_due if a and owner else None,
            a.resolve_due if a and owner else None, ticket.opened_at, ticket.updated_at, seq,
            ticket.model_dump(mode="json"))
    return ticket


class EscalationActivities:
    def __init__(self, store: EventStore, pool: asyncpg.Pool, settings: EscalationSettings | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._store = store
        self._pool = pool
        self._settings = settings or EscalationSettings()
        self._transport = transport
        self._notices = NoticeActivities(store, pool, transport=transport)

    @activity.defn(name="escalation_ladder")
    async def escalation_ladder(self, query: LadderQuery) -> tuple[Level, ...]:
        """The community's ladder (its own row, else the default) with the category's department."""
        async with self._pool.acquire() as conn:
            raw = await conn.fetchval("SELECT ladder FROM escalation_ladders WHERE community = $1", query.community)
        ladder = Ladder.model_validate(raw) if raw else default_ladder(query.community)
        try:
            return ladder.for_category(query.category)
        except EscalationError as exc:
            raise ApplicationError(str(exc), type="EscalationError", non_retryable=True) from None

    @activity.defn(name="append_escalation_events")
    async def append_escalation_events(self, params: EscalationAppend) -> Appended:
        stored = await self._store.append(params.ticket_id, _new(params.events), idempotency_key=params.key)
        await project_ticket(self._store, self._pool, params.ticket_id)
        log.info("escalation.appended", ticket_id=params.ticket_id, key=params.key, seq=stored[0].seq,
                 types=[e.type for e in params.events])
        return Appended(seq=stored[0].seq, hash=stored[0].hash)

    @activity.defn(name="record_escalation_cancelled")
    async def record_escalation_cancelled(self, params: EscalationCancel) -> Appended:
        """Record ``Cancelled`` for a ticket whose workflow was cancelled before it knew its first append done.

        ``EscalationOpened`` and ``Cancelled`` are appended under the first append's own key: if the opening
        append (``EscalationOpened`` and an assignment) landed first, that key returns it instead, and
        ``Cancelled`` follows under a key of its own unless the ticket has already ended. Run twice, the same."""
        events = [params.opened, params.cancelled]
        stored = await self._store.append(params.ticket_id, _new(events), idempotency_key=params.first_key)
        if len(stored) == 1:  # the key was taken: by the opening append, or by this activity's earlier attempt
            ticket, _ = await load_ticket(self._store, params.ticket_id)
            if not ticket.finished:
                await self._store.append(params.ticket_id, _new([params.cancelled]), idempotency_key="cancelled")
        await project_ticket(self._store, self._pool, params.ticket_id)
        mark = next(e for e in reversed(await self._store.read(params.ticket_id)) if e.type == "Cancelled")
        log.info("escalation.cancelled", ticket_id=params.ticket_id, seq=mark.seq)
        return Appended(seq=mark.seq, hash=mark.hash)

    @activity.defn(name="escalation_outcome")
    async def escalation_outcome(self, query: TicketQuery) -> EscalationOutcome:
        """How an existing ticket ended, from its stream; fails (and is retried) while it is still open.

        For a deliberation that finds its ticket already started (a reset of the deliberation's workflow to a
        point before the start): it follows that ticket rather than starting it a second time."""
        ticket, _ = await load_ticket(self._store, query.ticket_id)
        if not ticket.finished:
            raise TicketOpenError(f"ticket {query.ticket_id} is {ticket.status or 'not opened'}; waiting for its end")
        return EscalationOutcome(ticket_id=query.ticket_id, status=ticket.status, outcome=ticket.outcome,
                                 resolution=ticket.resolution)

    @activity.defn(name="notify_escalation")
    async def notify_escalation(self, params: TicketNotice) -> int:
        """Record the notice and post it on every channel of the community (the printed sheet included).

        A failing channel is recorded as a final ``NoticeDeliveryFailed`` (shown on the console), not
        retried here: the ticket's deadlines must not wait on an SMS gateway. Returns channels delivered."""
        notice = params.notice
        await self._store.append(params.ticket_id, _new([notice]), idempotency_key=f"notice:{notice.notice_id}")
        channels = await self._notices.notice_channels(ChannelQuery(community=params.community))
        keys = {f"notice:{notice.notice_id}:{channel}": channel for channel in channels}
        async with self._pool.acquire() as conn:
            done_before = {r["idempotency_key"] for r in await conn.fetch(
                "SELECT idempotency_key FROM events WHERE stream_id = $1 AND idempotency_key = ANY($2::text[])",
                params.ticket_id, list(keys))}
        delivered = len(done_before)
        for key, channel in keys.items():
            if key in done_before:  # sent (or given up on) before a retry: never twice
                continue
            try:
                recipients, reference = await self._send(params, channel)
            except Exception as exc:  # recorded, never dropped silently
                failed = NoticeDeliveryFailed(at=notice.at, notice_id=notice.notice_id, channel=channel, attempt=1,
                                              error=str(exc)[:500], final=True)
                await self._store.append(params.ticket_id, _new([failed]), idempotency_key=key)
                log.warning("escalation.notice_failed", ticket_id=params.ticket_id, channel=channel, error=str(exc))
                continue
            done = NoticeDelivered(at=notice.at, notice_id=notice.notice_id, channel=channel, recipients=recipients,
                                   reference=reference)
            await self._store.append(params.ticket_id, _new([done]), idempotency_key=key)
            delivered += 1
        return delivered

    async def _send(self, params: TicketNotice, channel: str) -> tuple[int, str]:
        notice = params.notice
        recipients = notice.recipients or ()
        if channel == "print":
            return len(recipients), "to-print"
        if channel == "log":
            log.info("escalation.notice", ticket_id=params.ticket_id, notice_id=notice.notice_id,
                     title=notice.title_zh, body=notice.body_zh, recipients=list(recipients))
            return 0, "log"
        delivery = Delivery(deliberation_id=params.ticket_id, community=params.community, roll_digest="",
                             scope=Scope(), channel=channel, notice=notice)
        if channel == "email":
            return await self._notices._email(delivery)  # noqa: SLF001 - the same SMTP channel as notices
        if channel == "webhook":
            url = (await self._notices._config(params.community)).webhook_url  # noqa: SLF001
            if not url:
                raise RuntimeError("no webhook URL configured for the community's notices")
            body = {"ticket_id": params.ticket_id, "notice": notice.model_dump(mode="json"),
                    "recipients": [{"id": r} for r in recipients]}
            async with httpx.AsyncClient(transport=self._transport, timeout=10) as client:
                response = await client.post(url, json=body, headers={"Idempotency-Key": notice.notice_id})
            response.raise_for_status()
            return len(recipients), f"HTTP {response.status_code}"
        raise RuntimeError(f"unknown channel {channel}")

    @activity.defn(name="dispatch_escalation_webhook")
    async def dispatch_escalation_webhook(self, params: WebhookDispatch) -> bool:
        """POST the assignment to the organisation's system when it has a webhook; False when it has none."""
        key = f"webhook:{params.n}:{params.org}"
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow("SELECT webhook_url FROM escalation_orgs WHERE org = $1", params.org)
            sent = await conn.fetchval("SELECT 1 FROM events WHERE stream_id = $1 AND idempotency_key = $2",
                                       params.ticket_id, key)
        if row is None or row["webhook_url"] is None:
            return False
        if sent:
            return True  # delivered before a crash: do not post twice
        url = row["webhook_url"] or self._settings.webhook_url
        secret = self._settings.webhook_secret.get_secret_value()
        if not url or not secret:
            raise ApplicationError("webhook needs a URL and YISHI_ESCALATION_WEBHOOK_SECRET", non_retryable=True)
        ticket, _ = await load_ticket(self._store, params.ticket_id)
        body = json.dumps(webhook_body(ticket, params.n, self._settings.public_base_url), ensure_ascii=False,
                          sort_keys=True).encode()
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: stamp,
                   SIGNATURE_HEADER: sign_body(secret, stamp, body), "Idempotency-Key": key}
        async with httpx.AsyncClient(transport=self._transport, timeout=self._settings.webhook_timeout_s) as client:
            response = await client.post(url, content=body, headers=headers)
        response.raise_for_status()
        done = NoticeDelivered(at=params.at, notice_id=f"assigned-{params.n}", channel="org-webhook", recipients=1,
                               reference=f"HTTP {response.status_code}")
        await self._store.append(params.ticket_id, _new([done]), idempotency_key=key)
        return True


def webhook_body(ticket: Ticket, n: int, base_url: str) -> dict[str, object]:
    a = next(x for x in ticket.assignments if x.n == n)
    return {
        "event": "ticket.assigned", "ticket_id": ticket.ticket_id, "assignment": n, "org": a.org,
        "level": a.level_key, "reason": a.reason, "category": ticket.category, "subject": ticket.subject,
        "detail": ticket.detail, "ack_due": a.ack_due.isoformat(), "resolve_due": a.resolve_due.isoformat(),
        "actions_url": f"{base_url.rstrip('/')}/api/v1/escalations/{ticket.ticket_id}/actions",
    }
