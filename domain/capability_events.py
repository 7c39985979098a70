"""Capability links as facts in the stream they act on (pure data): who issued or revoked which link, when, and
the SHA-256 of its token (never the token). See yishi/services/capabilities.py."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

CapabilityKind = Literal["intake", "tracking", "supporter", "invitation"]


class CapabilityIssued(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    type: Literal["CapabilityIssued"] = "CapabilityIssued"
    at: AwareDatetime
    kind: CapabilityKind
    holder: str
    generation: int
    token_sha256: str
    issued_by: str


class CapabilityRevoked(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    type: Literal["CapabilityRevoked"] = "CapabilityRevoked"
    at: AwareDatetime
    kind: CapabilityKind
    holder: str
    generation: int
    token_sha256: str
    revoked_by: str
    reason: str


CapabilityEvent = Annotated[CapabilityIssued | CapabilityRevoked, Field(discriminator="type")]
CAPABILITY_EVENT_TYPES = frozenset(("CapabilityIssued", "CapabilityRevoked"))
_ADAPTER: TypeAdapter[Any] = TypeAdapter(CapabilityEvent)


def capability_event_from_dict(type_: str, payload: dict[str, Any]) -> CapabilityEvent:
    return _ADAPTER.validate_python({**payload, "type": type_})
