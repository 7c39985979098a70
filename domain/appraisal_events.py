"""Residents appraise their property company (业主评议物业): events of one appraisal (pure data).

One stream per appraisal, ``appraisal-<12 hex>`` (also its workflow id). The committee opens it for an estate and
the company that manages it (named by its 统一社会信用代码), on the items and weights the street office set, with
the owners roll frozen as for a vote (counting fields only, hashed into the event: one rating per owner as the
roll counts owners, 法释〔2009〕7号 第9条). Owners rate through their personal links; the workflow reminds and
closes the window and records the exact result, which the auditor recounts.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from domain.numbers import Area, Ratio
from domain.operator import Operator
from domain.roll import RoomEntry, Scope

SCALE = (1, 2, 3, 4, 5)
"""很不满意 1 · 不满意 2 · 一般 3 · 满意 4 · 很满意 5; a mean of 5 is a score of 100."""
SCALE_ZH = {1: "很不满意", 2: "不满意", 3: "一般", 4: "满意", 5: "很满意"}
OwnerWeight = Literal["headcount", "area"]


class AppraisalItem(BaseModel):
    """An item the street office sets (保洁, 秩序维护, 维修, 绿化, 收费公开…) and its weight among the items."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    item_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    name_zh: str = Field(min_length=1, max_length=40)
    name_en: str = Field(default="", max_length=80)
    weight: int = Field(ge=1, le=1000)


class CompanyRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    credit_code: str = Field(min_length=18, max_length=18)
    name: str = Field(min_length=1, max_length=100)


class ItemResult(BaseModel):
    """One item's exact result: ``mean`` on the 1–5 scale, ``score`` out of 100 (``mean × 20``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    item_id: str
    weight: int
    ratings: int
    weight_total: Ratio
    """Of the ratings counted: their number (headcount) or their owners' area (area weighting)."""
    weighted_sum: Ratio
    mean: Ratio | None
    score: Ratio | None


class AppraisalResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    owner_weight: OwnerWeight
    eligible: int
    raters: int
    eligible_area: Area
    rated_area: Area
    participation: Ratio | None
    """Raters over eligible owners (by headcount, whatever the weighting)."""
    items: tuple[ItemResult, ...]
    score: Ratio | None
    """Σ weight × item score / Σ weight; None when nobody rated."""


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    at: AwareDatetime
    by: Operator


class AppraisalOpened(_Event):
    type: Literal["AppraisalOpened"] = "AppraisalOpened"
    appraisal_id: str
    street: str
    community: str
    estate: str
    company: CompanyRef
    period: str
    items: tuple[AppraisalItem, ...]
    owner_weight: OwnerWeight = "headcount"
    scope: Scope = Scope()
    roll_digest: str
    roll: tuple[RoomEntry, ...]
    opens_at: AwareDatetime
    closes_at: AwareDatetime

    @model_validator(mode="after")
    def _items_and_window(self) -> AppraisalOpened:
        if not self.items or len({i.item_id for i in self.items}) != len(self.items):
            raise ValueError("an appraisal needs its items, each once")
        if self.closes_at <= self.opens_at:
            raise ValueError("an appraisal closes after it opens")
        return self


class RatingGiven(_Event):
    """One owner's rating of every item (1–5), through their personal link (``link_generation``)."""

    type: Literal["RatingGiven"] = "RatingGiven"
    owner_id: str
    scores: dict[str, int]
    link_generation: int | None = None


class AppraisalReminded(_Event):
    type: Literal["AppraisalReminded"] = "AppraisalReminded"
    pending: int = Field(ge=0)


class AppraisalClosed(_Event):
    type: Literal["AppraisalClosed"] = "AppraisalClosed"
    reason: Literal["deadline", "committee"] = "deadline"


class AppraisalResultRecorded(_Event):
    type: Literal["AppraisalResultRecorded"] = "AppraisalResultRecorded"
    result: AppraisalResult


AppraisalEvent = Annotated[
    AppraisalOpened | RatingGiven | AppraisalReminded | AppraisalClosed | AppraisalResultRecorded,
    Field(discriminator="type"),
]
APPRAISAL_EVENT_TYPES = frozenset(("AppraisalOpened", "RatingGiven", "AppraisalReminded", "AppraisalClosed",
                                   "AppraisalResultRecorded"))
_ADAPTER: TypeAdapter[Any] = TypeAdapter(AppraisalEvent)


def appraisal_event_from_dict(type_: str, payload: dict[str, Any]) -> AppraisalEvent:
    return _ADAPTER.validate_python({**payload, "type": type_})
