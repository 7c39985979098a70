"""The console's "send a test" for one channel: one message now, through the same senders and wire formats the
dispatcher uses, so a committee sees at set-up whether the robot's key, the gateway's template or the SMTP
account works, before the first real notice.

Nothing is queued and nothing is recorded in a deliberation: a test is no notice. The answer is the sender's
outcome (secrets masked in the error), which the console words plainly (yishi/web/console_channels.py).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import httpx
import structlog

from activities import senders
from activities.notices import NoticeSettings
from activities.secrets import ChannelSecrets, MissingSecretError
from domain.channel_config import Channel
from domain.notice_messages import DINGTALK_BYTES, markdown, plain_text, template_params

log = structlog.get_logger(__name__)


async def send_test(channel: Channel, fields: dict[str, str], *, now: datetime, settings: NoticeSettings,
                    secrets: ChannelSecrets, phone: str = "",
                    transport: httpx.AsyncBaseTransport | None = None) -> senders.Sent:
    """Send ``fields`` (title, body, link) once through ``channel``; an SMS goes to ``phone`` only."""
    try:
        async with httpx.AsyncClient(transport=transport, timeout=settings.webhook_timeout_s) as client:
            return await _send(client, channel, fields, now, settings, secrets, phone)
    except MissingSecretError as exc:
        return senders.Sent(False, error=str(exc))


async def _send(client: httpx.AsyncClient, channel: Channel, fields: dict[str, str], now: datetime,
                s: NoticeSettings, secrets: ChannelSecrets, phone: str) -> senders.Sent:
    kind = channel.kind
    if kind == "log":
        log.info("notice.test", channel=channel.id, title=fields.get("title"))
        return senders.Sent(True, reference="log")
    if kind == "wecom":
        key = secrets.get("wecom", channel.secret_ref).get_secret_value()
        return await senders.wecom(client, s.wecom_url, key, markdown(fields))
    if kind == "dingtalk":
        token, _, signing = secrets.get("dingtalk", channel.secret_ref).get_secret_value().partition(":")
        return await senders.dingtalk(client, s.dingtalk_url, token, signing, fields["title"],
                                      markdown(fields, DINGTALK_BYTES), now)
    if kind == "email":
        if not s.smtp_host or not channel.to:
            return senders.Sent(False, error="e-mail needs YISHI_NOTICE_SMTP_HOST and the channel's addresses")
        smtp = senders.Smtp(s.smtp_host, s.smtp_port, s.smtp_user, s.smtp_password.get_secret_value(),
                            s.smtp_starttls, s.smtp_from, s.smtp_ca_file)
        return await asyncio.to_thread(senders.smtp_send, smtp, list(channel.to), fields["title"],
                                       plain_text(fields, 1_000_000))
    if kind == "webhook":
        url = channel.url or s.webhook_url
        if not url:
            return senders.Sent(False, error="no webhook URL configured")
        secret = secrets.get("webhook", channel.secret_ref).get_secret_value() if channel.secret_ref else ""
        body = {"deliberation_id": "", "test": True, "notice": fields, "recipients": []}
        return await senders.webhook(client, url, secret, s.webhook_token.get_secret_value(), body,
                                     f"test-{int(now.timestamp())}", now)
    template = channel.template("*") or next(iter(channel.templates.values()), None)
    if template is None or not channel.sign_name:
        return senders.Sent(False, error=f"no approved template (or signature) on {channel.id}")
    if not phone:
        return senders.Sent(False, error="no phone number to send the test message to")
    access = secrets.get("sms", channel.secret_ref).get_secret_value()
    return await senders.aliyun_sms(client, s.aliyun_sms_url, access, [phone], channel.sign_name, template.code,
                                    template_params(template, fields), now)
