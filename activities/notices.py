"""Notice channels: printed sheet, webhook (SMS/WeChat gateway), e-mail over SMTP, and the log.

Which channels a community uses comes from the ``notice_channels`` table (no secrets there); the gateway
token and the SMTP password come from :class:`NoticeSettings` (``YISHI_NOTICE_*``), never from activity
inputs. The printed sheet is always among the channels: every notice is also posted on paper.

Each delivery is an event: ``NoticeDelivered`` on success, ``NoticeDeliveryFailed`` for every failed
attempt. A failing channel raises so that Temporal's retry policy tries again; when the workflow gives up
it records a final failure, which the console shows. Nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage

import asyncpg
import httpx
import structlog
from pydantic import BaseModel, ConfigDict, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.eventstore import EventStore
from activities.stages import load_roll_entries, to_new
from domain.roll import Scope
from domain.stage_events import NoticeDelivered, NoticeDeliveryFailed, NoticePublished

log = structlog.get_logger(__name__)

CHANNELS = ("print", "webhook", "email", "log")


class NoticeSettings(BaseSettings):
    """Channel defaults and secrets, from ``YISHI_NOTICE_*`` environment variables (or ``.env``)."""

    model_config = SettingsConfigDict(env_prefix="YISHI_NOTICE_", env_file=".env", extra="ignore")

    channels: tuple[str, ...] = ("print", "log")
    webhook_url: str = ""
    webhook_token: SecretStr = SecretStr("")
    webhook_timeout_s: int = 10
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = True
    smtp_from: str = "yishi@localhost"
    email_to: tuple[str, ...] = ()


class ChannelQuery(BaseModel):
    model_config = ConfigDict(frozen=True)
    community: str


class Delivery(BaseModel):
    """One notice through one channel; ``notice`` is the published notice as recorded in the stream.

    ``roll_digest`` empty: a meeting's notice (the recipients are the invited parties, the notice board when None)."""

    model_config = ConfigDict(frozen=True)
    deliberation_id: str
    community: str
    roll_digest: str
    scope: Scope
    channel: str
    notice: NoticePublished


class ChannelConfig(BaseModel):
    model_config = ConfigDict(frozen=True)
    channels: tuple[str, ...]
    webhook_url: str = ""
    email_to: tuple[str, ...] = ()


class NoticeActivities:
    def __init__(self, store: EventStore, pool: asyncpg.Pool, settings: NoticeSettings | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._store = store
        self._pool = pool
        self._settings = settings or NoticeSettings()
        self._transport = transport

    async def _config(self, community: str) -> ChannelConfig:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT channels, webhook_url, email_to FROM notice_channels WHERE community = $1", community)
        s = self._settings
        if row is None:
            return ChannelConfig(channels=s.channels, webhook_url=s.webhook_url, email_to=s.email_to)
        return ChannelConfig(channels=tuple(row["channels"]), webhook_url=row["webhook_url"] or s.webhook_url,
                             email_to=tuple(row["email_to"] or s.email_to))

    @activity.defn(name="notice_channels")
    async def notice_channels(self, query: ChannelQuery) -> tuple[str, ...]:
        """The community's channels, the printed sheet first and always present."""
        configured = (await self._config(query.community)).channels
        unknown = sorted(set(configured) - set(CHANNELS))
        if unknown:
            log.warning("notice.unknown_channels", community=query.community, channels=unknown)
        return ("print", *(c for c in configured if c in CHANNELS and c != "print"))

    async def _delivered(self, deliberation_id: str, key: str) -> bool:
        async with self._pool.acquire() as conn:
            return bool(await conn.fetchval(
                "SELECT 1 FROM events WHERE stream_id = $1 AND idempotency_key = $2", deliberation_id, key))

    @activity.defn(name="deliver_notice")
    async def deliver_notice(self, params: Delivery) -> NoticeDelivered:
        notice = params.notice
        key = f"notice:{notice.notice_id}:{params.channel}"
        if await self._delivered(params.deliberation_id, key):  # sent before a crash: do not send twice
            stored = await self._store.append(params.deliberation_id, to_new([_placeholder(params)]),
                                              idempotency_key=key)
            return NoticeDelivered(**stored[0].payload)
        try:
            recipients, reference = await self._send(params)
        except Exception as exc:
            await self._record_failure(params, exc)
            raise ApplicationError(f"{params.channel} delivery of {notice.notice_id} failed: {exc}",
                                   type="NoticeDeliveryFailed") from exc
        event = NoticeDelivered(at=notice.at, notice_id=notice.notice_id, channel=params.channel,
                                recipients=recipients, reference=reference)
        stored = await self._store.append(params.deliberation_id, to_new([event]), idempotency_key=key)
        log.info("notice.delivered", deliberation_id=params.deliberation_id, notice_id=notice.notice_id,
                 channel=params.channel, recipients=recipients)
        return NoticeDelivered(**stored[0].payload)

    async def _record_failure(self, params: Delivery, exc: Exception) -> None:
        attempt = activity.info().attempt
        event = NoticeDeliveryFailed(at=params.notice.at, notice_id=params.notice.notice_id,
                                     channel=params.channel, attempt=attempt, error=str(exc)[:500], final=False)
        await self._store.append(params.deliberation_id, to_new([event]),
                                 idempotency_key=f"notice:{params.notice.notice_id}:{params.channel}:failed:{attempt}")
        log.warning("notice.delivery_failed", deliberation_id=params.deliberation_id,
                    notice_id=params.notice.notice_id, channel=params.channel, attempt=attempt, error=str(exc))

    async def _recipients(self, params: Delivery) -> list[dict[str, str]]:
        wanted = params.notice.recipients
        if not params.roll_digest:  # a meeting's notice: its recipients are the invited parties (no roll, no phones)
            return [{"owner_id": r, "phone": ""} for r in wanted or ()]
        roll, contacts = await load_roll_entries(self._pool, params.roll_digest)
        owners = sorted({r.owner_id for r in roll.entries() if params.scope.contains(r)}
                        if wanted is None else set(wanted))
        return [{"owner_id": o, "phone": (contacts.get(o) or {}).get("phone") or ""} for o in owners]

    async def _send(self, params: Delivery) -> tuple[int, str]:
        channel = params.channel
        if channel == "print":
            if not params.roll_digest and params.notice.recipients is None:
                return 1, "to-print"  # a meeting's notice for the community: one sheet on the notice board
            return len(await self._recipients(params)), "to-print"
        if channel == "log":
            n = params.notice
            log.info("notice.posted", deliberation_id=params.deliberation_id, notice_id=n.notice_id,
                     kind=n.kind, title=n.title_zh, body=n.body_zh)
            return 0, "log"
        if channel == "webhook":
            return await self._webhook(params)
        if channel == "email":
            return await self._email(params)
        raise ApplicationError(f"unknown notice channel {channel}", non_retryable=True)

    async def _webhook(self, params: Delivery) -> tuple[int, str]:
        url = (await self._config(params.community)).webhook_url
        if not url:
            raise RuntimeError("no webhook URL configured (notice_channels.webhook_url or YISHI_NOTICE_WEBHOOK_URL)")
        recipients = [r for r in await self._recipients(params) if r["phone"]]
        token = self._settings.webhook_token.get_secret_value()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = {"deliberation_id": params.deliberation_id, "notice": params.notice.model_dump(mode="json"),
                "recipients": recipients}
        async with httpx.AsyncClient(transport=self._transport, timeout=self._settings.webhook_timeout_s) as client:
            response = await client.post(url, json=body,
                                         headers={**headers, "Idempotency-Key": params.notice.notice_id})
        response.raise_for_status()
        return len(recipients), f"HTTP {response.status_code}"

    async def _email(self, params: Delivery) -> tuple[int, str]:
        to = (await self._config(params.community)).email_to
        s = self._settings
        if not s.smtp_host or not to:
            raise RuntimeError("e-mail channel needs YISHI_NOTICE_SMTP_HOST and recipients (email_to)")
        n = params.notice
        message = EmailMessage()
        message["Subject"] = f"{n.title_zh} / {n.title_en}"
        message["From"] = s.smtp_from
        message["To"] = ", ".join(to)
        message.set_content(f"{n.body_zh}\n\n{n.body_en}\n")
        await asyncio.to_thread(_smtp_send, s, message)
        return len(to), "smtp"


def _smtp_send(s: NoticeSettings, message: EmailMessage) -> None:
    with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=30) as smtp:
        if s.smtp_starttls:
            smtp.starttls()
        if s.smtp_user:
            smtp.login(s.smtp_user, s.smtp_password.get_secret_value())
        smtp.send_message(message)


def _placeholder(params: Delivery) -> NoticeDelivered:
    # Only used when the key exists already: the store returns the recorded event, not this one.
    return NoticeDelivered(at=params.notice.at, notice_id=params.notice.notice_id, channel=params.channel,
                           recipients=0)
