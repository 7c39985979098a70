"""Commands on a community's points ledger (pure data): each names who acts (``by``) and when (``at``), passed in.
The decider is domain/points_decide.py."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.operator import Operator
from domain.points_events import ID_PATTERN, Item, PersonKind, Rule, SourceRef


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    at: AwareDatetime
    by: Operator


class OpenLedger(_Command):
    kind: Literal["open"] = "open"
    community: str


class SetVoteParticipation(_Command):
    kind: Literal["vote_participation"] = "vote_participation"
    enabled: bool


class SetRule(_Command):
    kind: Literal["set_rule"] = "set_rule"
    rule: Rule


class RetireRule(_Command):
    kind: Literal["retire_rule"] = "retire_rule"
    rule_id: str
    reason: str = ""


class RegisterPerson(_Command):
    kind: Literal["register"] = "register"
    person_id: str = Field(pattern=ID_PATTERN)
    person_kind: PersonKind
    unit: str | None = None
    owner_id: str | None = None


class ChangePersonKind(_Command):
    kind: Literal["change_kind"] = "change_kind"
    person_id: str
    person_kind: PersonKind
    unit: str | None = None


class Award(_Command):
    kind: Literal["award"] = "award"
    award_id: str
    person_id: str
    rule_id: str
    quantity: int = Field(default=1, ge=1, le=1000)
    reason: str = ""
    source: SourceRef | None = None
    facts: dict[str, str] = {}


class CreditHours(_Command):
    """A source's total minutes for a person (after a check-out or a coordinator's correction): the points of
    the difference are awarded, or deducted when the total went down."""

    kind: Literal["credit_hours"] = "credit_hours"
    entry_id: str
    person_id: str
    source: SourceRef
    total_minutes: int = Field(ge=0)
    reason: str = ""


class Deduct(_Command):
    kind: Literal["deduct"] = "deduct"
    deduction_id: str
    person_id: str
    reverses: str | None = None
    points: int = Field(default=0, ge=0)
    reason: str = Field(min_length=1, max_length=200)


class ListItem(_Command):
    kind: Literal["list_item"] = "list_item"
    item: Item
    stock: int = Field(ge=0)


class Restock(_Command):
    kind: Literal["restock"] = "restock"
    item_id: str
    quantity: int = Field(gt=0)


class WithdrawItem(_Command):
    kind: Literal["withdraw_item"] = "withdraw_item"
    item_id: str
    reason: str = ""


class Redeem(_Command):
    kind: Literal["redeem"] = "redeem"
    redemption_id: str
    person_id: str
    item_id: str
    code_sha256: str


class HandOver(_Command):
    kind: Literal["hand_over"] = "hand_over"
    redemption_id: str


class CancelRedemption(_Command):
    kind: Literal["cancel_redemption"] = "cancel_redemption"
    redemption_id: str
    reason: str = Field(min_length=1, max_length=200)


class SetOptIn(_Command):
    kind: Literal["opt_in"] = "opt_in"
    person_id: str
    opted_in: bool


class HideName(_Command):
    kind: Literal["hide_name"] = "hide_name"
    person_id: str
    name_sha256: str
    reason: str


PointsCommand = (OpenLedger | SetVoteParticipation | SetRule | RetireRule | RegisterPerson | ChangePersonKind
                 | Award | CreditHours | Deduct | ListItem | Restock | WithdrawItem | Redeem | HandOver
                 | CancelRedemption | SetOptIn | HideName)
