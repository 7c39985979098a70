"""Notice channels: which a community uses, and queuing a notice on each, one delivery per recipient group.

The workflow publishes a notice (``NoticePublished``), asks :meth:`NoticeActivities.notice_channels` for the
community's channels (the printed sheet first, always) and calls ``deliver_notice`` once per channel. Since issue 18
that activity only *queues*: it writes one row per recipient group in ``notice_deliveries`` and records
``NoticeQueued`` in the deliberation's stream, then returns at once, so a slow or failing gateway never holds the
procedure. The worker's dispatcher (activities/dispatcher.py) sends them, waits for a robot's rate limit and the
quiet hours, retries, and records every outcome in the stream; the delivery board shows where each stands.

Which channels: the community's channel stream (domain/channel_config.py); for a community without one, the
``notice_channels`` table of issue 5 and the ``YISHI_NOTICE_*`` defaults, as before. Secrets: by reference only
(activities/secrets.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import structlog
from pydantic import BaseModel as _Model
from pydantic import ConfigDict, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.eventstore import EventStore
from activities.meeting_notices import GROUP_KINDS, queue_for_groups, to_groups
from activities.outbox import enqueue
from activities.senders import Smtp, smtp_send
from activities.stages import to_new
from domain.channel_config import CONFIG_EVENT_TYPES, Channel, ChannelBook, config_event_from_dict, fold_book
from domain.channel_config import stream_id as channels_stream
from domain.roll import Scope
from domain.stage_events import NoticeDelivered, NoticePublished

log = structlog.get_logger(__name__)

LEGACY = ("webhook", "email", "log")
"""Issue 5's channel names, still read from ``notice_channels`` for a community without a channel stream."""


class NoticeSettings(BaseSettings):
    """Channel endpoints, defaults and the SMTP account, from ``YISHI_NOTICE_*`` (or ``.env``)."""

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
    smtp_ca_file: Path | None = None
    """A CA bundle for the SMTP server's certificate (a private CA); the system's by default."""
    smtp_from: str = "yishi@localhost"
    email_to: tuple[str, ...] = ()
    wecom_url: str = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
    dingtalk_url: str = "https://oapi.dingtalk.com/robot/send"
    aliyun_sms_url: str = "https://dysmsapi.aliyuncs.com/"
    robot_per_minute: int = 20
    """Messages a minute per group robot (WeCom and DingTalk document about 20)."""
    backoff_scale: float = 1.0
    """Multiplies the waits before a failed delivery is tried again (1, 5, 15, 60 minutes); drills and the fault
    suite shorten them."""
    max_attempts: int = 6
    """Attempts of a delivery before it is shown as failed (a retry from the board starts again)."""
    public_base_url: str = ""
    """Where the public page is (default: ``YISHI_PUBLIC_BASE_URL``)."""


class ChannelQuery(_Model):
    model_config = ConfigDict(frozen=True)
    community: str


class Delivery(_Model):
    """One notice through one channel; ``notice`` is the published notice as recorded in the stream.

    ``roll_digest`` empty: a meeting's notice (the recipients are the invited parties, the notice board when None)."""

    model_config = ConfigDict(frozen=True)
    deliberation_id: str
    community: str
    roll_digest: str
    scope: Scope
    channel: str
    notice: NoticePublished


async def load_book(store: EventStore, pool: asyncpg.Pool, community: str,
                    settings: NoticeSettings | None = None) -> ChannelBook:
    """The community's channels: its channel stream folded, else issue 5's table and settings."""
    stored = await store.read(channels_stream(community))
    if stored:
        return fold_book([config_event_from_dict(e.type, e.payload) for e in stored if e.type in CONFIG_EVENT_TYPES])
    return await _legacy_book(pool, community, settings or NoticeSettings())


async def _legacy_book(pool: asyncpg.Pool, community: str, s: NoticeSettings) -> ChannelBook:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT channels, webhook_url, email_to FROM notice_channels WHERE community = $1", community)
    names = tuple(row["channels"]) if row else s.channels
    url = (row["webhook_url"] if row else None) or s.webhook_url
    to = tuple((row["email_to"] if row else None) or s.email_to)
    channels: dict[str, Channel] = {}
    for name in names:
        if name == "webhook":
            channels[name] = Channel(id="webhook", kind="webhook", url=url)
        elif name == "email":
            channels[name] = Channel(id="email", kind="email", to=to)
        elif name == "log":
            channels[name] = Channel(id="log", kind="log")
        elif name != "print":
            log.warning("notice.unknown_channels", community=community, channels=[name])
    return ChannelBook(channels=channels)


@dataclass(frozen=True)
class DirectConfig:
    """What an escalation ticket's notices use (they are sent at once, to staff, not queued by group)."""

    webhook_url: str
    email_to: tuple[str, ...]


class NoticeActivities:
    def __init__(self, store: EventStore, pool: asyncpg.Pool, settings: NoticeSettings | None = None,
                 public_base_url: str = "", transport: object = None) -> None:
        self._store = store
        self._pool = pool
        self._settings = settings or NoticeSettings()
        self._public = self._settings.public_base_url or public_base_url

    async def ticket_channels(self, community: str) -> tuple[str, ...]:
        """The channels an escalation ticket's notices go through: the printed sheet, and of the community's
        channels only those that reach staff (``webhook``, ``email``, ``log``), never a building's group chat or
        the owners' phones (a ticket names a complainant)."""
        book = await load_book(self._store, self._pool, community, self._settings)
        kinds = {c.kind for c in book.channels.values()}
        return ("print", *(k for k in LEGACY if k in kinds))

    async def _config(self, community: str) -> DirectConfig:
        """The community's webhook address and staff e-mail addresses (escalation tickets' notices)."""
        book = await load_book(self._store, self._pool, community, self._settings)
        hooks = [c.url for c in book.channels.values() if c.kind == "webhook" and c.url]
        mails = [a for c in book.channels.values() if c.kind == "email" for a in c.to]
        return DirectConfig(hooks[0] if hooks else self._settings.webhook_url,
                            tuple(dict.fromkeys(mails)) or self._settings.email_to)

    async def _email(self, params: Delivery) -> tuple[int, str]:
        """Send one notice by e-mail now (escalation tickets); raises when it cannot be sent."""
        to = (await self._config(params.community)).email_to
        s = self._settings
        if not s.smtp_host or not to:
            raise RuntimeError("e-mail channel needs YISHI_NOTICE_SMTP_HOST and recipients (email_to)")
        n = params.notice
        smtp = Smtp(s.smtp_host, s.smtp_port, s.smtp_user, s.smtp_password.get_secret_value(), s.smtp_starttls,
                    s.smtp_from, s.smtp_ca_file)
        sent = await asyncio.to_thread(smtp_send, smtp, list(to), f"{n.title_zh} / {n.title_en}",
                                       f"{n.body_zh}\n\n{n.body_en}\n")
        if not sent.ok:
            raise RuntimeError(sent.error)
        return len(to), "smtp"

    @activity.defn(name="notice_channels")
    async def notice_channels(self, query: ChannelQuery) -> tuple[str, ...]:
        """The community's channels, the printed sheet first and always present."""
        book = await load_book(self._store, self._pool, query.community, self._settings)
        return ("print", *sorted(book.channels))

    async def _recorded(self, deliberation_id: str, key: str) -> NoticeDelivered | None:
        async with self._pool.acquire() as conn:
            payload = await conn.fetchval(
                "SELECT payload FROM events WHERE stream_id = $1 AND idempotency_key = $2", deliberation_id, key)
        return NoticeDelivered(**{k: v for k, v in payload.items() if k != "type"}) if payload else None

    @activity.defn(name="deliver_notice")
    async def deliver_notice(self, params: Delivery) -> NoticeDelivered:
        """Queue the notice on the channel, one delivery per recipient group, and return at once.

        The result is not an event: it tells the workflow's history how many recipients were queued. A notice
        delivered before queuing existed (the same key) is answered from the stream."""
        notice = params.notice
        key = f"notice:{notice.notice_id}:{params.channel}"
        legacy = await self._recorded(params.deliberation_id, key)
        if legacy is not None:
            return legacy
        if not params.roll_digest:
            return await self._meeting_notice(params, key)
        channel = None
        if params.channel != "print":
            book = await load_book(self._store, self._pool, params.community, self._settings)
            channel = book.channels.get(params.channel)
            if channel is None:
                raise ApplicationError(f"channel {params.channel} is not configured for {params.community} any more",
                                       type="NoticeChannelGone", non_retryable=True)
            opted_out = book.opted_out
        else:
            opted_out = frozenset()
        queued = await enqueue(self._store, self._pool, params, channel, opted_out, self._public)
        event = queued.event
        await self._store.append(params.deliberation_id, to_new([event]),
                                 idempotency_key=f"notice:{notice.notice_id}:{params.channel}:queued")
        log.info("notice.queued", deliberation_id=params.deliberation_id, notice_id=notice.notice_id,
                 channel=params.channel, groups=len(event.groups), recipients=sum(event.groups.values()))
        return NoticeDelivered(at=notice.at, notice_id=notice.notice_id, channel=params.channel,
                               recipients=sum(event.groups.values()), reference=f"queued: {len(event.groups)} groups")


    async def _meeting_notice(self, params: Delivery, key: str) -> NoticeDelivered:
        """A meeting's notice (workflows/meeting_parts.py): no roll to queue by building. It is printed for the
        notice board (one sheet) or for each invited party; the parties get it through their invitation links. The
        notice of the meeting itself also goes to the community's group robots (activities/meeting_notices.py);
        other channels record it as not sent."""
        notice = params.notice
        if params.channel != "print" and notice.recipients is None and notice.kind in GROUP_KINDS:
            book = await load_book(self._store, self._pool, params.community, self._settings)
            channel = book.channels.get(params.channel)
            if channel is not None and to_groups(notice, channel):
                return await queue_for_groups(self._store, self._pool, params, channel, self._public)
        if params.channel == "print":
            recipients, reference = (1 if notice.recipients is None else len(notice.recipients)), "to-print"
        else:
            recipients, reference = 0, "not sent: a meeting's notice reaches its parties through their links"
        event = NoticeDelivered(at=notice.at, notice_id=notice.notice_id, channel=params.channel,
                                recipients=recipients, reference=reference)
        stored = await self._store.append(params.deliberation_id, to_new([event]), idempotency_key=key)
        log.info("notice.meeting", deliberation_id=params.deliberation_id, notice_id=notice.notice_id,
                 channel=params.channel, recipients=recipients)
        return NoticeDelivered(**{k: v for k, v in stored[0].payload.items() if k != "type"})
