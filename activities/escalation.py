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
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import httpx
import structlog
from pydantic import AwareDatetime, BaseModel, ConfigDict, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.escalation_links import FollowUpLinks
from activities.eventstore import EventStore, NewEvent, StoredEvent, StreamState
from activities.notices import Delivery, NoticeActivities
from activities.routing import Route, RouteQuery, route_ticket
from activities.stages import Appended
from activities.ticket_projection import write_ticket
from domain.errors import N_, Items, Text
from domain.escalation import (
    CLOSING_NOTICE_KIND,
    ESCALATION_EVENT_TYPES,
    TERMINAL_EVENT_TYPES,
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
    may_append,
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


class TicketOpenError(ApplicationError):
    """The ticket has not ended yet: ``escalation_outcome`` is retried until it has. A benign error: the SDK logs
    each retry at DEBUG instead of a warning with a traceback (a followed ticket can stay open for days, retried
    every few minutes)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, type="TicketOpen", category=ApplicationErrorCategory.BENIGN)


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
    part: int = 0
    """A joint part's number (吹哨报到, issue 19): the part posted to its organisation; 0 for an assignment."""


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


@dataclass(frozen=True)
class TicketStream:
    """A ticket folded from its stream at ``seq``, with what :func:`domain.escalation.may_append` needs:
    the event that ended it (the first ``Closed`` / ``Cancelled``) and the closing notices published since."""

    ticket: Ticket
    seq: int
    end: StoredEvent | None
    announced: frozenset[str]


async def read_ticket_stream(store: EventStore, ticket_id: str) -> TicketStream:
    stored = await store.read(ticket_id)
    events = [escalation_event_from_dict(e.type, e.payload) for e in stored if e.type in ESCALATION_EVENT_TYPES]
    end = next((e for e in stored if e.type in TERMINAL_EVENT_TYPES), None)
    announced = frozenset(e.payload["notice_id"] for e in stored if end is not None and e.seq > end.seq
                          and e.type == "NoticePublished" and e.payload.get("kind") == CLOSING_NOTICE_KIND)
    return TicketStream(fold(events), stored[-1].seq if stored else 0, end, announced)


class TicketEndedError(Exception):
    """The ticket's stream has ended (``Closed`` / ``Cancelled``): the append was not written."""

    def __init__(self, ticket_id: str, end: StoredEvent, types: list[str]) -> None:
        self.ticket_id, self.end, self.types = ticket_id, end, types
        how = N_("cancelled") if end.type == "Cancelled" else N_("closed")
        self.text = Text(N_("ticket %(ticket)s has been %(how)s (event %(seq)s, %(type)s); %(types)s not recorded"),
                         ticket=ticket_id, how=Text(how), seq=end.seq, type=end.type, types=Items(types))
        super().__init__(str(self.text))


class _HeadMoved(Exception):
    """The stream grew between reading it and taking its lock: read it again."""


HEAD_ATTEMPTS = 20


async def append_while_open(store: EventStore, ticket_id: str, events: Sequence[BaseModel],
                            key: str | None) -> list[StoredEvent]:
    """Append ``events`` to the ticket's stream unless it has ended (:func:`domain.escalation.may_append`).

    The rule is checked on the stream as read and holds under the stream's lock: the append goes through
    only if the head is still the one that was read (else the stream is read again). An append whose key is
    already in the stream returns the first one's events, ended or not (a retry after a lost answer).
    Raises :class:`TicketEndedError` when the ended ticket does not take these events."""
    for _ in range(HEAD_ATTEMPTS):
        head = await read_ticket_stream(store, ticket_id)
        refused = None if may_append(head.ticket, events, head.announced) else head.end

        def guard(state: StreamState, seq: int = head.seq, refused: StoredEvent | None = refused) -> None:
            if state.head_seq != seq:
                raise _HeadMoved
            if refused is not None:
                raise TicketEndedError(ticket_id, refused, [e.type for e in events])  # type: ignore[attr-defined]

        try:
            return await store.append(ticket_id, _new(events), idempotency_key=key, guard=guard)
        except _HeadMoved:
            continue
    raise RuntimeError(f"ticket {ticket_id}: the stream kept growing while appending; try again")


async def project_ticket(store: EventStore, pool: asyncpg.Pool, ticket_id: str) -> Ticket | None:
    """Rebuild the ticket's rows (``escalations``, its parts and turns) from its stream
    (activities/ticket_projection.py)."""
    ticket, seq = await load_ticket(store, ticket_id)
    if not ticket.ticket_id:
        return None
    async with pool.acquire() as conn:
        await write_ticket(conn, ticket, seq)
    return ticket


class EscalationActivities:
    def __init__(self, store: EventStore, pool: asyncpg.Pool, settings: EscalationSettings | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, links: FollowUpLinks | None = None) -> None:
        self._store = store
        self._pool = pool
        self._settings = settings or EscalationSettings()
        self._transport = transport
        self._notices = NoticeActivities(store, pool, transport=transport)
        self._links = links or FollowUpLinks(pool)

    @activity.defn(name="escalation_ladder")
    async def escalation_ladder(self, query: LadderQuery) -> tuple[Level, ...]:
        """The community's ladder (its own row, else the default) with the category's department."""
        async with self._pool.acquire() as conn:
            raw = await conn.fetchval("SELECT ladder FROM escalation_ladders WHERE community = $1", query.community)
        ladder = Ladder.model_validate(raw) if raw else default_ladder(query.community)
        try:
            return ladder.for_category(query.category)
        except EscalationError as exc:
            raise ApplicationError(str(exc), exc.text.wire(), type="EscalationError", non_retryable=True) from None

    @activity.defn(name="route_escalation")
    async def route_escalation(self, query: RouteQuery) -> Route:
        """Where a new ticket goes (activities/routing.py): its grid, its levels from the ladder version current
        now, where it starts. Since the ``grid-routing`` patch, in place of ``escalation_ladder``."""
        try:
            route = await route_ticket(self._pool, query)
        except EscalationError as exc:
            raise ApplicationError(str(exc), exc.text.wire(), type="EscalationError", non_retryable=True) from None
        log.info("escalation.routed", community=route.community, grid=route.grid, routed_by=route.routed_by,
                 ladder_version=route.ladder_version, start_level=route.start_level, channel=query.channel)
        return route

    @activity.defn(name="append_escalation_events")
    async def append_escalation_events(self, params: EscalationAppend) -> Appended:
        """Append the workflow's events, unless the ticket has ended: a cancel after the end changes nothing
        (the end is returned), anything else is refused (non-retryable ``TicketEnded``)."""
        try:
            stored = await append_while_open(self._store, params.ticket_id, params.events, params.key)
        except TicketEndedError as ended:
            if all(isinstance(e, Cancelled) for e in params.events):
                log.warning("escalation.cancel_after_end", ticket_id=params.ticket_id, key=params.key,
                            end=ended.end.type, end_seq=ended.end.seq)
                return Appended(seq=ended.end.seq, hash=ended.end.hash)
            log.warning("escalation.append_after_end", ticket_id=params.ticket_id, key=params.key,
                        types=ended.types, end=ended.end.type, end_seq=ended.end.seq)
            raise ApplicationError(str(ended), ended.text.wire(), type="TicketEnded", non_retryable=True) from None
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
        retried here: the ticket's deadlines must not wait on an SMS gateway. Returns channels delivered.

        A ticket that has ended takes no notice but the closing one (``domain.escalation.may_append``): a
        notice not yet recorded is not sent; a delivery that finished after the end (the ticket was cancelled
        while it was on its way) is logged as ``escalation.delivered_after_end`` with the ticket, the notice,
        the channel and the gateway's reference, and the channels after it are not tried."""
        notice = params.notice
        try:
            await append_while_open(self._store, params.ticket_id, [notice], f"notice:{notice.notice_id}")
        except TicketEndedError as ended:
            log.warning("escalation.notice_after_end", ticket_id=params.ticket_id, notice_id=notice.notice_id,
                        kind=notice.kind, end=ended.end.type, end_seq=ended.end.seq, sent=False)
            return 0
        channels = await self._notices.ticket_channels(params.community)
        keys = {f"notice:{notice.notice_id}:{channel}": channel for channel in channels}
        async with self._pool.acquire() as conn:
            done_before = {r["idempotency_key"] for r in await conn.fetch(
                "SELECT idempotency_key FROM events WHERE stream_id = $1 AND idempotency_key = ANY($2::text[])",
                params.ticket_id, list(keys))}
        delivered = len(done_before)
        pending = [(key, channel) for key, channel in keys.items() if key not in done_before]
        for index, (key, channel) in enumerate(pending):  # sent (or given up on) before a retry: never twice
            outcome: NoticeDelivered | NoticeDeliveryFailed
            try:
                recipients, reference = await self._send(params, channel)
            except Exception as exc:  # recorded, never dropped silently
                outcome = NoticeDeliveryFailed(at=notice.at, notice_id=notice.notice_id, channel=channel, attempt=1,
                                               error=str(exc)[:500], final=True)
                log.warning("escalation.notice_failed", ticket_id=params.ticket_id, channel=channel, error=str(exc))
            else:
                outcome = NoticeDelivered(at=notice.at, notice_id=notice.notice_id, channel=channel,
                                          recipients=recipients, reference=reference)
                delivered += 1
            try:
                await append_while_open(self._store, params.ticket_id, [outcome], key)
            except TicketEndedError as ended:
                log.warning("escalation.delivered_after_end" if isinstance(outcome, NoticeDelivered)
                            else "escalation.failed_after_end", ticket_id=params.ticket_id,
                            notice_id=notice.notice_id, kind=notice.kind, channel=channel,
                            outcome=outcome.model_dump(mode="json"), end=ended.end.type, end_seq=ended.end.seq,
                            not_tried=[c for _, c in pending[index + 1:]])
                break
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
            ticket, _ = await load_ticket(self._store, params.ticket_id)
            body = {"ticket_id": params.ticket_id, "notice": notice.model_dump(mode="json"),
                    "recipients": await self._links.recipients(ticket, notice)}
            async with httpx.AsyncClient(transport=self._transport, timeout=10) as client:
                response = await client.post(url, json=body, headers={"Idempotency-Key": notice.notice_id})
            response.raise_for_status()
            return len(recipients), f"HTTP {response.status_code}"
        raise RuntimeError(f"unknown channel {channel}")

    @activity.defn(name="dispatch_escalation_webhook")
    async def dispatch_escalation_webhook(self, params: WebhookDispatch) -> bool:
        """POST the assignment to the organisation's system when it has a webhook; False when it has none."""
        key = f"webhook:part{params.part}:{params.org}" if params.part else f"webhook:{params.n}:{params.org}"
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow("SELECT webhook_url FROM escalation_orgs WHERE org = $1", params.org)
            sent = await conn.fetchval("SELECT 1 FROM events WHERE stream_id = $1 AND idempotency_key = $2",
                                       params.ticket_id, key)
        if row is None or row["webhook_url"] is None:
            return False
        if sent:
            return True  # delivered before a crash: do not post twice
        head = await read_ticket_stream(self._store, params.ticket_id)
        if head.end is not None:  # the ticket ended while this waited: the organisation has nothing to do
            log.warning("escalation.webhook_after_end", ticket_id=params.ticket_id, org=params.org, n=params.n,
                        end=head.end.type, end_seq=head.end.seq, sent=False)
            return False
        url = row["webhook_url"] or self._settings.webhook_url
        secret = self._settings.webhook_secret.get_secret_value()
        if not url or not secret:
            raise ApplicationError("webhook needs a URL and YISHI_ESCALATION_WEBHOOK_SECRET", non_retryable=True)
        ticket = head.ticket
        doc = (part_webhook_body(ticket, params.part, params.org, self._settings.public_base_url) if params.part
               else webhook_body(ticket, params.n, self._settings.public_base_url))
        body = json.dumps(doc, ensure_ascii=False, sort_keys=True).encode()
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: stamp,
                   SIGNATURE_HEADER: sign_body(secret, stamp, body), "Idempotency-Key": key}
        async with httpx.AsyncClient(transport=self._transport, timeout=self._settings.webhook_timeout_s) as client:
            response = await client.post(url, content=body, headers=headers)
        response.raise_for_status()
        done = NoticeDelivered(at=params.at, notice_id=f"part-{params.part}-{params.org}" if params.part
                               else f"assigned-{params.n}", channel="org-webhook", recipients=1,
                               reference=f"HTTP {response.status_code}")
        try:
            await append_while_open(self._store, params.ticket_id, [done], key)
        except TicketEndedError as ended:  # posted, but the ticket ended meanwhile: known from the log
            log.warning("escalation.delivered_after_end", ticket_id=params.ticket_id, notice_id=done.notice_id,
                        channel=done.channel, org=params.org, outcome=done.model_dump(mode="json"),
                        end=ended.end.type, end_seq=ended.end.seq)
        return True


def webhook_body(ticket: Ticket, n: int, base_url: str) -> dict[str, object]:
    a = next(x for x in ticket.assignments if x.n == n)
    return {
        "event": "ticket.assigned", "ticket_id": ticket.ticket_id, "assignment": n, "org": a.org,
        "level": a.level_key, "reason": a.reason, "category": ticket.category, "subject": ticket.subject,
        "detail": ticket.detail, "ack_due": a.ack_due.isoformat(), "resolve_due": a.resolve_due.isoformat(),
        "actions_url": f"{base_url.rstrip('/')}/api/v1/escalations/{ticket.ticket_id}/actions",
    }


def part_webhook_body(ticket: Ticket, number: int, org: str, base_url: str) -> dict[str, object]:
    """A joint part (吹哨报到) for the organisation that owns it now: report in and resolve by its deadlines."""
    part = ticket.joint.part(number)
    assert part is not None
    turn = next(t for t in reversed(part.turns) if t.org == org)
    return {
        "event": "ticket.part_assigned", "ticket_id": ticket.ticket_id, "part": number, "org": org,
        "department": part.department, "category": ticket.category, "subject": ticket.subject,
        "detail": ticket.detail, "report_due": turn.report_due.isoformat(), "resolve_due": turn.resolve_due.isoformat(),
        "actions_url": f"{base_url.rstrip('/')}/api/v1/escalations/{ticket.ticket_id}/parts/{number}",
    }
