"""The worker's notice dispatcher: sends the queued deliveries, never blocking a procedure, never silently.

It runs beside the Temporal worker (worker.py) and polls ``notice_deliveries``. For each due delivery:

* a group robot waits for a token of its bucket (about 20 messages a minute per robot, shared by every notice
  this process sends through it): the delivery stays queued until then, it does not fail;
* a text message in the quiet hours (22:00-08:00 Beijing by default) is held until they end, unless the
  notice kind is urgent for that channel (``NoticeHeld``);
* otherwise it is sent; the outcome is recorded in the deliberation's stream: ``NoticeDelivered``, or
  ``NoticeDeliveryFailed`` with the reason and the next attempt (backing off), ``final`` after
  ``YISHI_NOTICE_MAX_ATTEMPTS`` (the board's retry starts again: yishi/services/channels.py). A server that says
  it is over its limit (WeCom 45009, SMS throttling) is waited for and does not use up the attempts.

Reminders by SMS carry each owner's personal link when the template asks for ``link``: that hands the link to the
owner's phone, so it is recorded as ``LiveLinksDisclosed`` (``format="sms"``) before the messages go out.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import structlog

from activities import senders
from activities.eventstore import EventStore
from activities.notices import NoticeSettings, load_book
from activities.outbox import claim_due, roll_of, settle
from activities.secrets import ChannelSecrets, MissingSecretError
from activities.stages import to_new
from domain.channel_config import Channel, ChannelBook
from domain.notice_messages import (
    DINGTALK_BYTES,
    TokenBucket,
    markdown,
    plain_text,
    quiet_until,
    template_params,
)
from domain.stage_events import NoticeDelivered, NoticeDeliveryFailed, NoticeHeld

log = structlog.get_logger(__name__)

BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))
THROTTLED_WAIT = timedelta(seconds=60)
SMS_PER_REQUEST = 1000  # SendSms takes up to 1,000 numbers with the same template values


class NoticeDispatcher:
    def __init__(self, store: EventStore, pool: asyncpg.Pool, settings: NoticeSettings | None = None,
                 secrets: ChannelSecrets | None = None, *, secret_key: str = "", public_base_url: str = "",
                 transport: httpx.AsyncBaseTransport | None = None, only: str | None = None) -> None:
        self._store, self._pool = store, pool
        self._only = only  # one deliberation's deliveries only (tests; an operator draining one deliberation)
        self._s = settings or NoticeSettings()
        self._secrets = secrets or ChannelSecrets()
        self._secret_key = secret_key
        self._public = self._s.public_base_url or public_base_url
        self._client = httpx.AsyncClient(transport=transport, timeout=self._s.webhook_timeout_s)
        self._buckets: dict[str, TokenBucket] = {}

    async def aclose(self) -> None:
        await self._client.aclose()

    async def run(self, stop: asyncio.Event, interval: float = 2.0) -> None:
        """Send what is due until ``stop`` is set; a failure of one round is logged and the next round runs."""
        while not stop.is_set():
            try:
                busy = await self.run_once()
            except Exception as exc:  # noqa: BLE001 - the dispatcher outlives a database blip
                log.warning("notice.dispatch_failed", error=str(exc))
                busy = 0
            if not busy:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=interval)
                except TimeoutError:
                    pass

    async def run_once(self, now: datetime | None = None) -> int:
        """Handle every delivery due at ``now``; the number handled."""
        now = (now or datetime.now(UTC)).astimezone(UTC)
        rows = await claim_due(self._pool, now, deliberation_id=self._only)
        books: dict[str, ChannelBook] = {}
        for row in rows:
            community = row["community"]
            try:
                if community not in books:
                    books[community] = await load_book(self._store, self._pool, community, self._s)
                await self._handle(row, now, books[community])
            except Exception as exc:  # noqa: BLE001 - one delivery's trouble must not hold the others
                # Left "sending": another round takes it up again when its lease runs out.
                log.warning("notice.dispatch_failed", deliberation_id=row["deliberation_id"],
                            notice_id=row["notice_id"], channel=row["channel"], group=row["grp"], error=str(exc))
        return len(rows)

    def bucket(self, channel_id: str) -> TokenBucket:
        if channel_id not in self._buckets:
            self._buckets[channel_id] = TokenBucket.full(self._s.robot_per_minute)
        return self._buckets[channel_id]

    async def _handle(self, row: asyncpg.Record, now: datetime, book: ChannelBook) -> None:
        channel = book.channels.get(row["channel"])
        if channel is None:
            await self._failed(row, now, senders.Sent(False, error=f"channel {row['channel']} was removed"),
                               final=True)
            return
        if channel.kind == "sms" and row["notice_kind"] not in channel.urgent_kinds:
            until = quiet_until(now, book.quiet)
            if until is not None:
                until = until.astimezone(UTC)
                await settle(self._pool, row, state="held", next_at=until)
                await self._record(row, NoticeHeld(at=now, notice_id=row["notice_id"], channel=row["channel"],
                                                   group=row["grp"], until=until), f"held:{until.isoformat()}")
                return
        if channel.kind in ("wecom", "dingtalk"):
            wait = self.bucket(channel.id).take(now)
            if wait:
                await settle(self._pool, row, state="queued", next_at=now + wait)
                return
        try:
            sent, count = await self._send(row, channel, now)
        except MissingSecretError as exc:
            sent, count = senders.Sent(False, error=str(exc)), 0
        if sent.ok:
            await settle(self._pool, row, state="sent", sent=count, error="", reference=sent.reference,
                         attempts=row["attempts"] + 1)
            await self._record(row, NoticeDelivered(at=now, notice_id=row["notice_id"], channel=row["channel"],
                                                    recipients=count, reference=sent.reference, group=row["grp"]),
                               "delivered")
            log.info("notice.delivered", deliberation_id=row["deliberation_id"], notice_id=row["notice_id"],
                     channel=row["channel"], group=row["grp"], recipients=count)
        elif sent.throttled:
            if channel.kind in ("wecom", "dingtalk"):
                self.bucket(channel.id).drain(now)
            await self._failed(row, now, sent, retry_at=now + THROTTLED_WAIT, count_attempt=False)
        else:
            await self._failed(row, now, sent, final=row["attempts"] + 1 >= self._s.max_attempts)

    async def _failed(self, row: asyncpg.Record, now: datetime, sent: senders.Sent, *, final: bool = False,
                      retry_at: datetime | None = None, count_attempt: bool = True) -> None:
        attempts = row["attempts"] + (1 if count_attempt else 0)
        if not final and retry_at is None:
            retry_at = now + BACKOFF[min(attempts, len(BACKOFF)) - 1] * self._s.backoff_scale
        await settle(self._pool, row, state="failed" if final else "queued", next_at=retry_at, attempts=attempts,
                     error=sent.error)
        event = NoticeDeliveryFailed(at=now, notice_id=row["notice_id"], channel=row["channel"], attempt=attempts,
                                     error=sent.error, final=final, group=row["grp"], retry_at=retry_at)
        key = f"failed:{attempts}" if count_attempt else f"throttled:{now.isoformat()}"
        await self._record(row, event, key)
        log.warning("notice.delivery_failed", deliberation_id=row["deliberation_id"], notice_id=row["notice_id"],
                    channel=row["channel"], group=row["grp"], attempt=attempts, final=final, error=sent.error)

    async def _record(self, row: asyncpg.Record, event: Any, suffix: str) -> None:
        key = f"notice:{row['notice_id']}:{row['channel']}:{row['grp']}:{suffix}"
        await self._store.append(row["deliberation_id"], to_new([event]), idempotency_key=key)

    # ---- the channels ------------------------------------------------------------------------------------

    async def _send(self, row: asyncpg.Record, channel: Channel, now: datetime) -> tuple[senders.Sent, int]:
        fields: dict[str, str] = row["fields"]
        kind = channel.kind
        if kind == "log":
            log.info("notice.posted", deliberation_id=row["deliberation_id"], notice_id=row["notice_id"],
                     kind=row["notice_kind"], title=fields.get("title"), body=fields.get("body"))
            return senders.Sent(True, reference="log"), 0
        if kind == "wecom":
            key = self._secrets.get("wecom", channel.secret_ref).get_secret_value()
            return await senders.wecom(self._client, self._s.wecom_url, key, markdown(fields)), row["recipients"]
        if kind == "dingtalk":
            token, _, signing = self._secrets.get("dingtalk", channel.secret_ref).get_secret_value().partition(":")
            text = markdown(fields, DINGTALK_BYTES)
            sent = await senders.dingtalk(self._client, self._s.dingtalk_url, token, signing, fields["title"], text,
                                          now)
            return sent, row["recipients"]
        if kind == "email":
            return await self._email(channel, fields), len(channel.to)
        if kind == "webhook":
            return await self._webhook(row, channel, now)
        return await self._sms(row, channel, now)

    async def _email(self, channel: Channel, fields: dict[str, str]) -> senders.Sent:
        s = self._s
        if not s.smtp_host or not channel.to:
            return senders.Sent(False, error="e-mail needs YISHI_NOTICE_SMTP_HOST and the channel's addresses")
        smtp = senders.Smtp(s.smtp_host, s.smtp_port, s.smtp_user, s.smtp_password.get_secret_value(),
                            s.smtp_starttls, s.smtp_from, s.smtp_ca_file)
        return await asyncio.to_thread(senders.smtp_send, smtp, list(channel.to), fields.get("title", ""),
                                       plain_text(fields, 1_000_000))

    async def _owners(self, row: asyncpg.Record) -> list[str]:
        async with self._pool.acquire() as conn:
            return [r["owner_id"] for r in await conn.fetch(
                "SELECT owner_id FROM notice_recipients WHERE deliberation_id = $1 AND notice_id = $2"
                " AND channel = $3 AND grp = $4 AND state IN ('queued', 'failed') ORDER BY owner_id",
                row["deliberation_id"], row["notice_id"], row["channel"], row["grp"])]

    async def _webhook(self, row: asyncpg.Record, channel: Channel, now: datetime) -> tuple[senders.Sent, int]:
        url = channel.url or self._s.webhook_url
        if not url:
            return senders.Sent(False, error="no webhook URL configured"), 0
        _, contacts = await roll_of(self._pool, row["roll_digest"])
        owners = await self._owners(row)
        recipients = [{"owner_id": o, "phone": (contacts.get(o) or {}).get("phone") or ""} for o in owners]
        secret = self._secrets.get("webhook", channel.secret_ref).get_secret_value() if channel.secret_ref else ""
        body = {"deliberation_id": row["deliberation_id"], "notice": row["fields"], "recipients": recipients}
        # The receiver's deduplication key: the notice (and the group, when a channel has several).
        key = row["notice_id"] if row["grp"] == "*" else f"{row['notice_id']}:{row['grp']}"
        sent = await senders.webhook(self._client, url, secret, self._s.webhook_token.get_secret_value(), body,
                                     key, now)
        if sent.ok:
            await self._mark(row, owners, "sent", "", sent.reference)
        return sent, len(recipients)

    async def _mark(self, row: asyncpg.Record, owners: list[str], state: str, error: str, reference: str) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "UPDATE notice_recipients SET state = $5, error = $6, reference = $7 WHERE deliberation_id = $1"
                " AND notice_id = $2 AND channel = $3 AND grp = $4 AND owner_id = ANY($8::text[])",
                row["deliberation_id"], row["notice_id"], row["channel"], row["grp"], state, error, reference, owners)

    async def _sms(self, row: asyncpg.Record, channel: Channel, now: datetime) -> tuple[senders.Sent, int]:
        template = channel.template(row["notice_kind"])
        if template is None or not channel.sign_name:
            return senders.Sent(False, error=f"no approved template (or signature) for notices of kind "
                                             f"'{row['notice_kind']}' on {channel.id}"), 0
        access = self._secrets.get("sms", channel.secret_ref).get_secret_value()
        _, contacts = await roll_of(self._pool, row["roll_digest"])
        owners = await self._owners(row)
        personal = row["notice_kind"] == "reminder" and "link" in template.params.values()
        links = await self._personal_links(row, owners, now) if personal else {}
        errors: list[str] = []
        throttled = False
        batches = [[o] for o in owners] if personal else [owners[i:i + SMS_PER_REQUEST]
                                                          for i in range(0, len(owners), SMS_PER_REQUEST)]
        for batch in batches:
            phones = [(contacts.get(o) or {}).get("phone") or "" for o in batch]
            params = template_params(template, row["fields"], links.get(batch[0]) if personal else None)
            sent = await senders.aliyun_sms(self._client, self._s.aliyun_sms_url, access, phones, channel.sign_name,
                                            template.code, params, now)
            await self._mark(row, batch, "sent" if sent.ok else "failed", sent.error, sent.reference)
            if not sent.ok:
                errors.append(sent.error)
                if sent.throttled:
                    throttled = True
                    break
        async with self._pool.acquire() as conn:
            done = await conn.fetchval(
                "SELECT count(*) FROM notice_recipients WHERE deliberation_id = $1 AND notice_id = $2"
                " AND channel = $3 AND grp = $4 AND state = 'sent'",
                row["deliberation_id"], row["notice_id"], row["channel"], row["grp"])
        if errors:
            total = row["recipients"]
            return senders.Sent(False, error=f"{total - done} of {total} messages not sent: {errors[0]}",
                                throttled=throttled), done
        return senders.Sent(True, reference=f"{len(owners)} messages"), done

    async def _personal_links(self, row: asyncpg.Record, owners: list[str], now: datetime) -> dict[str, str]:
        """Each owner's live personal link, recorded as shown (``LiveLinksDisclosed``, format ``sms``) first."""
        from yishi.services.link_issuing import Actor, disclose_links

        base = self._public.rstrip("/")
        shown = await disclose_links(self._store, row["deliberation_id"], owners, secret_key=self._secret_key,
                                     now=now, actor=Actor("notice-sms", "system"), fmt="sms")
        return {link.owner_id: link.url(base) for link in shown}
