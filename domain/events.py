"""Events of a ballot box, in the past tense.

Each event is a frozen pydantic model with a ``type`` literal equal to its class name. The event store
keeps ``type`` and the JSON ``payload`` (``event.model_dump(mode="json")``, which repeats ``type``);
:func:`event_from_dict` turns them back into the model. Payloads never contain floats: areas are decimal
strings, ratios ``"a/b"``, instants ISO 8601 with their offset. Envelope fields (stream id, seq,
occurred_at, hash) belong to the store, not to these payloads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    ValidationError,
    model_serializer,
)

from domain.ballots import CHOICES, DEFAULT_PROXY_LIMIT, Channel, Choice
from domain.chain import parse_json
from domain.errors import N_, UnknownEventError
from domain.roll import RoomEntry, Scope, recorded_entries, remember_entries
from domain.tally_result import TallyResult


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Question(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = "main"
    text_zh: str
    text_en: str
    options: tuple[Choice, ...] = CHOICES


class BoxOpened(_Event):
    type: Literal["BoxOpened"] = "BoxOpened"
    deliberation_id: str
    questions: tuple[Question, ...]
    rule_id: str
    scope: Scope
    roll_digest: str
    roll: tuple[RoomEntry, ...]
    """The frozen roll (counting fields only, no names or phones); its digest is ``roll_digest``."""
    roll_ref: str | None = None
    opens_at: AwareDatetime
    closes_at: AwareDatetime
    ballots_changeable: bool = True
    proxy_limit: int = DEFAULT_PROXY_LIMIT
    deem_silent: bool = False
    deem_over_half: bool = False
    """Deeming needs the majority's own ballots to exceed half of all owners (domain.tally_result). Written
    only when true: a box without it keeps the payload (and hash) it had before the field existed."""
    paper_entry_until: AwareDatetime | None = None
    """Paper ballots (filled in before ``closes_at``) are entered until then, and the box seals then. Written only
    when set: boxes opened before the window existed sealed at ``closes_at`` and keep their payload."""
    closes_fallback_years: tuple[int, ...] = ()
    """The years ``closes_at`` was counted with Saturdays and Sundays as the only rest days (no State Council
    schedule loaded for them when the procedure computed it). Written only when not empty, as ``deem_over_half``."""

    @model_serializer(mode="wrap")
    def _without_defaults_added_later(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        if data.get("deem_over_half", True) is False:
            del data["deem_over_half"]
        if "paper_entry_until" in data and data["paper_entry_until"] is None:
            del data["paper_entry_until"]
        if not data.get("closes_fallback_years", True):
            del data["closes_fallback_years"]
        return data

    @property
    def seals_at(self) -> datetime:
        """When the box seals at its deadline: the end of paper entry, else the close."""
        return self.paper_entry_until or self.closes_at


class BallotCast(_Event):
    type: Literal["BallotCast"] = "BallotCast"
    owner_id: str
    question_id: str = "main"
    choice: Choice
    channel: Channel = "online"
    cast_at: AwareDatetime
    cast_by: str | None = None
    paper_ref: str | None = None
    idempotency_key: str | None = None
    entered_by: int | None = None
    """A paper ballot: the console account (``accounts.id``) of the committee clerk who typed it in. Absent from
    online ballots and from paper ballots recorded before clerks were recorded; it never changes the count."""
    link_generation: int | None = None
    """An online ballot: the generation of the personal link it was posted through (the link of ``cast_by`` for
    a proxy's ballot, else the owner's). 1 is the link first issued; above 1, a link the committee reissued
    (``LinkReissued`` in the deliberation's stream says who and when). Absent from paper ballots and from
    ballots recorded before it was recorded; it never changes the count."""

    @property
    def proxy(self) -> str | None:
        """The proxy who cast it, or None when the owner cast it themself (as :attr:`Ballot.proxy`)."""
        return self.cast_by if self.cast_by and self.cast_by != self.owner_id else None

    @model_serializer(mode="wrap")
    def _without_absent_fields(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Ballots keep the payload (and so the hash) they had before these fields existed: no "entered_by": null
        # on an online ballot, no "link_generation": null on a paper one or an old one.
        data = handler(self)
        if data.get("entered_by", 0) is None:
            del data["entered_by"]
        if data.get("link_generation", 0) is None:
            del data["link_generation"]
        return data


class ProxyAuthorised(_Event):
    type: Literal["ProxyAuthorised"] = "ProxyAuthorised"
    owner_id: str
    proxy_owner_id: str
    at: AwareDatetime


class ProxyRevoked(_Event):
    type: Literal["ProxyRevoked"] = "ProxyRevoked"
    owner_id: str
    proxy_owner_id: str
    at: AwareDatetime
    reason: Literal["revoked", "replaced"] = "revoked"


class BoxSealed(_Event):
    type: Literal["BoxSealed"] = "BoxSealed"
    at: AwareDatetime
    reason: str


class ResultRecorded(_Event):
    type: Literal["ResultRecorded"] = "ResultRecorded"
    at: AwareDatetime
    results: dict[str, TallyResult]
    """Tally of each question, by question id."""


Event = Annotated[
    BoxOpened | BallotCast | ProxyAuthorised | ProxyRevoked | BoxSealed | ResultRecorded,
    Field(discriminator="type"),
]
EVENT_TYPES: dict[str, type[BaseModel]] = {
    cls.__name__: cls for cls in (BoxOpened, BallotCast, ProxyAuthorised, ProxyRevoked, BoxSealed, ResultRecorded)
}
_ADAPTER: TypeAdapter[Any] = TypeAdapter(Event)


_VALIDATORS = {name: cls.__pydantic_validator__ for name, cls in EVENT_TYPES.items()}


def _validate_own_type(type_: str, payload: dict[str, Any]) -> Event:
    """What the union validates for a payload whose ``type`` is ``type_``: the member's own
    validator, without the copy and the tagged-union dispatch (a quarter of a ballot's validation). A roll
    this process validated before (domain.roll.recorded_entries) is not validated again."""
    if type_ != "BoxOpened":
        return _VALIDATORS[type_].validate_python(payload)
    raw = payload.get("roll")
    entries = recorded_entries(raw)
    if entries is None:
        event = _VALIDATORS[type_].validate_python(payload)
        remember_entries(raw, event.roll)
        return event
    # The other fields validated as always; the roll given as the entries these very rows validated to.
    return _VALIDATORS[type_].validate_python({**payload, "roll": ()}).model_copy(update={"roll": entries})


def event_from_json(type_: str, text: str) -> Event:
    """``event_from_dict(type_, json.loads(text))``, read straight from the stored JSON text when it can be.

    A ballot (or any event but ``BoxOpened``) is validated by its own type's validator from the text itself,
    half the time of parsing it into a dict and validating that. Whatever that validator refuses (a payload
    whose ``type`` is not its column's, an invalid payload) and ``BoxOpened`` (whose roll entries are reused
    once validated) go to :func:`event_from_dict`, which decides and words the error as it always has.
    """
    if type_ != "BoxOpened" and (validator := _VALIDATORS.get(type_)) is not None:
        try:
            return validator.validate_json(text)
        except ValidationError:
            pass
    return event_from_dict(type_, parse_json(text))


def event_from_dict(type_: str, payload: dict[str, Any]) -> Event:
    """Decode a stored event from its ``type`` and JSON ``payload``."""
    if type_ not in EVENT_TYPES:
        known = ", ".join(EVENT_TYPES)
        raise UnknownEventError(
            N_("unknown event type %(type)s (known: %(known)s)"), type=type_, known=known
        )
    try:
        if type(payload) is dict and payload.get("type") == type_:  # the usual case: a stored payload
            return _validate_own_type(type_, payload)
    except ValidationError:
        pass  # refused: the union below refuses it too, and words the error as it always has
    try:
        return _ADAPTER.validate_python({**payload, "type": type_})
    except ValidationError as exc:
        raise UnknownEventError(
            N_("invalid %(type)s payload: %(error)s"), type=type_, error=exc
        ) from None
