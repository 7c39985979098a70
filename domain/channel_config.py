"""How a community reaches its residents: notice channels as data, changed only by events (pure).

A community's channel set-up is a hash-chained stream of its own (:func:`stream_id`), folded by :func:`fold_book`.
Each change is an event with who and when: a channel set or removed, the quiet hours, an owner opting out of (or
back into) text messages. No secret is ever in an event: a channel names its secret by reference
(``secret_ref``), and the worker finds the value in its settings (``YISHI_SECRETS__<KIND>__<REF>``, see
activities/secrets.py).

Channel kinds:

* ``wecom`` — a WeCom group robot (企业微信群机器人) of a building or entrance group: ``groups`` are the buildings
  (``"3"``) or entrances (``"3-2"``) whose group chat it posts in, ``"*"`` for the whole estate;
* ``dingtalk`` — the same for a DingTalk group robot (signed requests);
* ``sms`` — text messages to each owner's phone on the roll through a gateway (``provider``: ``aliyun``), as
  approved templates (``templates``: notice kind → template code and its variables), held in quiet hours unless
  the notice kind is urgent, never to an owner who opted out;
* ``webhook`` — a generic signed HTTP POST (a gateway of the committee's own), with the recipients' phones;
* ``email`` — SMTP to staff addresses (``to``);
* ``log`` — a line in the worker's log.

The printed sheet is not configured: every notice is posted at every entrance of its scope (``print``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

Kind = Literal["wecom", "dingtalk", "sms", "webhook", "email", "log"]
FIELDS = ("title", "body", "deadline", "link", "community", "kind", "notice_id", "count")
"""What a template's variables may be filled with: ``link`` is the public page, or the owner's personal link in a
reminder to a non-voter (SMS); ``count``: how many households a reminder concerns."""
NOTICE_KINDS = ("announcement", "meeting", "consultation", "objection", "publicity", "reminder", "result",
                "minutes", "*")
_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_GROUP = re.compile(r"\*|[^\s,*]{1,20}(-[^\s,*]{1,20})?")


def stream_id(community: str) -> str:
    """The stream of a community's channel set-up."""
    return f"channels:{community}"


class SmsTemplate(BaseModel):
    """An approved template (模板) of the SMS gateway: its code and what fills each of its variables."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(min_length=1, max_length=64)
    params: dict[str, str] = {}
    """Template variable → one of :data:`FIELDS`."""

    @field_validator("params")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(set(value.values()) - set(FIELDS))
        if bad:
            raise ValueError(f"unknown template fields {bad}; use {', '.join(FIELDS)}")
        return value


class Channel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    """``kind:name`` (``wecom:bldg-3``), unique in the community; the name is the committee's."""
    kind: Kind
    secret_ref: str = ""
    """The name of the channel's secret in the settings (a robot's key, a gateway's AccessKey): never the value."""
    groups: tuple[str, ...] = ("*",)
    """Buildings (``"3"``) or entrances (``"3-2"``) the channel reaches, ``"*"``: all (robots and SMS)."""
    kinds: tuple[str, ...] = ("*",)
    """Notice kinds sent through it (``"*"``: every kind)."""
    url: str = ""
    """A generic webhook's address (robots and the SMS gateway use the endpoint in the settings)."""
    to: tuple[str, ...] = ()
    """E-mail addresses (staff)."""
    sign_name: str = ""
    """The SMS gateway's registered signature (签名)."""
    provider: Literal["aliyun"] | None = None
    templates: dict[str, SmsTemplate] = {}
    """Notice kind (or ``"*"``) → the approved template it is sent as."""
    urgent_kinds: tuple[str, ...] = ()
    """Notice kinds sent in quiet hours too (SMS)."""

    @model_validator(mode="after")
    def _id_shape(self) -> Channel:
        kind, sep, name = self.id.partition(":")
        if self.id in ("webhook", "email", "log") and self.id == self.kind:
            return self  # issue 5's channels, read from the notice_channels table
        if kind != self.kind or not sep or not _ID.fullmatch(name):
            raise ValueError(f"channel id '{self.id}' must be {self.kind}:NAME with NAME of a-z, 0-9, '-' or '_' "
                             "(at most 40)")
        return self

    @field_validator("groups")
    @classmethod
    def _group_shape(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [g for g in value if not _GROUP.fullmatch(g)]
        if bad or not value:
            raise ValueError(f"groups must be buildings ('3'), entrances ('3-2') or '*', got {list(value)}")
        return value

    def sends(self, kind: str) -> bool:
        return "*" in self.kinds or kind in self.kinds

    def template(self, kind: str) -> SmsTemplate | None:
        return self.templates.get(kind) or self.templates.get("*")

    def reaches(self, building: str, entrance: str) -> bool:
        return "*" in self.groups or building in self.groups or f"{building}-{entrance}" in self.groups


class QuietHours(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    start: str = "22:00"
    end: str = "08:00"
    """Beijing time; no text message from ``start`` to ``end`` unless the notice kind is urgent."""

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError(f"'{value}' is not HH:MM")
        return value


class _ConfigEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: AwareDatetime
    by: str


class ChannelSet(_ConfigEvent):
    type: Literal["ChannelSet"] = "ChannelSet"
    channel: Channel


class ChannelRemoved(_ConfigEvent):
    type: Literal["ChannelRemoved"] = "ChannelRemoved"
    channel_id: str


class QuietHoursSet(_ConfigEvent):
    type: Literal["QuietHoursSet"] = "QuietHoursSet"
    quiet: QuietHours


class OwnerOptedOut(_ConfigEvent):
    """The owner asked for no text messages (``by``: the owner through their link, or the clerk who took it)."""

    type: Literal["OwnerOptedOut"] = "OwnerOptedOut"
    owner_id: str
    via: Literal["owner", "committee"]


class OwnerOptedIn(_ConfigEvent):
    type: Literal["OwnerOptedIn"] = "OwnerOptedIn"
    owner_id: str
    via: Literal["owner", "committee"]


ConfigEvent = Annotated[ChannelSet | ChannelRemoved | QuietHoursSet | OwnerOptedOut | OwnerOptedIn,
                        Field(discriminator="type")]
CONFIG_EVENT_TYPES = frozenset({"ChannelSet", "ChannelRemoved", "QuietHoursSet", "OwnerOptedOut", "OwnerOptedIn"})
_ADAPTER: TypeAdapter[Any] = TypeAdapter(ConfigEvent)


def config_event_from_dict(type_: str, payload: dict[str, Any]) -> ConfigEvent:
    return _ADAPTER.validate_python({**payload, "type": type_})


class ChannelBook(BaseModel):
    """A community's channels, quiet hours and opt-outs: the fold of its channel stream."""

    model_config = ConfigDict(frozen=True)

    channels: dict[str, Channel] = {}
    quiet: QuietHours = QuietHours()
    opted_out: frozenset[str] = frozenset()

    def evolve(self, event: ConfigEvent) -> ChannelBook:
        match event:
            case ChannelSet():
                return self.model_copy(update={"channels": {**self.channels, event.channel.id: event.channel}})
            case ChannelRemoved():
                return self.model_copy(update={"channels": {k: v for k, v in self.channels.items()
                                                            if k != event.channel_id}})
            case QuietHoursSet():
                return self.model_copy(update={"quiet": event.quiet})
            case OwnerOptedOut():
                return self.model_copy(update={"opted_out": self.opted_out | {event.owner_id}})
            case OwnerOptedIn():
                return self.model_copy(update={"opted_out": self.opted_out - {event.owner_id}})
        return self


def fold_book(events: list[ConfigEvent]) -> ChannelBook:
    book = ChannelBook()
    for event in events:
        book = book.evolve(event)
    return book
