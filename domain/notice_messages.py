"""What a notice says on each channel, when a text message may go out, and how fast a robot may post (pure).

Time is passed in (no clock); the quiet hours are Beijing time. The token bucket is plain arithmetic on the
instants it is given: the worker keeps one per robot (CHANNELS.md: about 20 messages a minute), so a notice
waits for a token rather than failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.channel_config import QuietHours, SmsTemplate
from domain.legal_calendar import BEIJING

WECOM_MARKDOWN_BYTES = 4096
WECOM_TEXT_BYTES = 2048
DINGTALK_BYTES = 4096  # DingTalk documents no lower limit for markdown; kept to WeCom's
KIND_NAMES = {
    "announcement": ("公告", "Announcement"), "meeting": ("会议通知", "Meeting notice"),
    "consultation": ("协商通知", "Consultation notice"), "objection": ("公示", "Public notice"),
    "publicity": ("公示", "Public notice"), "reminder": ("投票提醒", "Voting reminder"),
    "result": ("表决结果公示", "Result"), "minutes": ("会议纪要", "Minutes"),
}


def kind_name(kind: str, lang: str = "zh") -> str:
    zh, en = KIND_NAMES.get(kind, (kind, kind))
    return en if lang == "en" else zh


def quiet_until(now: datetime, quiet: QuietHours) -> datetime | None:
    """When the quiet hours that ``now`` falls in end (Beijing time), or None outside them."""
    local = now.astimezone(BEIJING)
    start = local.replace(hour=int(quiet.start[:2]), minute=int(quiet.start[3:]), second=0, microsecond=0)
    end = local.replace(hour=int(quiet.end[:2]), minute=int(quiet.end[3:]), second=0, microsecond=0)
    if start == end:
        return None
    if start < end:  # a window inside one day, e.g. 12:00-14:00
        return end if start <= local < end else None
    if local >= start:  # e.g. 22:00-08:00: late evening, quiet until tomorrow's end
        return end + timedelta(days=1)
    return end if local < end else None


@dataclass
class TokenBucket:
    """``capacity`` tokens, refilled at ``per_minute`` a minute; :meth:`take` answers how long to wait."""

    per_minute: float
    capacity: float
    tokens: float
    at: datetime | None = None

    @classmethod
    def full(cls, per_minute: float) -> TokenBucket:
        return cls(per_minute, per_minute, per_minute)

    def take(self, now: datetime) -> timedelta:
        """Take a token if there is one (zero wait), else the wait until there is one (nothing taken)."""
        if self.at is not None:
            elapsed = max((now - self.at).total_seconds(), 0.0)
            self.tokens = min(self.capacity, self.tokens + elapsed * self.per_minute / 60)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return timedelta(0)
        return timedelta(seconds=(1 - self.tokens) * 60 / self.per_minute)

    def drain(self, now: datetime) -> None:
        """The server said it is over its limit: no token until the bucket refills from empty."""
        self.tokens, self.at = 0.0, now


def fit_bytes(text: str, limit: int, tail: str = "…") -> str:
    """``text`` cut (at a character) so that its UTF-8 form with ``tail`` is at most ``limit`` bytes."""
    if len(text.encode()) <= limit:
        return text
    room = limit - len(tail.encode())
    cut = text.encode()[:room].decode("utf-8", "ignore")
    return cut + tail


def markdown(fields: dict[str, str], limit: int = WECOM_MARKDOWN_BYTES) -> str:
    """A group robot's markdown message: title, body, deadline, link; within ``limit`` bytes (the body is cut,
    never the deadline or the link)."""
    head = f"## {fields.get('title', '')}\n"
    tail = ""
    if fields.get("deadline"):
        tail += f'\n> 截止时间：<font color="warning">{fields["deadline"]}</font>'
    if fields.get("count"):
        tail += f"\n> 尚未投票：{fields['count']} 户"
    if fields.get("link"):
        tail += f"\n\n[{fields.get('link_text') or '查看公示与进度'}]({fields['link']})"
    body = fit_bytes(fields.get("body", ""), limit - len((head + tail).encode()))
    return head + body + tail


def plain_text(fields: dict[str, str], limit: int) -> str:
    """The same as plain text (e-mail bodies, text robots), within ``limit`` bytes."""
    tail = ""
    if fields.get("deadline"):
        tail += f"\n截止时间 Deadline: {fields['deadline']}"
    if fields.get("link"):
        tail += f"\n{fields['link']}"
    title = fields.get("title", "")
    body = fit_bytes(fields.get("body", ""), limit - len((title + "\n" + tail).encode()))
    return f"{title}\n{body}{tail}"


def template_params(template: SmsTemplate, fields: dict[str, str], link: str | None = None) -> dict[str, str]:
    """The values of an approved template's variables; ``link`` (an owner's personal link) replaces the public
    page's address where the template asks for the link."""
    values = {**fields, **({"link": link} if link else {})}
    return {name: values.get(field, "") for name, field in template.params.items()}
