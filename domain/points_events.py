"""A community's points ledger (文明积分, 先锋指数) and its exchange shop (积分兑换超市), as events (pure data).

One stream per community, ``points-<community>``: rules, people's accounts, awards, deductions, the shop's
items and every redemption share one head, so a balance or a stock is decided under the one lock that orders
the stream and can never go below zero. Like the other streams: frozen pydantic models whose ``type`` literal is
the class name, ``at`` passed in (never defaulted), and ``by`` (:class:`~domain.operator.Operator`) on every act.

People are named by an opaque id (``p-<12 hex>``): names and phone numbers stay out of the stream (the
``people`` table; a public page shows a name only for someone who opted in).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from domain.operator import Operator

Basis = Literal["volunteer_hours", "meeting_attended", "topic_taken_up", "party_duty", "vote_participation",
                "other"]
"""What a rule rewards. ``vote_participation`` counts taking part in a vote, never how anyone voted, and only
while the community has turned it on (off by default)."""
Per = Literal["occasion", "hour"]
PersonKind = Literal["resident", "party_member", "dual_report"]
"""A resident; a party member of the community; a party member of an outside unit who reports to the community
(在职党员双报到), whose unit is recorded. Party members (both kinds) have a 先锋指数."""
SourceKind = Literal["volunteer_activity", "meeting", "topic", "deliberation", "duty", "other"]
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
PARTY_KINDS: frozenset[str] = frozenset(("party_member", "dual_report"))


class Rule(BaseModel):
    """How many points (and 先锋指数 for party members) one occasion, or one hour, of ``basis`` earns.

    ``conditions`` narrow it (``{"meeting_kind": "议事会"}``): an award under the rule must state these facts.
    No condition, fact, name or description may refer to a ballot's content (domain/points_rules.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    rule_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    name_zh: str = Field(min_length=1, max_length=60)
    name_en: str = Field(default="", max_length=120)
    basis: Basis
    per: Per = "occasion"
    points: int = Field(ge=0, le=100_000)
    pioneer: int = Field(default=0, ge=0, le=100_000)
    conditions: dict[str, str] = {}
    description: str = Field(default="", max_length=500)


class Item(BaseModel):
    """Something the shop gives for points."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    item_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    name_zh: str = Field(min_length=1, max_length=60)
    name_en: str = Field(default="", max_length=120)
    cost: int = Field(gt=0, le=1_000_000)


class SourceRef(BaseModel):
    """What an award is for: an activity, a meeting, a topic, a deliberation (participation only), a duty."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: SourceKind
    ref: str = Field(min_length=1, max_length=100)
    stream: str | None = None
    seq: int | None = None

    def key(self) -> str:
        return f"{self.kind}:{self.ref}"


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    at: AwareDatetime
    by: Operator


class LedgerOpened(_Event):
    type: Literal["LedgerOpened"] = "LedgerOpened"
    community: str


class VoteParticipationSet(_Event):
    """Whether taking part in a vote may earn points (off until a committee turns it on; participation only)."""

    type: Literal["VoteParticipationSet"] = "VoteParticipationSet"
    enabled: bool


class RuleSet(_Event):
    """A rule added or changed (``version`` counts its changes from 1); awards name the version they used."""

    type: Literal["RuleSet"] = "RuleSet"
    rule: Rule
    version: int = Field(ge=1)


class RuleRetired(_Event):
    type: Literal["RuleRetired"] = "RuleRetired"
    rule_id: str
    reason: str = ""


class PersonRegistered(_Event):
    type: Literal["PersonRegistered"] = "PersonRegistered"
    person_id: str = Field(pattern=ID_PATTERN)
    kind: PersonKind
    unit: str | None = None
    """The outside unit of a 双报到 party member."""
    owner_id: str | None = None
    """The owner id on the community's roll, when the person is an owner (for participation in a vote)."""


class PersonKindChanged(_Event):
    type: Literal["PersonKindChanged"] = "PersonKindChanged"
    person_id: str
    kind: PersonKind
    unit: str | None = None


class PointsAwarded(_Event):
    """Points (and 先锋指数) earned under a rule. ``quantity``: occasions, or minutes for a per-hour rule (the
    minutes this award adds to its source's total)."""

    type: Literal["PointsAwarded"] = "PointsAwarded"
    award_id: str = Field(pattern=ID_PATTERN)
    person_id: str
    rule_id: str
    rule_version: int = Field(ge=1)
    quantity: int = Field(ge=1)
    points: int = Field(ge=0)
    pioneer: int = Field(default=0, ge=0)
    reason: str = Field(default="", max_length=200)
    source: SourceRef | None = None
    facts: dict[str, str] = {}


class PointsDeducted(_Event):
    """Points taken back: an award given in error (``reverses``), or hours corrected downwards (``quantity``
    minutes off the source's total). Never below a zero balance."""

    type: Literal["PointsDeducted"] = "PointsDeducted"
    deduction_id: str = Field(pattern=ID_PATTERN)
    person_id: str
    points: int = Field(ge=0)
    pioneer: int = Field(default=0, ge=0)
    reason: str = Field(min_length=1, max_length=200)
    reverses: str | None = None
    source: SourceRef | None = None
    quantity: int = Field(default=0, ge=0)


class ItemListed(_Event):
    type: Literal["ItemListed"] = "ItemListed"
    item: Item
    stock: int = Field(ge=0)


class StockAdded(_Event):
    type: Literal["StockAdded"] = "StockAdded"
    item_id: str
    quantity: int = Field(gt=0)


class ItemWithdrawn(_Event):
    type: Literal["ItemWithdrawn"] = "ItemWithdrawn"
    item_id: str
    reason: str = ""


class Redeemed(_Event):
    """Points spent on an item: the stock and the balance go down together. The resident shows the code (its
    SHA-256 here, never the code) and the clerk hands the item over."""

    type: Literal["Redeemed"] = "Redeemed"
    redemption_id: str = Field(pattern=ID_PATTERN)
    person_id: str
    item_id: str
    cost: int = Field(gt=0)
    code_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class RedemptionHandedOver(_Event):
    type: Literal["RedemptionHandedOver"] = "RedemptionHandedOver"
    redemption_id: str


class RedemptionCancelled(_Event):
    """A redemption not handed over, cancelled: the points come back and so does the item."""

    type: Literal["RedemptionCancelled"] = "RedemptionCancelled"
    redemption_id: str
    reason: str = Field(min_length=1, max_length=200)


class LeaderboardOptedIn(_Event):
    type: Literal["LeaderboardOptedIn"] = "LeaderboardOptedIn"
    person_id: str


class LeaderboardOptedOut(_Event):
    type: Literal["LeaderboardOptedOut"] = "LeaderboardOptedOut"
    person_id: str


class LeaderboardNameHidden(_Event):
    """The committee hid the name a person chose for the leaderboard (by the name's sha256: the stream never holds
    the words hidden); the board shows their masked name instead until they choose another."""

    type: Literal["LeaderboardNameHidden"] = "LeaderboardNameHidden"
    person_id: str
    name_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    reason: str = Field(min_length=1, max_length=200)


PointsEvent = Annotated[
    LedgerOpened | VoteParticipationSet | RuleSet | RuleRetired | PersonRegistered | PersonKindChanged
    | PointsAwarded | PointsDeducted | ItemListed | StockAdded | ItemWithdrawn | Redeemed | RedemptionHandedOver
    | RedemptionCancelled | LeaderboardOptedIn | LeaderboardOptedOut | LeaderboardNameHidden,
    Field(discriminator="type"),
]
POINTS_EVENT_TYPES = frozenset((
    "LedgerOpened", "VoteParticipationSet", "RuleSet", "RuleRetired", "PersonRegistered", "PersonKindChanged",
    "PointsAwarded", "PointsDeducted", "ItemListed", "StockAdded", "ItemWithdrawn", "Redeemed",
    "RedemptionHandedOver", "RedemptionCancelled", "LeaderboardOptedIn", "LeaderboardOptedOut",
    "LeaderboardNameHidden"))
_ADAPTER: TypeAdapter[Any] = TypeAdapter(PointsEvent)


def points_event_from_dict(type_: str, payload: dict[str, Any]) -> PointsEvent:
    return _ADAPTER.validate_python({**payload, "type": type_})


def points_stream(community: str) -> str:
    return f"points-{community}"
