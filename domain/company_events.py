"""A street office's register of property companies (物业服务企业), as events (pure data).

One stream per street, ``companies-<street>``: the companies serving its estates (named by 统一社会信用代码), which
company manages which estate, the appraisal items and weights the street sets, the appraisals committees open
(so the street's list finds them), escalation tickets the street attributes to a company, and each red/black list
(红黑榜) it publishes with the thresholds it used and the exact figures behind every entry.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from domain.appraisal_events import AppraisalItem, CompanyRef, OwnerWeight
from domain.numbers import Ratio
from domain.operator import Operator

ListName = Literal["red", "black", "none"]


class ListThresholds(BaseModel):
    """The red/black list rule's settings (domain/company_list.py); defaults are Yishi's, not a statute's."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    red_min_score: int = Field(default=90, ge=0, le=100)
    red_max_tickets: int = Field(default=0, ge=0)
    black_below_score: int = Field(default=60, ge=0, le=100)
    black_min_tickets: int = Field(default=5, ge=1)
    min_participation: Ratio = Fraction(1, 5)

    @model_validator(mode="after")
    def _apart(self) -> ListThresholds:
        if self.red_min_score <= self.black_below_score or self.red_max_tickets >= self.black_min_tickets:
            raise ValueError("the red list's score must lie above the black list's, and its ticket limit below it")
        if not 0 <= self.min_participation <= 1:
            raise ValueError("min_participation is a fraction between 0 and 1")
        return self


class ListEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    credit_code: str
    name: str
    list: ListName
    score: Ratio | None
    appraisals: tuple[str, ...]
    """Appraisals counted (closed in the period, participation at least ``min_participation``)."""
    excluded: tuple[str, ...] = ()
    """Appraisals of the period left out for low participation."""
    tickets: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    at: AwareDatetime
    by: Operator


class RegisterOpened(_Event):
    type: Literal["RegisterOpened"] = "RegisterOpened"
    street: str


class CompanyRegistered(_Event):
    type: Literal["CompanyRegistered"] = "CompanyRegistered"
    company: CompanyRef
    exemption: str | None = None
    """Why a code that fails the GB 32100 check is recorded anyway (an early pilot registry's code)."""


class EstateAssigned(_Event):
    """``credit_code`` manages ``estate`` (a 物业管理区域 of ``community``) from ``since``."""

    type: Literal["EstateAssigned"] = "EstateAssigned"
    estate: str = Field(min_length=1, max_length=80)
    community: str
    credit_code: str
    since: dt.date


class ItemsSet(_Event):
    type: Literal["ItemsSet"] = "ItemsSet"
    items: tuple[AppraisalItem, ...] = Field(min_length=1)
    owner_weight: OwnerWeight = "headcount"


class AppraisalScheduled(_Event):
    type: Literal["AppraisalScheduled"] = "AppraisalScheduled"
    appraisal_id: str
    estate: str
    community: str
    credit_code: str
    period: str


class TicketAttributed(_Event):
    """An escalation ticket is about this company (a complaint, a refused hand-over)."""

    type: Literal["TicketAttributed"] = "TicketAttributed"
    ticket_id: str
    credit_code: str
    note: str = ""


class ListPublished(_Event):
    type: Literal["ListPublished"] = "ListPublished"
    period: str
    thresholds: ListThresholds
    entries: tuple[ListEntry, ...]


CompanyEvent = Annotated[
    RegisterOpened | CompanyRegistered | EstateAssigned | ItemsSet | AppraisalScheduled | TicketAttributed
    | ListPublished,
    Field(discriminator="type"),
]
COMPANY_EVENT_TYPES = frozenset(("RegisterOpened", "CompanyRegistered", "EstateAssigned", "ItemsSet",
                                 "AppraisalScheduled", "TicketAttributed", "ListPublished"))
_ADAPTER: TypeAdapter[Any] = TypeAdapter(CompanyEvent)


def company_event_from_dict(type_: str, payload: dict[str, Any]) -> CompanyEvent:
    return _ADAPTER.validate_python({**payload, "type": type_})


def register_stream(street: str) -> str:
    return f"companies-{street}"
